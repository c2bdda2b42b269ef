"""Round 16 probe: the all-closed chain part of 20x20x20 s1's long subtree (round 15's
``set_split.py``: D = the subtree LP's configurations of ≥ PRICE_MIN $/h with w > 0.01, all
closed) under HiGHS option variants, alternated, one thread each.

``PYTHONPATH=. python results/milp/exact-r16-probe/closed_part.py SPEC PRICE_MIN REPS [log]``
"""
from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import replace

import numpy as np

sys.path.insert(0, "results/milp/exact-r15-race")
from subtree import long_subtree

from hetserve.instances.solver_log import new_highs
from hetserve.milp.highs_run import configure
from hetserve.milp.solve import ROOT_SETTINGS

VARIANTS = {
    "base": (),
    "noheur": (("mip_heuristic_effort", 0.0), ("mip_heuristic_run_root_reduced_cost", False),
               ("mip_heuristic_run_feasibility_jump", False)),
}

spec, price_min, reps = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
log = len(sys.argv) > 4
sub = long_subtree(spec)
w = sub.lp_w()
price = sub.am.cost[sub.am.cols["r"]]
D = [int(k) for k in np.flatnonzero((w > 0.01) & (price >= price_min))]
print(json.dumps({"D": D}), flush=True)
lo, hi = sub.fixed(D)


def run(name: str, extra: tuple, rep: int) -> None:
    if True:
        h = new_highs()
        configure(h, time_limit_s=300.0, mip_rel_gap=1e-4, threads=1, seed=0,
                  options=ROOT_SETTINGS + extra, reset_pool=False)
        if log:
            h.setOptionValue("output_flag", True)
            h.setOptionValue("log_to_console", True)
        h.passModel(replace(sub.am, lb=lo, ub=hi).to_highs_lp())
        h.deleteRows(len(sub.links.drop), sub.links.drop)
        h.setOptionValue("objective_bound", sub.upper)
        t0 = time.perf_counter()
        h.run()
        print(json.dumps({"rep": rep, "variant": name,
                          "status": h.modelStatusToString(h.getModelStatus()),
                          "seconds": round(time.perf_counter() - t0, 2),
                          "nodes": int(h.getInfo().mip_node_count)}), flush=True)


# HiGHS's thread scheduler belongs to the thread that made it: solve in fresh threads
# as milp.split does.
for rep in range(reps):
    for name, extra in VARIANTS.items():
        t = threading.Thread(target=run, args=(name, extra, rep))
        t.start()
        t.join()
