"""``hetserve stress``: out-of-sample stress tests and robust planning (docs/semantics.md#stress-tests).

Stage 1 solves each (instance, method, seed) ONCE, through the resumable sweep runner
(:mod:`scripts.sweep`), and caches the plan as JSON under ``OUT/plans/``; stage 2 freezes
every plan and evaluates it with :func:`instances.stress.stress_arrays` on every inflation
point (cheap: no solver, one small LP per point for ``reroute``).

Methods are the names of :mod:`scripts.methods` (``milp``, ``gh``, ``agh``, ...), the
baseline ``single`` (each query type on its cheapest single route that meets its SLOs,
replicas rounded up; not from the paper, used by the tests and when solvers are missing)
and robust variants ``robust-BASE:delay=1.3+error=1.2[+demand=1.1]``.

Robust planning. ``robust-BASE:MARGINS`` runs BASE on ``instance.inflated(MARGINS)``, the
exact robust counterpart of the box uncertainty ``[1, margin]`` (every constraint is
monotone in the inflated parameters), then evaluates the plan on the NOMINAL instance for
its nominal cost and stresses it like any other plan. A margin a query type cannot meet
at all (no route keeps γ_d·D(1) ≤ Δ_i, or none keeps γ_e·e ≤ ε_i) would make the
counterpart infeasible, so margins are clipped per query type at the largest factor that
type can still be served at (Δ_i / min D(1), then ε_i / min e over the routes still usable
at the clipped delay margin), times (1 − 1e-9). The effective per-type margins are written
to the plan file and ``meta.json``; a clipped type is protected only up to its clip.

Inflation points. ``--inflate delay=A:B:S,error=A:B:S,demand=A:B:S`` gives one grid per
kind (a single value ``delay=1.2`` is a one-point grid; kinds left out stay 1.0). Without
``--joint`` every combination is evaluated; with ``--joint`` the grids move in lock-step
(the k-th value of every kind together; one-point grids are broadcast). ``--random N``
adds N points whose per-query-type factors are drawn uniformly between each grid's min
and max (seeded by ``--seed``; the same draws for every method).
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np

from hetserve.instances import Instance, RunResult, Solution, Status, evaluate
from hetserve.instances.stress import KINDS, RECOURSES, StressOutcome, inflate, stress_arrays

KEY_FIELDS = ("instance", "method", "seed")
PLAN_FIELDS = (*KEY_FIELDS, "status", "feasible", "nominal_cost", "runtime_s", "plan_file",
               "margins", "diagnosis")
STRESS_FIELDS = ("instance", "method", "seed", "recourse", "point", "gamma_d", "gamma_e",
                 "gamma_lambda", "plan_status", "nominal_cost", "rental", "storage",
                 "delay_penalty", "unmet_penalty", "realised_cost", "violation_rate",
                 "violation_delay", "violation_capacity", "violation_error", "unmet_rate",
                 "violation_rate_total", "fallback")
TABLE_LEVELS = (1.0, 1.2, 1.5)
NOMINAL_METHODS = ("milp", "gh", "agh")
"""The reference of the frontier's extra cost: the cheapest of these plans per instance."""
CLIP = 1.0 - 1e-9


# --------------------------------------------------------------------------- parsing
@dataclass(frozen=True)
class MethodSpec:
    """A method label as given on the command line: ``base`` plus optional robust margins."""

    label: str
    base: str
    margins: dict[str, float] = field(default_factory=dict)
    drop_budget: bool = False
    """``+nobudget``: the robust plan is made without the instance's budget."""

    @property
    def robust(self) -> bool:
        return bool(self.margins)


def known_methods() -> list[str]:
    from hetserve.cli.methods import METHODS

    return sorted([*METHODS, "single"])


def parse_methods(text: str) -> list[MethodSpec]:
    """``milp,gh,robust-milp:delay=1.3+error=1.2`` → specs; ``ValueError`` with the reason."""
    out = []
    items = [m.strip() for m in text.split(",") if m.strip()]
    if not items:
        raise ValueError("no method given")
    known = known_methods()
    for item in items:
        margins: dict[str, float] = {}
        drop_budget = False
        base = item
        if item.startswith("robust-"):
            body = item[len("robust-"):]
            if ":" not in body:
                raise ValueError(f"{item!r}: a robust method needs margins, e.g. "
                                 "robust-milp:delay=1.3+error=1.2")
            base, spec = body.split(":", 1)
            for part in spec.split("+"):
                if part.strip() == "nobudget":
                    drop_budget = True
                    continue
                if "=" not in part:
                    raise ValueError(f"{item!r}: margin {part!r} is not KIND=VALUE")
                kind, value = (s.strip() for s in part.split("=", 1))
                if kind not in KINDS:
                    raise ValueError(f"{item!r}: unknown margin kind {kind!r}; expected "
                                     f"{list(KINDS)}")
                try:
                    v = float(value)
                except ValueError:
                    raise ValueError(f"{item!r}: margin {kind}={value!r} is not a number") from None
                if not (math.isfinite(v) and v >= 1.0):
                    raise ValueError(f"{item!r}: margin {kind}={v} must be >= 1")
                margins[kind] = v
        if base not in known:
            raise ValueError(f"unknown method {base!r}; expected one of {known} or "
                             "robust-METHOD:KIND=V+KIND=V")
        if any(s.label == item for s in out):
            raise ValueError(f"method {item!r} given twice")
        if drop_budget and not margins:
            raise ValueError(f"{item!r}: +nobudget needs at least one margin")
        out.append(MethodSpec(item, base, margins, drop_budget))
    return out


