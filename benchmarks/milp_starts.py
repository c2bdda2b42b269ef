"""Which MIP start should ``milp`` use? Each start side by side on the same instances.

``python -m benchmarks.milp_starts --out results/milp/exact-starts [--specs ...]`` runs
``hetserve solve --method milp --warm-start S`` for every start S (one HiGHS thread, the
order of the starts rotated from one instance to the next, all in one process) and writes
``runs.csv`` (start CPU, total CPU and wall, status, objective, bound), ``summary.md``
(per size: median total CPU and proven count per start) and ``meta.json``. The rule of
``scripts/methods.py: auto_start`` is read off this table (docs/milp.md "Which MIP start").
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import json
import math
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from hetserve.instances import Instance

STARTS = ("gh", "agh-capped", "agh")
_SOLVE, _FIX = "hetserve.milp.solve", "hetserve.milp.fixing"
_METHODS = "hetserve.cli.methods"
FIXING: dict[str, dict[tuple[str, str], Any]] = {
    # name: module constants to set for the run (docs/milp.md §Reductions, 4)
    "default": {},
    # the LP fixing up to the threshold, none above (before the column-generation fixing)
    "no-colgen": {(_SOLVE, "COLGEN_FIXING"): False},
    # the column-generation fixing above the threshold with the LP rule only
    "colgen-lp-rule": {(_FIX, "LAGRANGIAN_OPEN_FIXING"): False},
    "lp": {(_SOLVE, "FIXING_MAX_ROUTES"): 10**9},  # the full-LP fixing at every size
    "colgen": {(_SOLVE, "FIXING_MAX_ROUTES"): 0},  # the column-generation fixing at every size
    "no-probing": {(_SOLVE, "PROBING_TIME_SHARE"): 0.0},  # without probing (§5)
    # every link row to HiGHS (docs/milp.md "Link rows on demand": on by default)
    "no-linkrows": {(_SOLVE, "LINK_ON_DEMAND_MIN_ROWS"): 2**62},
    # one HiGHS on the whole model instead of the two branches of milp.split (docs/milp.md
    # "Split on one open flag": on by default with two threads)
    "no-split": {(_SOLVE, "SPLIT_MIN_COLUMNS"): 2**62},
    # the split up to N flags deep, splitting a running subtree again while a thread idles
    # (default 2; 1 is round 14's two branches)
    "split-depth1": {(_SOLVE, "SPLIT_DEPTH"): 1},
    "split-depth2": {(_SOLVE, "SPLIT_DEPTH"): 2},
    "split-depth3": {(_SOLVE, "SPLIT_DEPTH"): 3},
    "split-depth4": {(_SOLVE, "SPLIT_DEPTH"): 4},
    # the link rows selected before the split starts, not on its second thread
    "links-first": {(_SOLVE, "SPLIT_SELECTS_LINKS"): False},
    # the chain split at SPLIT_DEPTH for subtrees that ran N s (default 10) / never
    "split-chain": {(_SOLVE, "SPLIT_CHAIN_AFTER_S"): 0.0},
    "split-chain10": {(_SOLVE, "SPLIT_CHAIN_AFTER_S"): 10.0},
    "no-chain": {(_SOLVE, "SPLIT_CHAIN_AFTER_S"): float("inf")},
    "split-chain5": {(_SOLVE, "SPLIT_CHAIN_AFTER_S"): 5.0},
    # the branch without the start split at once from this many columns (default 8,000):
    # always / never
    "split-eager": {(_SOLVE, "SPLIT_EAGER_MIN_COLUMNS"): 0},
    "no-eager": {(_SOLVE, "SPLIT_EAGER_MIN_COLUMNS"): 2**62},
    # round 15's defaults: both of the above
    "round15": {(_METHODS, "AUTO_FLEET_MIP_ROUTES_SPLIT"): 50_000,
                (_SOLVE, "SPLIT_EAGER_MIN_COLUMNS"): 2**62},
    # the auto start with AGH's fleet MIP from 50k usable routes whatever the threads
    # (round 15; AUTO_FLEET_MIP_ROUTES_SPLIT since round 16)
    "fleet-start": {(_METHODS, "AUTO_FLEET_MIP_ROUTES_SPLIT"): 50_000},
    # without the restart from HiGHS's root cuts (§6; off by default: run the benchmark
    # with HETSERVE_MILP_CUTPOOL=1 to compare "default" = on with this)
    "no-cutpool": {(_SOLVE, "CUTPOOL_MIN_COLUMNS"): 2**62},
    # the restart with probing on the tight cut rows (§7), restarted with all / the tight /
    # none of the cut rows
    "cutprobe": {(_SOLVE, "CUTPOOL_PROBING"): True, (_SOLVE, "CUTPOOL_RESTART_ROWS"): "all"},
    "cutprobe-tight": {(_SOLVE, "CUTPOOL_PROBING"): True,
                       (_SOLVE, "CUTPOOL_RESTART_ROWS"): "tight"},
    "cutprobe-none": {(_SOLVE, "CUTPOOL_PROBING"): True,
                      (_SOLVE, "CUTPOOL_RESTART_ROWS"): "none"},
    # the weighted-error-cover fixing after the reduced-cost fixing (docs/milp.md
    # "Weighted error cover"): N rounds, the rows dropped (or kept: -rows)
    "wcover": {(_SOLVE, "WCOVER_ROUNDS"): 10},
    "wcover8": {(_SOLVE, "WCOVER_ROUNDS"): 8},
    "wcover15": {(_SOLVE, "WCOVER_ROUNDS"): 15},
    "wcover-rows": {(_SOLVE, "WCOVER_ROUNDS"): 10, (_SOLVE, "WCOVER_ROWS"): "all"},
    "no-wcover": {(_SOLVE, "WCOVER_ROUNDS"): 0},
    # the capped AGH start with its costliest LP move, ``swap``, at every size / at none
    # (by default from CAPPED_AGH_SWAP_MIN_ROUTES on; docs/milp.md "Which MIP start")
    "capped-swap": {(_METHODS, "CAPPED_AGH_SWAP_MIN_ROUTES"): 0},
    "capped-noswap": {(_METHODS, "CAPPED_AGH_SWAP_MIN_ROUTES"): 2**62},
}
DEFAULT_SPECS = (
    # the `paper` set below 20x20x20 (a subset of its seeds) ...
    "paper-base-base", "paper-base-tight-budget", "paper-base-high-penalty",
    "6x6x10-s0", "6x6x10-s1", "6x6x10-s2", "8x8x12-s0", "8x8x12-s1", "8x8x12-s2",
    "10x10x10-s0", "10x10x10-s1", "10x10x10-s2", "10x10x10-s0-tight-budget",
    "10x10x10-s0-high-penalty", "12x12x15-s0", "12x12x15-s1", "15x15x15-s0",
    # ... and fresh seeds outside it
    "6x6x10-s1000", "8x8x12-s1001", "10x10x10-s1000", "12x12x12-s1", "12x12x12-s1001")


def build(spec: str) -> Instance:
    """``paper-base-SCENARIO`` or ``AxBxC-sSEED[-SCENARIO]``."""
    from hetserve.instances.generate import generate, paper_base

    if spec.startswith("paper-base"):
        return paper_base(0, spec.removeprefix("paper-base-") or "base")
    size, _, rest = spec.partition("-s")
    seed, _, scenario = rest.partition("-")
    return generate(tuple(int(v) for v in size.split("x")), int(seed),  # type: ignore[arg-type]
                    scenario or "base")


def size_of(spec: str) -> str:
    return "paper-base" if spec.startswith("paper-base") else spec.split("-s")[0]


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("results/milp/exact-starts"), show_default=True)
@click.option("--specs", default=",".join(DEFAULT_SPECS), show_default=True)
@click.option("--starts", default=",".join(STARTS), show_default=True)
@click.option("--time-limit", type=float, default=60.0, show_default=True)
@click.option("--threads", type=int, default=1, show_default=True)
@click.option("--fixing", default="default", show_default=True,
              help="comma-separated variants (module constants of the fixing, the cuts or the capped "
                   "start), alternated with the starts: "
                   + ", ".join(FIXING))
def main(out: Path, specs: str, starts: str, time_limit: float, threads: int,
         fixing: str) -> None:
    from hetserve.cli.methods import MethodSettings, run_method
    from hetserve.cli.sweep import machine_meta

    meta = {**machine_meta(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "threads": threads, "time_limit_s": time_limit}
    variants = [v for v in fixing.split(",") if v]
    for v in variants:
        if v not in FIXING:
            raise click.BadParameter(f"{v!r} is not one of {list(FIXING)}", param_hint="--fixing")
    pairs = [(s, v) for s in starts.split(",") if s for v in variants]
    names = [_label(s, v, variants) for s, v in pairs]
    rows = []
    out.mkdir(parents=True, exist_ok=True)
    for k, spec in enumerate(s for s in specs.split(",") if s):
        inst = build(spec)
        order = pairs[k % len(pairs):] + pairs[:k % len(pairs)]
        for start, variant in order:
            c0, t0 = time.process_time(), time.perf_counter()
            with _fixing_variant(variant):
                res = run_method("milp", inst, MethodSettings(
                    seed=0, time_limit_s=time_limit, threads=threads, milp_start=start))
            fix = res.stats.get("fixing") or {}
            row = {"spec": spec, "size": size_of(spec), "start": _label(start, variant, variants),
                   "status": res.status.value,
                   "objective": res.objective if res.feasible else None,
                   "bound": res.bound, "gap": res.gap if math.isfinite(res.gap) else None,
                   "start_method": res.stats.get("start_method"),
                   "start_objective": res.stats.get("start_objective"),
                   "start_s": res.stats.get("start_runtime_s"),
                   "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - t0,
                   "load": os.getloadavg()[0],
                   "fixed_dropped": fix.get("dropped"), "fixing": variant,
                   "fixing_method": fix.get("method"), "fixing_s": fix.get("seconds"),
                   "n_vars": res.stats.get("n_vars"), "root_bound": res.stats.get("root_bound"),
                   "highs_cpu_s": res.stats.get("solve_cpu_s"),
                   "cutpool": json.dumps(res.stats.get("cutpool")),
                   "wcover": json.dumps(res.stats.get("wcover")),
                   "split": json.dumps(_split_summary(res.stats.get("split")))}
            click.echo(json.dumps(row), err=True)
            rows.append(row)
        _write(out, rows, names, meta)


def _split_summary(split: dict | None) -> dict | None:
    """The split's leaves (flags deep, ended, seconds) and how often it split again."""
    if split is None:
        return None
    return {"resplits": split["resplits"], "nodes": split["nodes"],
            "leaves": [[len(b["fixings"]), b["ended"], round(b["seconds"], 2)]
                       for b in split["branches"]]}


