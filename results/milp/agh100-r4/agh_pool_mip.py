"""The fleet MIP (heuristics.fleet_mip._model) on AGH's whole LP-guided pool at 100x40x40 s0
(the 372 configurations lp_support grows), from AGH's plan, for ``--time`` seconds: does a
fleet cheaper than 1,414.78 exist among them, and what bound does HiGHS prove on the pool?
(The pool's MIP is a restriction of the planning problem: its bound is not one on the
optimum.)   nice -n 5 python results/milp/agh100-r4/agh_pool_mip.py --time 400
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from hetserve.heuristics import fleet_mip as fm
from hetserve.heuristics.fleet_mip import candidate_set, lp_support, solve_fleet_mip
from hetserve.heuristics.lp_moves import _price

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from agh_sets import agh_plan  # noqa: E402  (the sibling probe script)


@click.command()
@click.option("--time", "seconds", type=float, default=400.0)
@click.option("--nodes", type=int, default=100000)
def main(seconds: float, nodes: int) -> None:
    data, state = agh_plan()
    pool = candidate_set(state, [state], 40, data.n_configs)
    _, grown, _ = lp_support(state, pool, seed=0)
    info: dict = {}
    orig = fm._highs

    def timed(seed: int):  # the same HiGHS with a time limit and its log kept
        h = orig(seed)
        h.setOptionValue("time_limit", seconds)
        h.setOptionValue("log_file", str(HERE / "highs-pool-mip.log"))
        info["h"] = h
        return h

    fm._highs = timed
    t0, c0 = time.perf_counter(), time.process_time()
    r, _work = solve_fleet_mip(state, grown, seed=0, node_limit=nodes)
    h = info["h"]
    hi = h.getInfo()
    priced = _price(state, r) if r is not None else None
    print(json.dumps({"pool": len(grown), "cost": None if priced is None else priced[0],
                      "mip_obj": hi.objective_function_value, "mip_bound": hi.mip_dual_bound,
                      "nodes": hi.mip_node_count, "status": str(h.getModelStatus()),
                      "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                      "load": os.getloadavg()[0]}), flush=True)


if __name__ == "__main__":
    main()
