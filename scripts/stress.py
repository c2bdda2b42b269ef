"""``hetserve stress``: out-of-sample stress tests and robust planning (docs/semantics.md#stress-tests).

Stage 1 solves each (instance, method, seed) ONCE, through the resumable sweep runner
(:mod:`hetserve.cli.sweep`), and caches the plan as JSON under ``OUT/plans/``; stage 2
freezes every plan and evaluates it with :func:`hetserve.instances.stress.stress_arrays` on
every inflation point (cheap: no solver, one small LP per point for ``reroute``). The rows,
tables and plots come from :mod:`hetserve.instances.stress_report`.

Methods are the names of :mod:`hetserve.cli.methods` (``milp``, ``gh``, ``agh``, ...), the
baseline ``single`` (:func:`hetserve.heuristics.baselines.single_route_plan`) and robust
variants ``robust-BASE:delay=1.3+error=1.2[+demand=1.1]``: BASE run on
``instance.inflated(MARGINS)`` with the margins clipped per type by
:func:`hetserve.instances.stress.effective_margins`, then evaluated on the NOMINAL
instance for its nominal cost and stressed like any other plan. The effective per-type
margins are written to the plan file and ``meta.json``.

Inflation points. ``--inflate delay=A:B:S,error=A:B:S,demand=A:B:S`` gives one grid per
kind (a single value ``delay=1.2`` is a one-point grid; kinds left out stay 1.0). Without
``--joint`` every combination is evaluated; with ``--joint`` the grids move in lock-step.
``--random N`` adds N points with per-query-type factors drawn in each grid's range
(seeded by ``--seed``; the same draws for every method).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from hetserve.cli.errors import BadInput
from hetserve.cli.params import SEED, Integer, Number, OutputDir
from hetserve.cli.sweep import ResumeRefused
from hetserve.instances import Instance, RunResult, Solution, Status, evaluate
from hetserve.instances.jsonsafe import dumps
from hetserve.instances.stress import KINDS, RECOURSES, effective_margins
from hetserve.instances.stress_report import (
    STRESS_FIELDS,
    fingerprint,
    grid_points,
    plot,
    random_points,
    stress_rows,
    summarise,
    write_csv,
)

KEY_FIELDS = ("instance", "method", "seed")
PLAN_FIELDS = (*KEY_FIELDS, "status", "feasible", "nominal_cost", "runtime_s", "plan_file",
               "margins", "diagnosis")


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
    """The named sets of :mod:`hetserve.cli.instance_sets`, plus ``stress-paper``: the
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
def run_base(base: str, instance: Instance, seed: int, time_limit_s: float) -> RunResult:
    if base == "single":
        from hetserve.heuristics.baselines import single_route_plan

        start = time.perf_counter()
        sol = single_route_plan(instance)
        ev = evaluate(instance, sol)
        return RunResult("single", Status.FEASIBLE if ev.feasible else Status.INFEASIBLE, sol,
                         ev, time.perf_counter() - start, seed=seed)
    from hetserve.cli.methods import MethodSettings, run_method

    return run_method(base, instance, MethodSettings(seed=seed, time_limit_s=time_limit_s,
                                                     threads=1))


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
        write_csv(path, PLAN_FIELDS, keep)


def run_stress(targets: list[Any], methods: list[MethodSpec], grids: dict[str, list[float]],
               out: Path, *, joint: bool = False, random_n: int = 0,
               recourses: Sequence[str] = ("frozen",), seed: int = 0,
               time_limit_s: float = 60.0, workers: int = 2, scheduler: str | None = None,
               progress: bool = True, label: str = "",
               resume: bool = False) -> list[dict[str, Any]]:
    """Stage 1 (solve; with ``resume`` continued from ``out``) and stage 2 (evaluate);
    writes every output file. :class:`~hetserve.cli.sweep.ResumeRefused` when ``out``
    holds other runs."""
    from hetserve.cli.sweep import Task, prepare_out, run_sweep

    prepare_out(out, {"command": "stress", "instances": [s.name for s in targets],
                      "methods": [m.label for m in methods], "seed": seed,
                      "time_limit_s": time_limit_s}, resume=resume)
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
    write_csv(out / "stress.csv", STRESS_FIELDS, rows)
    from hetserve.cli.sweep import machine_meta

    meta = {"target": label, "instances": [s.name for s in targets],
            "methods": [m.label for m in methods], "seeds": [seed],
            "inflate": {k: [min(v), max(v), len(v)] for k, v in grids.items()}, "joint": joint,
            "random": random_n, "recourse": list(recourses), "time_limit_s": time_limit_s,
            "workers": workers, "scheduler": scheduler, "points": len(points) + random_n,
            "rows": len(rows), "solve_wall_s": round(solve_s, 1),
            "total_wall_s": round(time.time() - started, 1),
            "effective_robust_margins": margins, **machine_meta()}
    (out / "meta.json").write_text(dumps(meta, indent=1) + "\n")
    (out / "summary.md").write_text(summarise(rows, plan_rows, meta))
    plot(rows, [m.label for m in methods], out)
    return rows


