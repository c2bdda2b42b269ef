"""``hetserve bench``: every method on a named instance set, against the exact solver.

One row per (instance, method, seed) goes to ``runs.csv`` (resumable, see
:mod:`hetserve.cli.sweep`); ``summary.md``, ``meta.json`` and the plots are rebuilt from that
file. The gap of a run is :func:`instances.relative_gap` of its objective against the
instance's reference: the proven optimum where some MILP run proved one, else the best
MILP bound (then the gap is an upper estimate). Times are wall-clock, model build
included; the shifted geometric mean uses a shift of 1 s (MIPLIB convention).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import click

from hetserve.cli.errors import BadInput
from hetserve.cli.instance_sets import INSTANCE_SETS, InstanceSpec, instance_set
from hetserve.cli.methods import EXACT_METHODS, METHODS, MethodSettings, run_method
from hetserve.cli.params import Integer, Number, OutputDir
from hetserve.cli.sweep import ResumeRefused, Task, machine_meta, prepare_out, read_rows, run_sweep
from hetserve.instances import relative_gap
from hetserve.instances.jsonsafe import dumps

KEY_FIELDS = ("instance", "method", "seed")
FIELDS = (*KEY_FIELDS, "size", "scenario", "status", "feasible", "objective", "bound",
          "solver_gap", "runtime_s", "configs", "routes", "gpus", "rental", "storage",
          "delay_penalty", "unmet_penalty", "violations")
SGM_SHIFT_S = 1.0
SOLVED_GAP = 0.01
"""A run counts as solved in the performance profile when feasible and within 1 % of the
reference."""


def bench_run(spec: InstanceSpec, method: str, seed: int, time_limit_s: float,
              threads: int) -> dict[str, Any]:
    """Build the instance, run one method, return the CSV row (runs on a dask worker)."""
    inst = spec.build()
    result = run_method(method, inst, MethodSettings(seed=seed, time_limit_s=time_limit_s,
                                                     threads=threads))
    ev = result.evaluation
    t = inst.routes

    def num(v: float | None) -> str:
        return "" if v is None or not math.isfinite(v) else repr(float(v))

    return {
        "instance": spec.name, "method": method, "seed": seed, "size": spec.size_label,
        "scenario": spec.scenario, "status": result.status.value, "feasible": result.feasible,
        "objective": num(result.objective), "bound": num(result.bound),
        "solver_gap": num(result.gap) if result.bound is not None else "",
        "runtime_s": repr(result.runtime_s), "configs": len(t), "routes": int(t.usable.sum()),
        "gpus": sum(ev.gpus_by_type.values()) if ev else "",
        "rental": num(ev.cost.rental if ev else None), "storage": num(ev.cost.storage if ev else None),
        "delay_penalty": num(ev.cost.delay_penalty if ev else None),
        "unmet_penalty": num(ev.cost.unmet_penalty if ev else None),
        "violations": len(ev.violations) if ev else "",
    }


def _float(text: str) -> float | None:
    return float(text) if text not in ("", None) else None


def shifted_geometric_mean(values: list[float], shift: float = SGM_SHIFT_S) -> float:
    if not values:
        return math.nan
    return math.exp(sum(math.log(v + shift) for v in values) / len(values)) - shift


def references(rows: list[dict[str, str]]) -> dict[str, tuple[float, str]]:
    """Per instance: (reference value, 'optimum' | 'bound') from the exact methods' runs
    (the best proven optimum, else the best bound)."""
    ref: dict[str, tuple[float, str]] = {}
    for row in rows:
        if row["method"] not in EXACT_METHODS:
            continue
        inst = row["instance"]
        if row["status"] == "optimal" and _float(row["objective"]) is not None:
            value = float(row["objective"])
            if inst not in ref or ref[inst][1] != "optimum" or value < ref[inst][0]:
                ref[inst] = (value, "optimum")
        elif _float(row["bound"]) is not None and ref.get(inst, (0, ""))[1] != "optimum":
            value = float(row["bound"])
            if inst not in ref or value > ref[inst][0]:
                ref[inst] = (value, "bound")
    return ref


def with_gaps(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Rows plus ``gap`` (vs the reference) and ``gap_vs`` ('optimum'/'bound'/'')."""
    ref = references(rows)
    out = []
    for row in rows:
        obj = _float(row["objective"])
        r = ref.get(row["instance"])
        gap = relative_gap(obj, r[0]) if (obj is not None and r is not None) else math.inf
        out.append({**row, "gap": gap, "gap_vs": r[1] if r else ""})
    return out


