"""Benchmark the exact MILP: HiGHS time to proven optimality (gap ≤ 1e-4).

Writes ``results/milp/runs.csv`` (one row per run, appended as runs finish) and
``results/milp/summary.md``. Usage::

    python scripts/bench_milp.py                 # the full set (tens of minutes)
    python scripts/bench_milp.py --quick         # paper-base + one 10x10x10
    python scripts/bench_milp.py --time-limit 300 --threads 2 --seeds 0 1 2

Per run: the tightened model (default) and, on paper-base and 10x10x10 base, the plain
model of docs/semantics.md#exact-milp ("plain") for the before/after comparison. Root figures: the LP
relaxation bound of the plain and of the tightened model, and HiGHS's dual bound at
the end of its root node (after its own cuts). Gaps use ``instances.relative_gap``
against the best known objective of the instance.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hetserve.instances.evaluate import relative_gap  # noqa: E402
from hetserve.instances.generate import generate, paper_base  # noqa: E402
from hetserve.milp import MilpParams, Tightening, lp_relaxation_bound, solve  # noqa: E402

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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-plain", action="store_true", help="skip the plain-model runs")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "milp")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    runs_path = args.out / "runs.csv"
    rows: list[dict] = []
    with runs_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        for kind, size, scenario, seed, make in cases(args.seeds, args.quick):
            inst = make()
            models = [("tight", Tightening())]
            if not args.no_plain and size in ("6x6x10", "10x10x10") and scenario == "base":
                models.append(("plain", Tightening.none()))
            for label, tg in models:
                params = MilpParams(time_limit_s=args.time_limit, threads=args.threads,
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
    (args.out / "summary.md").write_text(summarise(rows, args))
    return 0


def _fmt(v: float) -> str:
    return f"{v:.2f}"


def summarise(rows: list[dict], args: argparse.Namespace) -> str:
    out = ["# MILP benchmark (scripts/bench_milp.py)", "",
           f"HiGHS, {args.threads} threads, time limit {args.time_limit:g} s, mip_rel_gap 1e-4. "
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
    raise SystemExit(main())
