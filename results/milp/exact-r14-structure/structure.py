"""The optimum's structure against the fixed model's LP at one instance (round 14 probe).

``PYTHONPATH=. python results/milp/exact-r14-structure/structure.py SPEC`` builds the model
``milp.solve`` hands HiGHS (``explore.fixed_of``), solves it to optimality from the start and
prints, for the optimum and for the LP: the open configurations with replicas, open flag,
load (replicas of work routed) and the query types they serve, and the unmet shares.
With a second argument ``start`` it prints the start (the support MIP's plan) instead of
solving.
"""
from __future__ import annotations

import sys
import time

import numpy as np

sys.path.insert(0, "results/milp/exact-r3-probe")
from explore import fixed_of, lp_solution

from hetserve.instances.solver_log import new_highs
from hetserve.milp.highs_run import run_checked, set_start
from hetserve.milp.solve import MilpParams, _configure, _start_vector


def run_line(h, t0: float) -> str:  # type: ignore[no-untyped-def]
    """Run ``h`` (from wall time ``t0``) and say how it ended: status, objective, bound,
    nodes, seconds (shared by relax.py and split.py)."""
    run_checked(h)
    info = h.getInfo()
    return (f"{h.modelStatusToString(h.getModelStatus())} {info.objective_function_value:.4f} "
            f"bound {info.mip_dual_bound:.4f} nodes {int(info.mip_node_count)} "
            f"{time.perf_counter() - t0:.1f} s")


def describe(label, am, v):  # type: ignore[no-untyped-def]
    idx = am.index
    r, w = v[am.cols["r"]], v[am.cols["w"]]
    x = v[am.cols["x"]]
    u = v[am.cols["u"]]
    cost = am.cost
    print(f"== {label}: objective {float(cost @ v):.4f}; replica cost "
          f"{float(cost[am.cols['r']] @ r):.4f}, open cost {float(cost[am.cols['w']] @ w):.4f}, "
          f"model cost {float(cost[am.cols['o']] @ v[am.cols['o']]):.4f}, unmet "
          f"{float(cost[am.cols['u']] @ u):.4f}")
    price = cost[am.cols["r"]]
    for k in np.flatnonzero(w > 1e-6):
        sel = (idx.rk == k) & (x > 1e-6)
        load = float((idx.load[sel] * x[sel]).sum())
        types = ", ".join(f"{i}:{s:.2f}" for i, s in zip(idx.ri[sel], x[sel]))
        print(f"  cfg {int(idx.cfg[k]):5d} price {price[k]:8.3f} rbar {int(idx.rbar[k]):3d} "
              f"r {r[k]:6.3f} w {w[k]:5.3f} load {load:6.3f} | {types}")
    print("  unmet:", {int(i): round(float(s), 3) for i, s in enumerate(u) if s > 1e-6})


if __name__ == "__main__":
    spec = sys.argv[1]
    inst, warm, fm = fixed_of(spec)
    am = fm.am
    print("configs", am.index.n_cfg, "columns", am.n_cols, "rows", am.n_rows,
          "blocks", {k: (s.stop - s.start) for k, s in am.cols.items()})
    val, lpv, _ = lp_solution(am)
    describe("LP", am, lpv)
    if len(sys.argv) > 2 and sys.argv[2] == "start":
        describe("start", am, _start_vector(am, inst, fm.warm_start))
        sys.exit(0)
    h = new_highs()
    _configure(h, MilpParams(time_limit_s=120.0), 0, True)
    h.passModel(am.to_highs_lp())
    set_start(h, _start_vector(am, inst, fm.warm_start))
    run_checked(h)
    describe("optimum", am, np.asarray(h.getSolution().col_value))
