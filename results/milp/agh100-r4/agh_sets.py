"""Which candidate set S would let AGH's LP-guided fleet MIP beat 1,414.78 at 100x40x40 s0?

Starts from AGH's plan (cached by probe.py in plan-100x40x40-s0.npz), builds the LP-guided
pool (heuristics.fleet_mip.lp_support) and tries other sets S for the same MIP
(solve_fleet_mip, node limit LP_NODE_LIMIT): the fleet LP re-solved with each open
configuration of the plan forced closed (its support added), and the pool's
configurations of least LP reduced cost. Each fleet is priced by the exact routing LP
(heuristics.lp_moves._price). One JSON line per set.

    nice -n 5 python results/milp/agh100-r4/agh_sets.py
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import highspy
import numpy as np

from hetserve.heuristics.fleet_mip import (
    LP_NODE_LIMIT,
    _highs,
    _model,
    candidate_set,
    lp_support,
    solve_fleet_mip,
)
from hetserve.heuristics.lp_moves import _price
from hetserve.heuristics.state import HeuristicData, PlanState
from hetserve.instances.generate import generate

HERE = Path(__file__).resolve().parent


def lp_r(state: PlanState, pool: np.ndarray, closed: np.ndarray) -> tuple[float, np.ndarray]:
    """The fleet LP on ``pool`` with ``closed`` configurations' r, w fixed at 0: value, r."""
    lp, col, _ = _model(state, pool, relax=True)
    up = np.asarray(lp.col_upper_).copy()
    k = np.searchsorted(pool, closed)
    up[col["r"] + k] = 0.0
    up[col["w"] + k] = 0.0
    lp.col_upper_ = up
    h = _highs(0)
    h.setOptionValue("solver", "simplex")
    h.passModel(lp)
    h.run()
    highspy.Highs.resetGlobalScheduler(True)
    val = np.asarray(h.getSolution().col_value)
    return float(h.getInfo().objective_function_value), val[col["r"]:col["r"] + len(pool)]


def try_set(state: PlanState, name: str, cfgs: np.ndarray, **extra: object) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    r, work = solve_fleet_mip(state, cfgs, seed=0, node_limit=LP_NODE_LIMIT)
    priced = _price(state, r) if r is not None else None
    print(json.dumps({"set": name, "size": len(cfgs), "work": work,
                      "cost": None if priced is None else priced[0],
                      "open": None if r is None else int((r > 0).sum()),
                      "wall_s": round(time.perf_counter() - t0, 1),
                      "cpu_s": round(time.process_time() - c0, 1),
                      "load": os.getloadavg()[0], **extra}), flush=True)


def agh_plan() -> tuple[HeuristicData, PlanState]:
    """AGH's plan at 100x40x40 s0 (saved by probe.py) as a heuristic state; shared with
    agh_pool_mip.py."""
    inst = generate((100, 40, 40), 0)
    data = HeuristicData.build(inst)
    z = np.load(HERE / "plan-100x40x40-s0.npz")
    x = np.zeros((len(inst.query_types), len(inst.routes)))
    x[z["xi"], z["xc"]] = z["xv"]
    return data, PlanState.from_arrays(data, z["r"], x)


def main() -> None:
    data, state = agh_plan()
    print(json.dumps({"plan": state.objective}), flush=True)
    open_ = np.nonzero(state.r > 0)[0]
    pool = candidate_set(state, [state], 40, data.n_configs)
    support, grown, work = lp_support(state, pool, seed=0)
    print(json.dumps({"pool": len(pool), "grown": len(grown), "support": len(support),
                      "open": len(open_), "work": work}), flush=True)
    base = np.union1d(support, open_)
    try_set(state, "support+open", base)
    # diversify: the LP with each open configuration closed in turn
    union = base.copy()
    for c in open_.tolist():
        v, r = lp_r(state, grown, np.array([c]))
        sup = grown[r > 1e-6]
        new = np.setdiff1d(sup, union)
        print(json.dumps({"closed": c, "lp": v, "support": len(sup), "new": len(new)}),
              flush=True)
        union = np.union1d(union, sup)
    try_set(state, "support+open+close-one-supports", union)
    # the plan's whole open set closed at once
    v, r = lp_r(state, grown, open_)
    sup_all = grown[r > 1e-6]
    print(json.dumps({"closed": "all-open", "lp": v, "support": len(sup_all)}), flush=True)
    try_set(state, "support+open+close-all-support", np.union1d(base, sup_all))


if __name__ == "__main__":
    main()