def _label(start: str, variant: str, variants: list[str]) -> str:
    return start if variants == ["default"] else f"{start}/{variant}"


@contextlib.contextmanager
def _fixing_variant(name: str) -> Iterator[None]:
    """Set the module constants of ``FIXING[name]`` for one run, then restore them."""
    saved = []
    for (module, attr), value in FIXING[name].items():
        mod = importlib.import_module(module)  # (the package hetserve.milp exports solve())
        saved.append((mod, attr, getattr(mod, attr)))
        setattr(mod, attr, value)
    try:
        yield
    finally:
        for mod, attr, value in saved:
            setattr(mod, attr, value)


def _write(out: Path, rows: list[dict], names: list[str], meta: dict) -> None:
    """``runs.csv``, ``summary.md`` and ``meta.json``."""
    with open(out / "runs.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    head = " | ".join(f"{n}: proven, CPU s median (max)" for n in names)
    lines = ["# MIP start of `milp`: each start side by side\n",
             f"{meta['threads']} HiGHS thread(s), {meta['time_limit_s']:g} s limit, starts rotated per "
             "instance, one process; CPU seconds of start + model + HiGHS (process time). "
             "Shared 2-core machine: the load column of runs.csv says how shared.\n",
             f"| size | n | {head} |", "|---|---|" + "---|" * len(names)]
    for size in sizes:
        cells = []
        n = 0
        for name in names:
            sel = [r for r in rows if r["size"] == size and r["start"] == name]
            n = len(sel)
            cpu = [r["cpu_s"] for r in sel]
            proven = sum(r["status"] == "optimal" for r in sel)
            cells.append(f"{proven}/{n}, {statistics.median(cpu):.2f} ({max(cpu):.2f})"
                         if sel else "")
        lines.append(f"| {size} | {n} | " + " | ".join(cells) + " |")
    lines += ["", "Every run (gap = HiGHS's relative gap to its bound; wall under the load shown):",
              "", "| instance | start | fixing: dropped, columns, s | status | objective | bound "
              "| gap | CPU s | wall s | load |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        obj, bd, gap = r["objective"], r["bound"], r["gap"]
        start = r["start_method"] or r["start"]
        if "/" in r["start"]:
            start = f"{start} ({r['start'].split('/', 1)[1]})"
        fixing = "none" if r.get("fixed_dropped") in (None, "") else (
            f"{r['fixing_method']}: {int(float(r['fixed_dropped'])):,}, "
            f"{int(float(r['n_vars'])):,}, {float(r['fixing_s']):.1f}")
        lines.append(f"| {r['spec']} | {start} | {fixing} | {r['status']} | "
                     f"{'' if obj is None else f'{obj:.4f}'} | "
                     f"{'' if bd is None else f'{bd:.4f}'} | "
                     f"{'' if gap is None else f'{100 * gap:.2f} %'} | {r['cpu_s']:.1f} | "
                     f"{r['wall_s']:.1f} | {r['load']:.1f} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    (out / "meta.json").write_text(json.dumps(
        {**meta, "load_average_at_end": os.getloadavg(),
         "note": "shared machine (2 cores, five helpers): compare starts (and fixing variants) "
                 "within a row"},
        indent=1) + "\n")


if __name__ == "__main__":
    main()