def _grid(kind: str, text: str) -> list[float]:
    parts = text.split(":")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"{kind}={text!r}: expected START:STOP:STEP or a single number") from None
    if len(nums) == 1:
        nums = [nums[0], nums[0], 1.0]
    if len(nums) != 3:
        raise ValueError(f"{kind}={text!r}: expected START:STOP:STEP or a single number")
    start, stop, step = nums
    if not all(math.isfinite(v) for v in nums) or start <= 0 or stop < start:
        raise ValueError(f"{kind}={text!r}: need 0 < START <= STOP")
    if step <= 0:
        raise ValueError(f"{kind}={text!r}: STEP must be > 0")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > 1000:
        raise ValueError(f"{kind}={text!r}: {count} points is too many (max 1000)")
    return [round(start + k * step, 10) for k in range(count)]


def parse_inflate(text: str) -> dict[str, list[float]]:
    """``delay=1.0:1.5:0.1,error=1.2`` → one grid per kind (missing kinds: [1.0])."""
    grids: dict[str, list[float]] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if "=" not in part:
            raise ValueError(f"{part!r} is not KIND=START:STOP:STEP")
        kind, value = (s.strip() for s in part.split("=", 1))
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected some of {list(KINDS)}")
        if kind in grids:
            raise ValueError(f"kind {kind!r} given twice")
        grids[kind] = _grid(kind, value)
    if not grids:
        raise ValueError("no inflation given")
    return {k: grids.get(k, [1.0]) for k in KINDS}


@dataclass(frozen=True)
class Point:
    """An inflation point: a name and one factor tuple per kind (scalar when uniform)."""

    name: str
    delay: float | tuple[float, ...]
    error: float | tuple[float, ...]
    demand: float | tuple[float, ...]


def grid_points(grids: dict[str, list[float]], joint: bool) -> list[Point]:
    if joint:
        lengths = {len(v) for v in grids.values() if len(v) > 1}
        if len(lengths) > 1:
            raise ValueError(f"--joint needs grids of equal length (or single values), got "
                             f"lengths {[len(grids[k]) for k in KINDS]}")
        n = lengths.pop() if lengths else 1
        combos = [tuple(grids[k][j if len(grids[k]) > 1 else 0] for k in KINDS)
                  for j in range(n)]
    else:
        combos = [(d, e, lam) for d in grids["delay"] for e in grids["error"]
                  for lam in grids["demand"]]
    return [Point("grid", *c) for c in combos]


def random_points(grids: dict[str, list[float]], n_types: int, count: int,
                  seed: int, salt: int = 0) -> list[Point]:
    """``count`` points with per-type factors uniform in each grid's [min, max]."""
    rng = np.random.default_rng([seed, salt, 7919])
    out = []
    for k in range(count):
        vals = {kind: tuple(float(v) for v in rng.uniform(min(grids[kind]), max(grids[kind]),
                                                          size=n_types)) for kind in KINDS}
        out.append(Point(f"random-{k}", vals["delay"], vals["error"], vals["demand"]))
    return out


# --------------------------------------------------------------------------- instances
@dataclass(frozen=True)
class FileSpec:
    """An instance read from a file (or a bundled name), for the sweep's workers."""

    name: str
    path: str

    def build(self) -> Instance:
        from hetserve.instances import read_instance

        return read_instance(self.path)


def local_sets() -> dict[str, list[Any]]:
    """The lead's named sets (:mod:`scripts.instance_sets`), plus ``stress-paper``: the
    paper-base instance and three generated paper-size instances."""
    from hetserve.cli.instance_sets import INSTANCE_SETS, InstanceSpec

    sets: dict[str, list[Any]] = dict(INSTANCE_SETS)
    sets.setdefault("stress-paper", [InstanceSpec("paper-base", None, 0)] + [
        InstanceSpec(f"6x6x10-s{s}-base", (6, 6, 10), s) for s in range(1, 4)] + [
        InstanceSpec("8x8x12-s1-base", (8, 8, 12), 1),
        InstanceSpec("10x10x10-s1-base", (10, 10, 10), 1)])
    sets.setdefault("stress-smoke", [InstanceSpec("3x3x4-s0-base", (3, 3, 4), 0)])
    return sets


