"""Truth probe at 100x40x40 s0 (issue 13): is AGH's 1,414.78 (near) optimal, or is the bound
the side that is wrong?

Every plan cheaper than V is a point of the target-cost model for V (milp/bound.py
``_target_cost``/``Fixing.with_upper``, docs/milp.md "Certified bounds"), so HiGHS run long on
that model (objective_bound = V, 1 thread) either finds a plan below V (a real plan: it is
re-priced here by the one evaluator) or raises its dual bound B_V, and min(V, B_V) is a
certified lower bound on the optimum.

    nice -n 5 python results/milp/agh100-r4/probe.py --v 1400 --time 600

Phases: AGH (default budget; its plan is cached in ``plan-100x40x40-s0.npz`` next to this
file), the closing generation with U = AGH's cost (as ``fixed_model_bound`` runs it), the
routes kept for a grid of V, then HiGHS on the target model for each ``--v``.
One JSON line per phase to stdout.
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


@click.command()
@click.option("--v", "targets", type=float, multiple=True, help="Target costs to run HiGHS at.")
@click.option("--time", "seconds", type=float, default=600.0, show_default=True)
@click.option("--grid", default="1362,1370,1380,1390,1400,1410,1414.7")
@click.option("--log-prefix", default="highs-probe")
@click.option("--no-heuristics", is_flag=True,
              help="HiGHS's plan search off on the target model (milp.bound.TARGET_HIGHS_OPTIONS, "
                   "what fixed_model_bound uses since large-bound-5).")
def main(targets: tuple[float, ...], seconds: float, grid: str, log_prefix: str,
         no_heuristics: bool) -> None:
    from hetserve.heuristics import agh
    from hetserve.instances.evaluate import evaluate_arrays
    from hetserve.instances.generate import generate
    from hetserve.instances.solution import Solution
    from hetserve.milp import MilpParams, solve
    from hetserve.milp.bound import TARGET_HIGHS_OPTIONS, lagrangian_bound
    from hetserve.milp.fixing import fixing_from_closing
    from hetserve.milp.index import make_index

    inst = generate((100, 40, 40), 0)
    cache = HERE / "plan-100x40x40-s0.npz"
    t0, c0 = time.perf_counter(), time.process_time()
    cached = cache.exists()
    if cached:
        z = np.load(cache)
        x = np.zeros((len(inst.query_types), len(inst.routes)))
        x[z["xi"], z["xc"]] = z["xv"]
        plan = Solution.from_arrays(inst, z["r"], x)
    else:
        a = agh(inst, seed=0)
        assert a.solution is not None
        plan = a.solution
        r, x = plan.to_arrays(inst)
        xi, xc = np.nonzero(x)
        np.savez_compressed(cache, r=r, xi=xi, xc=xc, xv=x[xi, xc])
    ev = evaluate_arrays(inst, *plan.to_arrays(inst))
    upper = float(ev.objective)
    emit_row(phase="agh", plan=upper, feasible=ev.feasible, wall_s=time.perf_counter() - t0,
          cpu_s=time.process_time() - c0, cached=cached)

    t0, c0 = time.perf_counter(), time.process_time()
    params = MilpParams(threads=1, time_limit_s=seconds, msg=False)
    _, x0 = plan.to_arrays(inst)
    ti, tc = np.nonzero(x0 > 0)
    idx = make_index(inst, params.tightening, params.reductions, upper)
    lb = lagrangian_bound(inst, upper_bound=upper, index=idx, iterations=0, keep_master=True,
                          seed=0, close=True, start_routes=(ti, tc), time_limit_s=240.0)
    fix = fixing_from_closing(idx, lb, t0)
    assert fix is not None
    emit_row(phase="closing", bound=fix.bound, converged=lb.stats["cg_converged"],
          lp=fix.lp_value, routes=int(idx.n_routes), wall_s=time.perf_counter() - t0,
          cpu_s=time.process_time() - c0)
    for v in [float(g) for g in grid.split(",")]:
        f = fix.with_upper(v)
        kept = f.caps[idx.cfg][idx.rk] >= 1
        emit_row(phase="grid", v=v, routes=int(kept.sum()),
              configs=int((f.caps[idx.cfg] >= 1).sum()))

    for v in targets:
        t0, c0 = time.perf_counter(), time.process_time()
        log = str(HERE / f"{log_prefix}-V{v:.0f}.log")
        p = replace(params, support_mip=False, log_file=log,
                    highs_options=(*params.highs_options, ("objective_bound", v),
                                   *(TARGET_HIGHS_OPTIONS if no_heuristics else ())))
        run = solve(inst, p, seed=0, fixing=fix.with_upper(v))
        row: dict[str, object] = {
            "phase": "highs", "v": v, "status": str(run.status), "bound": run.bound,
            "root_bound": run.stats.get("root_bound"), "nodes": run.stats.get("nodes"),
            "highs_status": run.stats.get("highs_status"), "n_vars": run.stats.get("n_vars"),
            "n_rows": run.stats.get("n_rows"), "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0, "log": Path(log).name}
        if run.feasible and run.solution is not None:
            e = evaluate_arrays(inst, *run.solution.to_arrays(inst))
            row.update(plan=float(e.objective), plan_feasible=e.feasible)
            np.savez_compressed(HERE / f"plan-V{v:.0f}.npz",
                                r=run.solution.to_arrays(inst)[0])
        emit_row(**row)
    sys.exit(0)


if __name__ == "__main__":
    main()