def _usage(option: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except ValueError as exc:
        raise BadInput(f"{option}: {exc}") from None


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
@click.option("--random", "random_n", type=Integer(0, 100_000), default=0, show_default=True,
              help="Extra points with per-query-type factors drawn in each grid's range.")
@click.option("--recourse", type=click.Choice([*RECOURSES, "both"]), default="both",
              show_default=True, help="Routing after inflation: frozen shares or LP re-routing.")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Method seed (HiGHS, AGH starts) and seed of the random points.")
@click.option("--time-limit", type=Number(1e-3, 7 * 86_400), default=60.0,
              show_default=True, help="Per-plan time limit in seconds (MILP).")
@click.option("--workers", type=Integer(0, 256), default=2, show_default=True,
              help="Local dask worker processes for stage 1 (0 = run here, serially).")
@click.option("--scheduler", default=None, help="Address of a running dask scheduler.")
@click.option("--out", type=OutputDir(), required=True,
              help="Output folder (new or empty, unless --resume).")
@click.option("--resume", is_flag=True, help="Continue stage 1 from OUT/plans.csv (refused "
              "if OUT's recorded settings differ).")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary on stdout.")
def stress_command(instance: str | None, set_name: str | None, methods: str,
                   inflate_text: str, joint: bool, random_n: int, recourse: str, seed: int,
                   time_limit: float, workers: int, scheduler: str | None, out: Path,
                   resume: bool, quiet: bool) -> None:
    """Stress-test frozen plans of INSTANCE (a file or bundled name) or of a --set under
    inflated delay, error and demand: stress.csv, summary.md, meta.json and plots in OUT."""
    if (instance is None) == (set_name is None):
        raise BadInput("give exactly one of INSTANCE or --set NAME")
    specs = _usage("--methods", lambda: parse_methods(methods))
    grids = _usage("--inflate", lambda: parse_inflate(inflate_text))
    _usage("--joint", lambda: grid_points(grids, joint))
    if set_name is not None:
        sets = local_sets()
        if set_name not in sets:
            raise BadInput(f"--set: unknown set {set_name!r}; expected one of {sorted(sets)}")
        targets = sets[set_name]
    else:
        from hetserve.instances import InstanceError

        target = FileSpec(Path(instance).stem if Path(instance).suffix else instance, instance)
        try:
            target.build()
        except InstanceError as exc:
            raise BadInput(f"INSTANCE: {exc}") from None
        targets = [target]
    recourses = list(RECOURSES) if recourse == "both" else [recourse]
    try:
        run_stress(targets, specs, grids, out, joint=joint, random_n=random_n,
                   recourses=recourses, seed=seed, time_limit_s=time_limit, workers=workers,
                   scheduler=scheduler, progress=not quiet, label=set_name or instance or "",
                   resume=resume)
    except ResumeRefused as exc:
        raise BadInput(str(exc)) from None
    if not quiet:
        click.echo((out / "summary.md").read_text())
    click.echo(f"wrote {out}/plans.csv, plans/, stress.csv, summary.md, meta.json, "
               "violation_vs_inflation.png, cost_vs_inflation.png, frontier.png")


__all__ = ["MethodSpec", "parse_inflate", "parse_methods", "run_stress", "solve_plan",
           "stress_command"]