# --------------------------------------------------------------------------- planning
def single_route_plan(instance: Instance) -> Solution:
    """Baseline: each query type (largest demand first) on the route with the lowest
    $/h per req/s among usable routes that meet its error SLO alone, not conflicting with
    the (TP, PP) already chosen for that deployment; replicas = ⌈load / ρ_max⌉."""
    t = instance.routes
    q = instance.query_types
    lam = np.array([qt.rate_per_s for qt in q])
    x = np.zeros((len(q), len(t)))
    active: dict[tuple[str, str, str], int] = {}
    for i in np.argsort(-lam, kind="stable"):
        ok = t.usable[i] & (t.error[i] <= q[i].error_slo) & (t.capacity[i] > 0)
        best, best_cost = -1, math.inf
        for c in np.nonzero(ok)[0]:
            if active.get(t.configs[c].deployment, c) != c:
                continue
            v = t.price_per_replica_hour[c] / t.capacity[i, c]
            if v < best_cost:
                best, best_cost = int(c), v
        if best >= 0:
            active[t.configs[best].deployment] = best
            x[i, best] = 1.0
    load = (lam[:, None] * x / np.where(t.capacity > 0, t.capacity, 1.0)).sum(axis=0)
    r = np.ceil(load / instance.max_utilisation - 1e-9)
    return Solution.from_arrays(instance, r, x)


def effective_margins(instance: Instance, margins: dict[str, float]) -> dict[str, list[float]]:
    """Per-type robust margins, clipped where a type could not be served at all."""
    n = len(instance.query_types)
    d = margins.get("delay", 1.0)
    e = margins.get("error", 1.0)
    lam = margins.get("demand", 1.0)
    t = instance.routes
    out_d, out_e = [], []
    for i, qt in enumerate(instance.query_types):
        ok = t.fits[i] & (t.capacity[i] > 0)
        fastest = float(t.delay_at_1[i][ok].min()) if ok.any() else math.inf
        dd = min(d, max(1.0, CLIP * qt.delay_slo_s / fastest)) if math.isfinite(fastest) else 1.0
        usable = ok & (t.delay_at_1[i] * dd <= qt.delay_slo_s)
        best = float(t.error[i][usable].min()) if usable.any() else math.inf
        ee = min(e, max(1.0, CLIP * qt.error_slo / best)) if best > 0 and math.isfinite(best) else e
        out_d.append(dd)
        out_e.append(ee)
    return {"delay": out_d, "error": out_e, "demand": [lam] * n}


def run_base(base: str, instance: Instance, seed: int, time_limit_s: float) -> RunResult:
    if base == "single":
        start = time.perf_counter()
        sol = single_route_plan(instance)
        ev = evaluate(instance, sol)
        return RunResult("single", Status.FEASIBLE if ev.feasible else Status.INFEASIBLE, sol,
                         ev, time.perf_counter() - start, seed=seed)
    from hetserve.cli.methods import MethodSettings, run_method

    return run_method(base, instance, MethodSettings(seed=seed, time_limit_s=time_limit_s,
                                                     threads=1))


def fingerprint(instance: Instance) -> str:
    """SHA-256 (first 16 hex digits) of the instance's JSON document and route table
    summary: a cached plan made for another version of the instance is solved again."""
    import hashlib

    t = instance.routes
    doc = json.dumps(instance.to_dict(), sort_keys=True, default=str)
    table = np.concatenate([t.delay.ravel(), t.capacity.ravel(), t.error.ravel()]).tobytes()
    return hashlib.sha256(doc.encode() + table).hexdigest()[:16]


def plan_path(out: Path, instance: str, method: str, seed: int) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.=+-]", "_", method)
    return out / "plans" / f"{instance}__{safe}__s{seed}.json"


def solve_plan(spec: Any, method: MethodSpec, seed: int, time_limit_s: float,
               out: str) -> dict[str, Any]:
    """Stage 1 (a dask task): solve once, write the plan JSON, return the plans.csv row.

    For a robust method the plan is made on the inflated instance and its status and
    cost are re-evaluated on the nominal one."""
    inst = spec.build()
    margins = effective_margins(inst, method.margins) if method.robust else None
    budget = inst.budget
    if method.drop_budget:
        inst = inst.replace(budget=None)
    target = inst.inflated(**margins) if margins else inst
    start = time.perf_counter()
    diagnosis = ""
    try:
        res = run_base(method.base, target, seed, time_limit_s)
    except Exception as exc:  # a solver that is missing or fails: record it, keep going
        res = None
        diagnosis = f"{type(exc).__name__}: {exc}"
    runtime = time.perf_counter() - start
    sol = res.solution if res is not None else None
    status = res.status.value if res is not None else "error"
    feasible = False
    nominal = math.nan
    if sol is not None and res is not None and res.feasible:
        ev = evaluate(inst, sol)
        feasible = ev.feasible
        nominal = ev.objective
        if not feasible:
            diagnosis = "; ".join(v.message for v in ev.violations[:3])
        elif budget is not None and ev.cost.rental + ev.cost.storage > budget * (1 + 1e-6):
            diagnosis = (f"over the instance budget: rental + storage "
                         f"${ev.cost.rental + ev.cost.storage:,.2f} > ${budget:,.2f}")
    elif res is not None and res.evaluation is not None and res.evaluation.violations:
        diagnosis = "; ".join(v.message for v in res.evaluation.violations[:3])
    elif res is not None and res.diagnosis:
        diagnosis = "; ".join(res.diagnosis)[:300]
    path = plan_path(Path(out), spec.name, method.label, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "instance": spec.name, "method": method.label, "seed": seed, "status": status,
        "instance_sha": fingerprint(spec.build()), "feasible": feasible,
        "nominal_cost": nominal if math.isfinite(nominal) else None,
        "runtime_s": runtime, "margins": margins,
        "solution": sol.to_dict() if sol is not None else None}, indent=1) + "\n")
    return {"instance": spec.name, "method": method.label, "seed": seed, "status": status,
            "feasible": feasible, "nominal_cost": repr(nominal), "runtime_s": repr(runtime),
            "plan_file": str(path.relative_to(Path(out))),
            "margins": json.dumps(margins) if margins else "", "diagnosis": diagnosis}


