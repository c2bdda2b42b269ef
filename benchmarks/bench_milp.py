"""Benchmark the exact MILP: HiGHS time to proven optimality (gap ≤ 1e-4).

Writes ``OUT/runs.csv`` (one row per run, appended as runs finish) and ``OUT/summary.md``
(the committed tables are ``results/milp/``; OUT must be a new or empty folder). Usage, from
the repository root::

    python -m benchmarks.bench_milp --out results/milp-new              # full set (tens of minutes)
    python -m benchmarks.bench_milp --quick --out /tmp/milp             # paper-base + one 10x10x10
    python -m benchmarks.bench_milp --time-limit 300 --threads 2 --seeds 0,1,2 --out ...

Per run: the tightened model (default) and, on paper-base and 10x10x10 base, the plain
model of docs/semantics.md#exact-milp ("plain") for the before/after comparison. Root figures: the LP
relaxation bound of the plain and of the tightened model, and HiGHS's dual bound at
the end of its root node (after its own cuts). Gaps use ``instances.relative_gap``
against the best known objective of the instance.
"""

from __future__ import annotations

import csv
import os
import statistics
from pathlib import Path

import click

from hetserve.cli.errors import BadInput
from hetserve.cli.sweep import ResumeRefused, prepare_out
from hetserve.instances.evaluate import relative_gap
from hetserve.instances.generate import generate, paper_base
from hetserve.milp import MilpParams, Tightening, lp_relaxation_bound, solve

FIELDS = ["instance", "size", "scenario", "seed", "model", "status", "objective", "bound", "gap",
          "build_s", "solve_s", "solve_cpu_s", "n_vars", "n_int", "n_rows", "nodes",
          "lp_bound", "lp_gap", "root_bound", "root_gap", "highs_status", "load_avg"]


def cases(seeds: list[int], quick: bool):
    yield "paper-base", "6x6x10", "base", 0, paper_base
    if quick:
        yield "gen", "10x10x10", "base", 0, lambda: generate((10, 10, 10), 0)
        return
    for s in seeds:
        yield "gen", "10x10x10", "base", s, lambda s=s: generate((10, 10, 10), s)
    for sc in ("tight-budget", "high-penalty"):
        for s in seeds:
            yield "gen", "10x10x10", sc, s, lambda s=s, sc=sc: generate((10, 10, 10), s, sc)
    for s in seeds:
        yield "gen", "20x20x20", "base", s, lambda s=s: generate((20, 20, 20), s)


@click.command()
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=300.0,
              show_default=True, help="HiGHS time limit per run (s).")
