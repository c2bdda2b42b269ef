"""Stress-test reports: inflation points, plan fingerprints, ``stress.csv`` rows, the
``summary.md`` tables and the plots of ``hetserve stress`` (semantics in docs/stress.md).

Inflation points. A grid per kind (``delay``, ``error``, ``demand``) gives every combination
(:func:`grid_points`) or, ``joint``, the grids in lock-step (the k-th value of every kind
together; one-point grids are broadcast). :func:`random_points` draws per-query-type
factors uniformly between each grid's min and max (seeded; the same draws for every
method).

Summary. The diagonal of the grid (γ_d = γ_e, γ_λ at its minimum) is the paper's joint
delay/error inflation: realised cost and violation per level, causes, one kind at a time,
random points, and the robustness frontier (nominal extra cost over the best nominal plan
vs violation at the top level).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hetserve.instances.model import Instance
from hetserve.instances.solution import Solution
from hetserve.instances.stress import KINDS, StressOutcome, inflate, stress_arrays

STRESS_FIELDS = ("instance", "method", "seed", "recourse", "point", "gamma_d", "gamma_e",
                 "gamma_lambda", "plan_status", "nominal_cost", "rental", "storage",
                 "delay_penalty", "unmet_penalty", "realised_cost", "violation_rate",
                 "violation_delay", "violation_capacity", "violation_error", "unmet_rate",
                 "violation_rate_total", "fallback")
TABLE_LEVELS = (1.0, 1.2, 1.5)
NOMINAL_METHODS = ("milp", "gh", "agh")
"""The reference of the frontier's extra cost: the cheapest of these plans per instance."""


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


def fingerprint(instance: Instance) -> str:
    """SHA-256 (first 16 hex digits) of the instance's JSON document and route table
    summary: a cached plan made for another version of the instance is solved again."""
    t = instance.routes
    doc = json.dumps(instance.to_dict(), sort_keys=True, default=str)
    table = np.concatenate([t.delay.ravel(), t.capacity.ravel(), t.error.ravel()]).tobytes()
    return hashlib.sha256(doc.encode() + table).hexdigest()[:16]


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


def write_csv(path: Path, fieldnames: Sequence[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(fieldnames), extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})


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
    by: dict[str, dict[tuple[str, Any], dict[str, Any]]] = defaultdict(dict)
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
    plans_ok: dict[str, list[int]] = defaultdict(lambda: [0, 0])
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
                viol = [_f(r, "violation_rate") for r in rnd if r["method"] == m
                        and r["recourse"] == rec]
                if not viol:
                    continue
                cost = _mean([_f(r, "realised_cost") for r in rnd if r["method"] == m
                              and r["recourse"] == rec])
                lines.append(f"| {m} | {rec} | {len(viol)} | {cost:,.1f} | {100 * _mean(viol):.1f}"
                             f" | {100 * float(np.percentile(viol, 90)):.1f} | "
                             f"{100 * max(viol):.1f} |")
        lines.append("")
    if levels:
        top_level = levels[-1]
        lines += [f"## Robustness frontier (nominal extra cost vs violation at {top_level:g}x)", "",
                  "Extra cost = mean over instances of (nominal cost − best nominal cost) / best "
                  "nominal cost, best = the cheapest milp/gh/agh plan of the instance (the MILP "
                  "optimum where proven). Means are over the instances where the method has a "
                  "feasible plan (column `plans`), so rows with fewer plans average other "
                  "instances.", ""]
        for rec in recourses:
            fr = frontier(rows, methods, rec, top_level)
            lines += [f"Routing `{rec}`:", "", "| method | plans | nominal cost | extra cost % "
                      f"| extra $ | viol % at {top_level:g}x | viol+unmet % | realised cost |",
                      "|---|---|---|---|---|---|---|---|"]
            for f in sorted(fr, key=lambda f: (f["extra_pct"] if math.isfinite(f["extra_pct"])
                                               else math.inf)):
                lines.append(f"| {f['method']} | {f['plans']} | {f['nominal_cost']:,.2f} | "
                             f"{f['extra_pct']:.1f} | {f['extra_abs']:,.2f} | "
                             f"{f['violation_pct']:.2f} | {f['violation_total_pct']:.2f} | "
                             f"{f['realised_cost']:,.1f} |")
            lines += ["", goal_check(fr, top_level), ""]
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


__all__ = ["NOMINAL_METHODS", "STRESS_FIELDS", "TABLE_LEVELS", "Point", "fingerprint",
           "frontier", "goal_check", "grid_points", "one_at_a_time", "plot", "random_points",
           "stress_rows", "summarise", "write_csv"]