# --------------------------------------------------------------------------- evaluation
def stress_rows(instance: Instance, plans: Sequence[tuple[str, int, str, float, Solution]],
                points: Sequence[Point], recourses: Sequence[str]) -> list[dict[str, Any]]:
    """Stage 2 for one instance: every plan ``(method, seed, status, nominal, solution)``
    on every point and recourse (the inflated copy is built once per point)."""
    arrays = [(m, s, st, nom, *sol.to_arrays(instance)) for m, s, st, nom, sol in plans]
    rows = []
    for pt in points:
        infl = inflate(instance, pt.delay, pt.error, pt.demand)
        for method, seed, status, nominal, r, x in arrays:
            for rec in recourses:
                o: StressOutcome = stress_arrays(instance, infl, r, x, rec)
                rows.append({"instance": instance.name, "method": method, "seed": seed,
                             "point": pt.name, "plan_status": status, "nominal_cost": nominal,
                             **o.to_row()})
    return rows


def _write_csv(path: Path, fieldnames: Sequence[str], rows: list[dict[str, Any]]) -> None:
    import csv

    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(fieldnames), extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})


# --------------------------------------------------------------------------- summary
def _f(row: dict[str, Any], key: str) -> float:
    v = row[key]
    return float(v) if v not in ("", None) else math.nan


def _mean(vals: list[float]) -> float:
    vals = [v for v in vals if math.isfinite(v)]
    return statistics.fmean(vals) if vals else math.nan