@click.option("--threads", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--seeds", default="0,1,2", show_default=True, help="Comma-separated seeds.")
@click.option("--quick", is_flag=True, help="paper-base and one 10x10x10 only.")
@click.option("--no-plain", is_flag=True, help="Skip the plain-model runs.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (new or empty).")
def main(time_limit: float, threads: int, seeds: str, quick: bool, no_plain: bool,
         out: Path) -> None:
    """Benchmark the exact MILP: time to proven optimality, LP and root gaps."""
    try:
        seed_list = [int(v) for v in seeds.split(",") if v.strip()]
    except ValueError:
        raise BadInput(f"--seeds: {seeds!r} is not a comma-separated list of integers") from None
    try:
        prepare_out(out, {"command": "bench_milp", "time_limit_s": time_limit,
                          "threads": threads, "seeds": seed_list, "quick": quick,
                          "plain": not no_plain}, resume=False, resumable=False)
    except ResumeRefused as exc:
        raise BadInput(str(exc)) from None
    run(seed_list, quick, not no_plain, time_limit, threads, out)


def run(seeds: list[int], quick: bool, plain: bool, time_limit_s: float, threads: int,
        out: Path) -> list[dict]:
    """Every case of :func:`cases`; writes ``out/runs.csv`` and ``out/summary.md``."""
    runs_path = out / "runs.csv"
    rows: list[dict] = []
    with runs_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        for kind, size, scenario, seed, make in cases(seeds, quick):
            inst = make()
            models = [("tight", Tightening())]
            if plain and size in ("6x6x10", "10x10x10") and scenario == "base":
                models.append(("plain", Tightening.none()))
            for label, tg in models:
                params = MilpParams(time_limit_s=time_limit_s, threads=threads,
                                    tightening=tg)
                res = solve(inst, params, seed=seed)
                lp = lp_relaxation_bound(inst, tightening=tg)
                st = res.stats
                obj = res.objective if res.feasible else None
                row = {
                    "instance": inst.name, "size": size, "scenario": scenario, "seed": seed,
                    "model": label, "status": res.status.value, "objective": obj,
                    "bound": res.bound, "gap": relative_gap(obj, res.bound),
                    "build_s": round(st["build_s"], 4), "solve_s": round(st["solve_s"], 3),
                    "solve_cpu_s": round(st["solve_cpu_s"], 3), "n_vars": st["n_vars"],
                    "n_int": st["n_int"], "n_rows": st["n_rows"], "nodes": st["nodes"],
                    "lp_bound": lp, "lp_gap": relative_gap(obj, lp),
                    "root_bound": st["root_bound"],
                    "root_gap": relative_gap(obj, st["root_bound"]),
                    "highs_status": st["highs_status"],
                    "load_avg": round(os.getloadavg()[0], 2),
                }
                writer.writerow(row)
                fh.flush()
                rows.append(row)
                print(f"{inst.name:32s} {label:5s} {row['status']:9s} obj={obj} "
                      f"gap={row['gap']:.2e} solve={row['solve_s']}s lp_gap={row['lp_gap']:.3f} "
                      f"load={row['load_avg']}", flush=True)
    (out / "summary.md").write_text(summarise(rows, threads, time_limit_s))
    return rows


def _fmt(v: float) -> str:
    return f"{v:.2f}"


def summarise(rows: list[dict], threads: int, time_limit_s: float) -> str:
    out = ["# MILP benchmark (benchmarks/bench_milp.py)", "",
           f"HiGHS, {threads} threads, time limit {time_limit_s:g} s, mip_rel_gap 1e-4. "
           "Times are wall-clock seconds of `Highs.run()` (build separate); `load` is the "
           "1-min load average when the run ended (other jobs shared the 2 cores).", "",
           "| size | scenario | model | runs | optimal / feasible / other | solve s median | "
           "solve s max | build s max | LP gap median | LP gap max | root gap median | load |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["size"], r["scenario"], r["model"]), []).append(r)
    for (size, scenario, model), rs in groups.items():
        times = [r["solve_s"] for r in rs]
        lpg = [r["lp_gap"] for r in rs if r["lp_gap"] != float("inf")]
        rg = [r["root_gap"] for r in rs if r["root_gap"] != float("inf")]
        n_opt = sum(r["status"] == "optimal" for r in rs)
        n_feas = sum(r["status"] == "feasible" for r in rs)
        lp_txt = f"{statistics.median(lpg):.1%} | {max(lpg):.1%}" if lpg else "– | –"
        rg_txt = f"{statistics.median(rg):.1%}" if rg else "–"
        out.append(
            f"| {size} | {scenario} | {model} | {len(rs)} | {n_opt} / {n_feas} / "
            f"{len(rs) - n_opt - n_feas} | {_fmt(statistics.median(times))} | {_fmt(max(times))} "
            f"| {max(r['build_s'] for r in rs):.3f} | {lp_txt} | {rg_txt} ")
        out[-1] += f"| {statistics.median(r['load_avg'] for r in rs):.1f} |"
    out += ["", "LP gap = (objective − LP relaxation bound)/objective of the same model; "
            "root gap = the same with HiGHS's dual bound after its root cuts (tightened "
            "model). Objectives are the evaluator's.", ""]
    return "\n".join(out)


if __name__ == "__main__":
    main()