def summarise(rows: list[dict[str, str]], meta: dict[str, Any]) -> str:
    """The summary.md text: per size and method, gaps, times, speed-ups, OK counts."""
    data = with_gaps(rows)
    by: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in data:
        by[(row["size"], row["method"])].append(row)
    sizes = sorted({row["size"] for row in data}, key=_size_key)
    methods = [m for m in METHODS if any(row["method"] == m for row in data)]
    lines = [f"# Benchmark `{meta.get('set', '?')}`", "",
             f"Methods {', '.join(methods)}; {meta.get('seeds', '?')} seed(s) per instance; "
             f"MILP time limit {meta.get('time_limit_s', '?')} s, {meta.get('threads', '?')} "
             f"threads; machine: {meta.get('cpu', '?')}, {meta.get('cores', '?')} cores; "
             f"commit {meta.get('git_commit', '?')[:10]}.", "",
             "Gap = |objective − reference| / |objective| (HiGHS's definition), reference = "
             "proven MILP optimum, or the best MILP bound where none was proven (marked †: then "
             "the gap is an upper estimate; runs on instances where no exact run found a plan or "
             "bound have no gap). Times: wall clock incl. model build; sgm = shifted "
             f"geometric mean (shift {SGM_SHIFT_S:g} s); speed-up = MILP median time / method "
             "median time (MILP times are capped by the time limit). OK = runs with a feasible "
             "plan. `milp-ws` = the MILP with a MIP start from AGH (its time includes AGH's).",
             "",
             "| size | method | runs | OK | MILP status (opt/feas/none) | median gap | max gap "
             "| median time s | max time s | sgm time s | speed-up vs MILP |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for size in sizes:
        milp_rows = by.get((size, "milp"), [])
        milp_median = (statistics.median([float(r["runtime_s"]) for r in milp_rows])
                       if milp_rows else None)
        for method in methods:
            rs = by.get((size, method), [])
            if not rs:
                continue
            times = [float(r["runtime_s"]) for r in rs]
            # Runs on instances without any exact reference have no gap to report.
            gaps = [r["gap"] for r in rs if r["feasible"] == "True" and r["gap_vs"]]
            dagger = "†" if any(r["gap_vs"] == "bound" for r in rs) else ""
            ok = sum(r["feasible"] == "True" for r in rs)
            status = ""
            if method in EXACT_METHODS:
                status = "/".join(str(sum(r["status"] == s for r in rs))
                                  for s in ("optimal", "feasible", "no_solution"))
            med = statistics.median(times)
            speed = (f"{milp_median / med:,.3g}x" if milp_median and med > 0 and method != "milp"
                     else "")
            lines.append(
                f"| {size} | {method} | {len(rs)} | {ok} | {status} | {_pct(gaps, statistics.median)}"
                f"{dagger} | {_pct(gaps, max)}{dagger} | {med:.3f} | {max(times):.3f} | "
                f"{shifted_geometric_mean(times):.3f} | {speed} |")
    return "\n".join(lines) + "\n"


def _pct(values: list[float], fn: Any) -> str:
    if not values:
        return "—"
    v = fn(values)
    return "∞" if not math.isfinite(v) else f"{v:.2%}"


def _size_key(size: str) -> tuple[int, ...]:
    if size == "paper-base":
        return (0,)
    return tuple(int(p) for p in size.split("x"))


def plot(rows: list[dict[str, str]], out: Path) -> None:
    """gap_vs_size.png, runtime_vs_size.png and performance_profile.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = with_gaps(rows)
    sizes = sorted({r["size"] for r in data}, key=_size_key)
    methods = [m for m in METHODS if any(r["method"] == m for r in data)]
    for metric, fname, ylabel, log in (("gap", "gap_vs_size.png", "median gap (%)", False),
                                       ("runtime_s", "runtime_vs_size.png", "median time (s)", True)):
        fig, ax = plt.subplots(figsize=(7, 4))
        for m in methods:
            ys = []
            for s in sizes:
                vals = [float(r[metric]) for r in data if r["method"] == m and r["size"] == s
                        and (metric != "gap" or (r["feasible"] == "True" and math.isfinite(r["gap"])))]
                ys.append(statistics.median(vals) * (100 if metric == "gap" else 1) if vals else math.nan)
            ax.plot(sizes, ys, marker="o", label=m)
        ax.set_xlabel("instance size (query types x models x tiers)")
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(out / fname, dpi=120)
        plt.close(fig)
    # Dolan–Moré performance profile on time, a run counting as solved when feasible
    # and within SOLVED_GAP of the reference.
    times: dict[tuple[str, str], float] = {}
    for r in data:
        solved = r["feasible"] == "True" and r["gap"] <= SOLVED_GAP
        key = (r["instance"] + "#" + r["seed"], r["method"])
        t = float(r["runtime_s"]) if solved else math.inf
        times[key] = min(times.get(key, math.inf), t)
    problems = sorted({k[0] for k in times})
    fig, ax = plt.subplots(figsize=(7, 4))
    taus = [2 ** (k / 4) for k in range(0, 4 * 14)]
    for m in methods:
        ratios = []
        for p in problems:
            best = min(times.get((p, mm), math.inf) for mm in methods)
            t = times.get((p, m), math.inf)
            ratios.append(t / best if math.isfinite(best) and best > 0 else math.inf)
        ax.step(taus, [sum(r <= tau for r in ratios) / max(1, len(ratios)) for tau in taus],
                where="post", label=m)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("τ (time ratio to the fastest method that solved)")
    ax.set_ylabel(f"share solved within {SOLVED_GAP:.0%} of the reference")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "performance_profile.png", dpi=120)
    plt.close(fig)


def run_benchmark(set_name: str, methods: list[str], seeds: int, time_limit_s: float,
                  out: Path, *, workers: int = 2, scheduler: str | None = None,
                  threads: int = 1, progress: bool = True,
                  resume: bool = False) -> list[dict[str, str]]:
    """Run (or with ``resume`` continue) the sweep and rebuild summary.md, meta.json and the
    plots; :class:`~hetserve.cli.sweep.ResumeRefused` when ``out`` holds other runs."""
    specs = instance_set(set_name)
    prepare_out(out, {"command": "bench", "set": set_name, "methods": methods, "seeds": seeds,
                      "time_limit_s": time_limit_s, "threads": threads}, resume=resume)
    tasks = [Task((spec.name, method, str(seed)), bench_run,
                  {"spec": spec, "method": method, "seed": seed, "time_limit_s": time_limit_s,
                   "threads": threads})
             for spec in specs for method in methods for seed in range(seeds)]
    rows = run_sweep(tasks, out / "runs.csv", key_fields=KEY_FIELDS, fieldnames=FIELDS,
                     workers=workers, scheduler=scheduler, progress=progress,
                     description=f"bench {set_name}")
    meta = {"set": set_name, "methods": methods, "seeds": seeds, "time_limit_s": time_limit_s,
            "threads": threads, "workers": workers, "scheduler": scheduler, **machine_meta()}
    (out / "meta.json").write_text(dumps(meta, indent=1) + "\n")
    (out / "summary.md").write_text(summarise(rows, meta))
    plot(rows, out)
    return rows


@click.command()
@click.option("--set", "set_name", type=click.Choice(sorted(INSTANCE_SETS)), required=True,
              help="Named instance set.")
@click.option("--methods", default="milp,gh,agh", show_default=True,
              help=f"Comma-separated methods from {', '.join(METHODS)}.")
@click.option("--seeds", type=Integer(1, 1000), default=1, show_default=True,
              help="Method seeds per instance (HiGHS seed, AGH random starts).")
@click.option("--time-limit", type=Number(1e-3, 7 * 86_400), default=300.0,
              show_default=True, help="Per-run time limit in seconds (MILP-based methods).")
@click.option("--threads", type=Integer(1, 256), default=1, show_default=True,
              help="HiGHS threads per run.")
@click.option("--workers", type=Integer(0, 256), default=2, show_default=True,
              help="Local dask worker processes (0 = run here, serially).")
@click.option("--scheduler", default=None, help="Address of a running dask scheduler.")
@click.option("--out", type=OutputDir(), required=True,
              help="Output folder (new or empty, unless --resume).")
@click.option("--resume", is_flag=True,
              help="Continue the run in OUT (refused if its recorded settings differ).")
def bench_command(set_name: str, methods: str, seeds: int, time_limit: float, threads: int,
                  workers: int, scheduler: str | None, out: Path, resume: bool) -> None:
    """Benchmark methods on an instance set: runs.csv, summary.md, meta.json, plots."""
    chosen = [m.strip() for m in methods.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in METHODS]
    if unknown or not chosen:
        raise BadInput(f"--methods: unknown method(s) {unknown}; expected names from "
                       f"{sorted(METHODS)}")
    try:
        run_benchmark(set_name, chosen, seeds, time_limit, out, workers=workers,
                      scheduler=scheduler, threads=threads, resume=resume)
    except ResumeRefused as exc:
        raise BadInput(str(exc)) from None
    click.echo((out / "summary.md").read_text())
    click.echo(f"wrote {out}/runs.csv, summary.md, meta.json, gap_vs_size.png, "
               "runtime_vs_size.png, performance_profile.png")


__all__ = ["bench_command", "bench_run", "read_rows", "run_benchmark", "summarise"]
