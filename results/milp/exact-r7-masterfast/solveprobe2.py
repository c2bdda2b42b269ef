"""One closing master (100x40x40 s0, U = AGH's, as ``fixed_model_bound`` runs it, ``--time``
s), then its re-solves compared (issue 13, masterfast): the interior point method stopped
after k iterations (L at its iterate's duals: any sign-projected multipliers are valid),
IPM with crossover (a basis), and one generation round after it (covers separated and
priced routes added) re-solved by the warm dual simplex vs the IPM from scratch.

    PYTHONPATH=. python results/milp/exact-r7-masterfast/solveprobe2.py --time 150
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
import numpy as np

from benchmarks.milp_large_bound import emit_row

HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / "agh100-r4" / "plan-100x40x40-s0.npz"


@click.command()
@click.option("--time", "seconds", type=float, default=150.0)
@click.option("--iters", default="20,40,60,80")
def main(seconds: float, iters: str) -> None:
    from hetserve.instances.evaluate import evaluate_arrays
    from hetserve.instances.generate import generate
    from hetserve.instances.solution import Solution
    from hetserve.milp import MilpParams
    from hetserve.milp.bound import lagrangian_bound
    from hetserve.milp.colgen import _priced
    from hetserve.milp.index import make_index

    inst = generate((100, 40, 40), 0)
    z = np.load(CACHE)
    x = np.zeros((len(inst.query_types), len(inst.routes)))
    x[z["xi"], z["xc"]] = z["xv"]
    plan = Solution.from_arrays(inst, z["r"], x)
    upper = float(evaluate_arrays(inst, *plan.to_arrays(inst)).objective)
    params = MilpParams(threads=1, time_limit_s=300, msg=False)
    _, x0 = plan.to_arrays(inst)
    ti, tc = np.nonzero(x0 > 0)
    t0, c0 = time.perf_counter(), time.process_time()
    idx = make_index(inst, params.tightening, params.reductions, upper)
    lb = lagrangian_bound(inst, upper_bound=upper, index=idx, iterations=0, keep_master=True,
                          seed=0, close=True, start_routes=(ti, tc), time_limit_s=seconds / 0.8,
                          wcover_rounds=10, wcover_per_row=2, wcover_gap=0.01)
    emit_row(phase="closing", value=lb.value, wall_s=time.perf_counter() - t0,
             cpu_s=time.process_time() - c0, rounds=lb.stats["cg_rounds"])
    m, lg = lb.master, lb.lagrangian
    assert m is not None and lg is not None
    h = m.h
    h.setOptionValue("time_limit", h.getRunTime() + 2000.0)
    m.status = lambda: "Optimal"  # type: ignore[method-assign]  # read any iterate's duals

    def once(name: str, **opts: object):  # type: ignore[no-untyped-def]
        for k, v in opts.items():
            h.setOptionValue(k, v)
        c, w = time.process_time(), time.perf_counter()
        out = m.solve(None)
        cpu, wall = time.process_time() - c, time.perf_counter() - w
        info = h.getInfo()
        lag = lg.evaluate(*out[1].multipliers)[0] if out else None
        emit_row(phase="solve", variant=name, cpu_s=cpu, wall_s=wall,
                 status=str(h.modelStatusToString(h.getModelStatus())),
                 ipm_iterations=int(info.ipm_iteration_count),
                 simplex_iterations=int(info.simplex_iteration_count),
                 master=out[0] if out else None, lagrangian=lag,
                 dual_valid=bool(h.getSolution().dual_valid),
                 cover_rows=m.covers.n if m.covers else 0, n_rows=m.n_rows, routes=m.n_routes)
        return out

    for k in [int(v) for v in iters.split(",")]:
        h.clearSolver()
        once(f"ipm-{k}it", ipm_iteration_limit=k)
    h.setOptionValue("ipm_iteration_limit", 2147483647)
    h.clearSolver()
    base = once("ipm")
    h.clearSolver()
    m.ipm = False  # solve() would switch the crossover off
    once("ipm+crossover", solver="ipm", run_crossover="on")
    # one generation round from here: covers at this point, priced routes at its duals
    h.setOptionValue("solver", "simplex")
    assert base is not None
    n_cov = m.add_covers(per_row=2)
    lg.evaluate(*base[1].multipliers)
    n_routes = m.add(_priced(lg, idx, m, base[1], 30))
    emit_row(phase="round", covers_added=n_cov, routes_added=n_routes)
    m._rows_added = True
    once("dual-simplex-warm")
    h.clearSolver()
    m.ipm = True
    h.setOptionValue("run_crossover", "off")
    once("ipm-after-round")
    sys.exit(0)


if __name__ == "__main__":
    main()