def _diag(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Grid rows with γ_d = γ_e and γ_λ = its smallest value (the paper's joint
    delay/error inflation)."""
    grid = [r for r in rows if r["point"] == "grid"]
    if not grid:
        return []
    lam0 = min(_f(r, "gamma_lambda") for r in grid)
    return [r for r in grid if abs(_f(r, "gamma_d") - _f(r, "gamma_e")) < 1e-9
            and abs(_f(r, "gamma_lambda") - lam0) < 1e-9]


def _levels(diag: list[dict[str, Any]]) -> list[float]:
    have = sorted({round(_f(r, "gamma_d"), 6) for r in diag})
    chosen = [g for g in TABLE_LEVELS if g in have]
    return chosen if len(chosen) >= 2 else have


def frontier(rows: list[dict[str, Any]], methods: list[str], recourse: str,
             level: float) -> list[dict[str, Any]]:
    """Per method: mean nominal cost, extra nominal cost over the best nominal plan of
    the instance (the cheapest of the non-robust ``milp``/``gh``/``agh`` plans: the MILP
    optimum where it was proven, and a time-limited MILP can be beaten by AGH) and mean
    violation rate at ``level`` (joint delay/error)."""
    diag = [r for r in _diag(rows) if r["recourse"] == recourse]
    by = defaultdict(dict)
    for r in diag:
        if abs(_f(r, "gamma_d") - level) < 1e-9:
            by[r["method"]][(r["instance"], r["seed"])] = r
    ref: dict[tuple[str, Any], dict[str, Any]] = {}
    for m in NOMINAL_METHODS:
        for k, r in by.get(m, {}).items():
            if k not in ref or _f(r, "nominal_cost") < _f(ref[k], "nominal_cost"):
                ref[k] = r
    out = []
    for m in methods:
        cur = by.get(m, {})
        if not cur:
            continue
        nominal = _mean([_f(r, "nominal_cost") for r in cur.values()])
        common = [k for k in cur if k in ref]
        extra = [(_f(cur[k], "nominal_cost") - _f(ref[k], "nominal_cost"))
                 / _f(ref[k], "nominal_cost") for k in common]
        extra_abs = [_f(cur[k], "nominal_cost") - _f(ref[k], "nominal_cost") for k in common]
        out.append({"method": m, "plans": len(cur), "nominal_cost": nominal,
                    "extra_pct": 100 * _mean(extra) if extra else math.nan,
                    "extra_abs": _mean(extra_abs) if extra_abs else math.nan,
                    "violation_pct": 100 * _mean([_f(r, "violation_rate") for r in cur.values()]),
                    "violation_total_pct": 100 * _mean([_f(r, "violation_rate_total")
                                                        for r in cur.values()]),
                    "realised_cost": _mean([_f(r, "realised_cost") for r in cur.values()])})
    return out


def summarise(rows: list[dict[str, Any]], plan_rows: list[dict[str, str]],
              meta: dict[str, Any]) -> str:
    methods = list(dict.fromkeys(r["method"] for r in plan_rows))
    diag = _diag(rows)
    levels = _levels(diag)
    lines = [f"# Stress test `{meta.get('target', '?')}`", "",
             f"Instances: {', '.join(meta.get('instances', []))}. Methods: {', '.join(methods)}. "
             f"Seeds: {meta.get('seeds')}. Inflation grid: {meta.get('inflate')}"
             f"{' (joint)' if meta.get('joint') else ''}; random points: {meta.get('random', 0)}. "
             f"MILP time limit {meta.get('time_limit_s')} s.", "",
             "Semantics (`instances/stress.py`): frozen plan on the inflated instance; a route "
             "no longer usable loses its share (delay), overloaded configurations lose the "
             "excess 1 − 1/u (capacity), error SLO restored by shedding the worst-error "
             "routes first (error). Violation % = violated requests / inflated demand "
             "(planned unmet excluded; `total` includes it). Realised cost = rental + storage "
             "+ delay penalty at the inflated D(b*) + φ on planned unmet and violated traffic. "
             "Means over instances (and seeds) with a feasible plan.", ""]
    plans_ok = defaultdict(lambda: [0, 0])
    for p in plan_rows:
        plans_ok[p["method"]][1] += 1
        plans_ok[p["method"]][0] += p["feasible"] == "True"
    lines += ["## Plans (stage 1)", "", "| method | feasible plans | mean nominal cost | "
              "mean solve time s |", "|---|---|---|---|"]
    for m in methods:
        ps = [p for p in plan_rows if p["method"] == m]
        ok = [p for p in ps if p["feasible"] == "True"]
        lines.append(f"| {m} | {len(ok)}/{len(ps)} | "
                     f"{_mean([float(p['nominal_cost']) for p in ok]):,.2f} | "
                     f"{_mean([float(p['runtime_s']) for p in ps]):.2f} |")
    lines.append("")
    recourses = list(dict.fromkeys(r["recourse"] for r in rows))
    for rec in recourses:
        d = [r for r in diag if r["recourse"] == rec]
        if not d:
            continue
        head = " | ".join(f"cost {g:g}x" for g in levels) + " | " + " | ".join(
            f"viol % {g:g}x" for g in levels)
        lines += [f"## Realised cost and SLO violation, joint delay+error inflation, "
                  f"routing `{rec}`", "", f"| method | {head} | causes at {levels[-1]:g}x "
                  "(delay/capacity/error %) | unmet % |",
                  "|---|" + "---|" * (2 * len(levels) + 2)]
        for m in methods:
            cells_c, cells_v = [], []
            for g in levels:
                sel = [r for r in d if r["method"] == m and abs(_f(r, "gamma_d") - g) < 1e-9]
                cells_c.append(f"{_mean([_f(r, 'realised_cost') for r in sel]):,.1f}")
                cells_v.append(f"{100 * _mean([_f(r, 'violation_rate') for r in sel]):.1f}")
            top = [r for r in d if r["method"] == m and abs(_f(r, "gamma_d") - levels[-1]) < 1e-9]
            if not top:
                continue
            causes = "/".join(f"{100 * _mean([_f(r, k) for r in top]):.1f}"
                              for k in ("violation_delay", "violation_capacity", "violation_error"))
            lines.append(f"| {m} | {' | '.join(cells_c)} | {' | '.join(cells_v)} | {causes} | "
                         f"{100 * _mean([_f(r, 'unmet_rate') for r in top]):.1f} |")
        lines.append("")
    lines += one_at_a_time(rows, methods, recourses)
    rnd = [r for r in rows if r["point"].startswith("random-")]
    if rnd:
        lines += ["## Random per-type inflation", "", "| method | routing | points | mean cost "
                  "| mean viol % | p90 viol % | max viol % |", "|---|---|---|---|---|---|---|"]
        for rec in recourses:
            for m in methods:
                sel = [_f(r, "violation_rate") for r in rnd if r["method"] == m
                       and r["recourse"] == rec]
                if not sel:
                    continue
                cost = _mean([_f(r, "realised_cost") for r in rnd if r["method"] == m
                              and r["recourse"] == rec])
                lines.append(f"| {m} | {rec} | {len(sel)} | {cost:,.1f} | {100 * _mean(sel):.1f}"
                             f" | {100 * float(np.percentile(sel, 90)):.1f} | "
                             f"{100 * max(sel):.1f} |")
        lines.append("")
    if levels:
        top = levels[-1]
        lines += [f"## Robustness frontier (nominal extra cost vs violation at {top:g}x)", "",
                  "Extra cost = mean over instances of (nominal cost − best nominal cost) / best "
                  "nominal cost, best = the cheapest milp/gh/agh plan of the instance (the MILP "
                  "optimum where proven). Means are over the instances where the method has a "
                  "feasible plan (column `plans`), so rows with fewer plans average other "
                  "instances.", ""]
        for rec in recourses:
            fr = frontier(rows, methods, rec, top)
            lines += [f"Routing `{rec}`:", "", "| method | plans | nominal cost | extra cost % "
                      f"| extra $ | viol % at {top:g}x | viol+unmet % | realised cost |",
                      "|---|---|---|---|---|---|---|---|"]
            for f in sorted(fr, key=lambda f: (f["extra_pct"] if math.isfinite(f["extra_pct"])
                                               else math.inf)):
                lines.append(f"| {f['method']} | {f['plans']} | {f['nominal_cost']:,.2f} | "
                             f"{f['extra_pct']:.1f} | {f['extra_abs']:,.2f} | "
                             f"{f['violation_pct']:.2f} | {f['violation_total_pct']:.2f} | "
                             f"{f['realised_cost']:,.1f} |")
            lines += ["", goal_check(fr, top), ""]
    return "\n".join(lines) + "\n"


def one_at_a_time(rows: list[dict[str, Any]], methods: list[str],
                  recourses: list[str]) -> list[str]:
    """Violation % when one kind is at its grid maximum and the others at their minimum."""
    grid = [r for r in rows if r["point"] == "grid"]
    if not grid:
        return []
    keys = {"delay": "gamma_d", "error": "gamma_e", "demand": "gamma_lambda"}
    lo = {k: min(_f(r, c) for r in grid) for k, c in keys.items()}
    hi = {k: max(_f(r, c) for r in grid) for k, c in keys.items()}
    kinds = [k for k in KINDS if hi[k] > lo[k]]
    if not kinds:
        return []

    def at(kind: str) -> list[dict[str, Any]]:
        want = {k: (hi[k] if k == kind else lo[k]) for k in keys}
        return [r for r in grid if all(abs(_f(r, keys[k]) - want[k]) < 1e-9 for k in keys)]

    head = " | ".join(f"{k} {hi[k]:g}x only: viol % (d/c/e)" for k in kinds)
    lines = ["## One kind at a time (the others at their grid minimum)", "",
             f"| method | routing | {head} |", "|---|---|" + "---|" * len(kinds)]
    for rec in recourses:
        for m in methods:
            cells = []
            for k in kinds:
                sel = [r for r in at(k) if r["method"] == m and r["recourse"] == rec]
                if not sel:
                    cells.append("—")
                    continue
                parts = "/".join(f"{100 * _mean([_f(r, c) for r in sel]):.1f}" for c in
                                 ("violation_delay", "violation_capacity", "violation_error"))
                cells.append(f"{100 * _mean([_f(r, 'violation_rate') for r in sel]):.1f} "
                             f"({parts})")
            if any(c != "—" for c in cells):
                lines.append(f"| {m} | {rec} | {' | '.join(cells)} |")
    return [*lines, ""]


def goal_check(fr: list[dict[str, Any]], level: float) -> str:
    """The issue's goal: a robust plan with ≤ 1 % violations at ``level`` whose extra cost
    over the MILP is below AGH's extra cost (AGH having the higher violation rate)."""
    agh = next((f for f in fr if f["method"] == "agh"), None)
    robust = [f for f in fr if f["method"].startswith("robust-") and f["violation_pct"] <= 1.0
              and math.isfinite(f["extra_pct"])]
    if not robust:
        return f"Goal: no robust plan reaches ≤ 1 % violation at {level:g}x."
    best = min(robust, key=lambda f: f["extra_pct"])
    if agh is None or not math.isfinite(agh["extra_pct"]):
        return (f"Goal: cheapest robust plan with ≤ 1 % violation at {level:g}x is "
                f"`{best['method']}` (+{best['extra_pct']:.1f} % nominal); no AGH plan to compare.")
    met = best["extra_pct"] < agh["extra_pct"] and agh["violation_pct"] > best["violation_pct"]
    return (f"Goal {'MET' if met else 'NOT met'}: cheapest robust plan with ≤ 1 % violation at "
            f"{level:g}x is `{best['method']}` (+{best['extra_pct']:.1f} % nominal cost over "
            f"the best nominal plan, {best['violation_pct']:.2f} % violation, "
            f"{best['plans']} plan(s)) vs AGH (+{agh['extra_pct']:.1f} %, "
            f"{agh['violation_pct']:.2f} % violation).")


def plot(rows: list[dict[str, Any]], methods: list[str], out: Path) -> None:
    """violation_vs_inflation.png, cost_vs_inflation.png, frontier.png (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    diag = _diag(rows)
    gammas = sorted({round(_f(r, "gamma_d"), 6) for r in diag})
    recourses = list(dict.fromkeys(r["recourse"] for r in rows))
    styles = {"frozen": "-", "reroute": "--"}
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for key, fname, ylabel, scale in (
            ("violation_rate", "violation_vs_inflation.png", "SLO violation (%)", 100.0),
            ("realised_cost", "cost_vs_inflation.png", "realised cost ($, mean)", 1.0)):
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for k, m in enumerate(methods):
            for rec in recourses:
                ys = [scale * _mean([_f(r, key) for r in diag if r["method"] == m
                                     and r["recourse"] == rec and abs(_f(r, "gamma_d") - g) < 1e-9])
                      for g in gammas]
                ax.plot(gammas, ys, styles.get(rec, ":"), marker="o", ms=3,
                        color=colors[k % len(colors)],
                        label=f"{m} ({rec})" if len(recourses) > 1 else m)
        ax.set_xlabel("joint delay and error inflation γ_d = γ_e")
        ax.set_ylabel(ylabel)
        if key == "realised_cost":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        fig.savefig(out / fname, dpi=120)
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    top = gammas[-1] if gammas else 1.0
    for rec in recourses:
        fr = [f for f in frontier(rows, methods, rec, top) if math.isfinite(f["extra_pct"])]
        ax.scatter([f["extra_pct"] for f in fr], [f["violation_pct"] for f in fr],
                   marker="o" if rec == "frozen" else "s", label=rec)
        for f in fr:
            short = (f["method"].replace("robust-", "R-").replace("delay=", "d")
                     .replace("error=", "e").replace("demand=", "l").replace("+nobudget", "+nb"))
            ax.annotate(short, (f["extra_pct"], f["violation_pct"]), fontsize=6, xytext=(3, 3),
                        textcoords="offset points")
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("nominal extra cost over the best nominal plan (%)")
    ax.set_ylabel(f"SLO violation at {top:g}x (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "frontier.png", dpi=120)
    plt.close(fig)


# --------------------------------------------------------------------------- driver
def _forget_stale(out: Path, shas: dict[str, str]) -> None:
    """Drop plans.csv rows that must be solved again: the method raised (e.g. a solver
    not importable yet), or the plan was made for another version of the instance (its
    fingerprint differs). Solved, infeasible and timed-out runs are kept."""
    from hetserve.cli.sweep import read_rows

    path = out / "plans.csv"
    rows = read_rows(path)

    def fresh(row: dict[str, str]) -> bool:
        if row["status"] == "error":
            return False
        if row["instance"] not in shas:
            return True
        try:
            doc = json.loads((out / row["plan_file"]).read_text())
        except (OSError, ValueError):
            return False
        return doc.get("instance_sha") == shas[row["instance"]]

    keep = [r for r in rows if fresh(r)]
    if len(keep) < len(rows):
        _write_csv(path, PLAN_FIELDS, keep)


def run_stress(targets: list[Any], methods: list[MethodSpec], grids: dict[str, list[float]],
               out: Path, *, joint: bool = False, random_n: int = 0,
               recourses: Sequence[str] = ("frozen",), seed: int = 0,
               time_limit_s: float = 60.0, workers: int = 2, scheduler: str | None = None,
               progress: bool = True, label: str = "") -> list[dict[str, Any]]:
    """Stage 1 (solve, resumable) and stage 2 (evaluate); writes every output file."""
    from hetserve.cli.sweep import Task, run_sweep

    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    _forget_stale(out, {spec.name: fingerprint(spec.build()) for spec in targets})
    tasks = [Task((spec.name, m.label, str(seed)), solve_plan,
                  {"spec": spec, "method": m, "seed": seed, "time_limit_s": time_limit_s,
                   "out": str(out)})
             for spec in targets for m in methods]
    plan_rows = run_sweep(tasks, out / "plans.csv", key_fields=KEY_FIELDS,
                          fieldnames=PLAN_FIELDS, workers=workers, scheduler=scheduler,
                          progress=progress, description="stress: plans")
    wanted = {(s.name, m.label, str(seed)) for s in targets for m in methods}
    plan_rows = [p for p in plan_rows if (p["instance"], p["method"], p["seed"]) in wanted]
    solve_s = time.time() - started
    points = grid_points(grids, joint)
    rows: list[dict[str, Any]] = []
    margins: dict[str, dict[str, Any]] = defaultdict(dict)
    for k, spec in enumerate(targets):
        inst = spec.build()
        plans = []
        for p in plan_rows:
            if p["instance"] != spec.name or p["feasible"] != "True":
                continue
            doc = json.loads((out / p["plan_file"]).read_text())
            plans.append((p["method"], int(p["seed"]), p["status"], float(p["nominal_cost"]),
                          Solution.from_dict(doc["solution"])))
            if doc.get("margins"):
                margins[spec.name][p["method"]] = doc["margins"]
        pts = points + random_points(grids, len(inst.query_types), random_n, seed, k)
        rows += stress_rows(inst, plans, pts, recourses)
    _write_csv(out / "stress.csv", STRESS_FIELDS, rows)
    from hetserve.cli.bench import machine_meta

    meta = {"target": label, "instances": [s.name for s in targets],
            "methods": [m.label for m in methods], "seeds": [seed],
            "inflate": {k: [min(v), max(v), len(v)] for k, v in grids.items()}, "joint": joint,
            "random": random_n, "recourse": list(recourses), "time_limit_s": time_limit_s,
            "workers": workers, "scheduler": scheduler, "points": len(points) + random_n,
            "rows": len(rows), "solve_wall_s": round(solve_s, 1),
            "total_wall_s": round(time.time() - started, 1),
            "effective_robust_margins": margins, **machine_meta()}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    (out / "summary.md").write_text(summarise(rows, plan_rows, meta))
    plot(rows, [m.label for m in methods], out)
    return rows


def _usage(option: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except ValueError as exc:
        raise click.UsageError(f"{option}: {exc}") from None


@click.command("stress")
@click.argument("instance", required=False)
@click.option("--set", "set_name", default=None,
              help="Named instance set (scripts/instance_sets.py, plus stress-paper and "
                   "stress-smoke) instead of INSTANCE.")
@click.option("--methods", default="milp,gh,agh", show_default=True,
              help="Comma-separated methods; robust variants as "
                   "robust-METHOD:delay=1.3+error=1.2[+demand=1.1].")
@click.option("--inflate", "inflate_text", default="delay=1.0:1.5:0.1,error=1.0:1.5:0.1",
              show_default=True, help="KIND=START:STOP:STEP per kind (delay, error, demand).")
@click.option("--joint", is_flag=True, help="Move the grids in lock-step instead of taking "
              "every combination.")
@click.option("--random", "random_n", type=click.IntRange(min=0), default=0, show_default=True,
              help="Extra points with per-query-type factors drawn in each grid's range.")
@click.option("--recourse", type=click.Choice([*RECOURSES, "both"]), default="both",
              show_default=True, help="Routing after inflation: frozen shares or LP re-routing.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Method seed (HiGHS, AGH starts) and seed of the random points.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=60.0,
              show_default=True, help="Per-plan time limit in seconds (MILP).")
@click.option("--workers", type=click.IntRange(min=0), default=2, show_default=True,
              help="Local dask worker processes for stage 1 (0 = run here, serially).")
@click.option("--scheduler", default=None, help="Address of a running dask scheduler.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (stage 1 resumes from OUT/plans.csv).")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary on stdout.")
def stress_command(instance: str | None, set_name: str | None, methods: str,
                   inflate_text: str, joint: bool, random_n: int, recourse: str, seed: int,
                   time_limit: float, workers: int, scheduler: str | None, out: Path,
                   quiet: bool) -> None:
    """Stress-test frozen plans of INSTANCE (a file or bundled name) or of a --set under
    inflated delay, error and demand: stress.csv, summary.md, meta.json and plots in OUT."""
    if (instance is None) == (set_name is None):
        raise click.UsageError("give exactly one of INSTANCE or --set NAME")
    specs = _usage("--methods", lambda: parse_methods(methods))
    grids = _usage("--inflate", lambda: parse_inflate(inflate_text))
    _usage("--joint", lambda: grid_points(grids, joint))
    if set_name is not None:
        sets = local_sets()
        if set_name not in sets:
            raise click.UsageError(f"--set: unknown set {set_name!r}; expected one of "
                                   f"{sorted(sets)}")
        targets = sets[set_name]
    else:
        from hetserve.instances import InstanceError

        target = FileSpec(Path(instance).stem if Path(instance).suffix else instance, instance)
        try:
            target.build()
        except InstanceError as exc:
            raise click.UsageError(f"INSTANCE: {exc}") from None
        targets = [target]
    recourses = list(RECOURSES) if recourse == "both" else [recourse]
    run_stress(targets, specs, grids, out, joint=joint, random_n=random_n,
               recourses=recourses, seed=seed, time_limit_s=time_limit, workers=workers,
               scheduler=scheduler, progress=not quiet, label=set_name or instance or "")
    if not quiet:
        click.echo((out / "summary.md").read_text())
    click.echo(f"wrote {out}/plans.csv, plans/, stress.csv, summary.md, meta.json, "
               "violation_vs_inflation.png, cost_vs_inflation.png, frontier.png")


__all__ = ["MethodSpec", "Point", "effective_margins", "grid_points", "parse_inflate",
           "parse_methods", "random_points", "run_stress", "single_route_plan", "solve_plan",
           "stress_command", "stress_rows", "summarise"]
