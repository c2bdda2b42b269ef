"""Weighted covers inside the closing generation (issue 13, covclose): per separation the
certified L, the master's LP value, wall/CPU and peak RSS; then the routes the target-cost
model keeps for a grid of V, and optionally HiGHS on the target model for ``--v``.

    nice -n 5 python results/milp/exact-r6-covclose/probe.py --size 100x40x40 --rounds 0,8

The closing is run as ``fixed_model_bound`` runs it (U = AGH's plan cost, its routes in the
first master, ``iterations=0``, ``close=True``) with ``wcover_rounds`` = each of ``--rounds``,
one after the other in this process. At 100x40x40 s0 AGH's plan is the cached one of
results/milp/agh100-r4/; at other sizes AGH runs (default budget). One JSON line per phase.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import click
import numpy as np

from benchmarks.milp_large_bound import emit_row

HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / "agh100-r4" / "plan-100x40x40-s0.npz"


@click.command()
@click.option("--size", default="100x40x40")
@click.option("--seed", type=int, default=0)
@click.option("--rounds", default="8", help="wcover_rounds values, comma separated.")
@click.option("--time", "seconds", type=float, default=600.0, show_default=True,
              help="Wall limit of each closing generation.")
@click.option("--grid", default="1363.56,1370,1380,1387.04,1400")
@click.option("--v", "targets", type=float, multiple=True, help="Target costs to run HiGHS at.")
@click.option("--highs-time", type=float, default=300.0)
@click.option("--per-row", type=int, default=1, help="wcover_per_row")
@click.option("--gap", type=float, default=0.0, help="wcover_gap")
def main(size: str, seed: int, rounds: str, seconds: float, grid: str,
         targets: tuple[float, ...], highs_time: float, per_row: int, gap: float) -> None:
    from hetserve.heuristics import agh
    from hetserve.instances.evaluate import evaluate_arrays
    from hetserve.instances.generate import generate
    from hetserve.instances.solution import Solution
    from hetserve.milp import MilpParams, solve
    from hetserve.milp.bound import TARGET_HIGHS_OPTIONS, lagrangian_bound
    from hetserve.milp.fixing import fixing_from_closing
    from hetserve.milp.index import make_index

    dims = tuple(int(v) for v in size.split("x"))
    inst = generate(dims, seed)  # type: ignore[arg-type]
    t0, c0 = time.perf_counter(), time.process_time()
    if size == "100x40x40" and seed == 0 and CACHE.exists():
        z = np.load(CACHE)
        x = np.zeros((len(inst.query_types), len(inst.routes)))
        x[z["xi"], z["xc"]] = z["xv"]
        plan = Solution.from_arrays(inst, z["r"], x)
    else:
        a = agh(inst, seed=seed)
        assert a.solution is not None
        plan = a.solution
    ev = evaluate_arrays(inst, *plan.to_arrays(inst))
    upper = float(ev.objective)
    emit_row(phase="agh", size=size, seed=seed, plan=upper, wall_s=time.perf_counter() - t0,
          cpu_s=time.process_time() - c0)
    params = MilpParams(threads=1, time_limit_s=highs_time, msg=False)
    _, x0 = plan.to_arrays(inst)
    ti, tc = np.nonzero(x0 > 0)
    for k in [int(v) for v in rounds.split(",")]:
        t0, c0 = time.perf_counter(), time.process_time()
        idx = make_index(inst, params.tightening, params.reductions, upper)
        lb = lagrangian_bound(inst, upper_bound=upper, index=idx, iterations=0,
                              keep_master=True, seed=seed, close=True, start_routes=(ti, tc),
                              time_limit_s=seconds / 0.8, wcover_rounds=k,
                              wcover_per_row=per_row, wcover_gap=gap)
        fix = fixing_from_closing(idx, lb, t0)
        assert fix is not None
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        hist = [{key: (round(v, 3) if isinstance(v, float) else v) for key, v in h.items()}
                for h in lb.stats["cg_history"]]
        emit_row(phase="closing", size=size, wcover_rounds=k, per_row=per_row, gap=gap,
              bound=fix.bound,
              converged=lb.stats["cg_converged"], master_lp=lb.stats["master_lp"],
              cover_rows=lb.stats["cover_rows"], cg_rounds=lb.stats["cg_rounds"],
              master_routes=lb.stats["cg_routes"], routes=int(idx.n_routes),
              closed=lb.stats["closed"], wall_s=wall, cpu_s=cpu, history=hist)
        for v in [float(g) for g in grid.split(",")]:
            f = fix.with_upper(v)
            kept = f.caps[idx.cfg][idx.rk] >= 1
            emit_row(phase="grid", size=size, wcover_rounds=k, v=v, routes=int(kept.sum()),
                  configs=int((f.caps[idx.cfg] >= 1).sum()))
        for v in targets:
            t1, c1 = time.perf_counter(), time.process_time()
            p = replace(params, support_mip=False,
                        highs_options=(*params.highs_options, ("objective_bound", v),
                                       *TARGET_HIGHS_OPTIONS))
            run = solve(inst, p, seed=seed, fixing=fix.with_upper(v))
            status = str(run.status)
            cert = v if run.status.name == "INFEASIBLE" else (
                min(v, run.bound) if run.bound is not None else None)
            emit_row(phase="highs", size=size, wcover_rounds=k, v=v, status=status,
                  bound=run.bound, certified=cert, root_bound=run.stats.get("root_bound"),
                  plan=run.objective if run.feasible else None,
                  nodes=run.stats.get("nodes"), n_vars=run.stats.get("n_vars"),
                  wall_s=time.perf_counter() - t1, cpu_s=time.process_time() - c1,
                  closing_plus_highs_wall_s=time.perf_counter() - t0)
        del lb, fix
    sys.exit(0)


if __name__ == "__main__":
    main()
