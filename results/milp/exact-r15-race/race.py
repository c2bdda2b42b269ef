"""Round 15 probe: how much HiGHS's time on one subtree of the split varies with its seed.

``PYTHONPATH=. python results/milp/exact-r15-race/race.py SPEC SEEDS`` builds the model
``milp.solve`` hands HiGHS (``explore.fixed_of``), the start's two costliest open
configurations ``c1, c2`` (:func:`milp.split.split_order`), and solves the subtree
``w_c1 = w_c2 = 0`` (the one left alone on one core at 20x20x20 s1) with HiGHS's cutoff at
the start's cost and the link rows of :func:`milp.link_rows.select_link_rows` left out, one
HiGHS thread per seed, two seeds at a time. Prints one JSON line per seed.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import replace

sys.path.insert(0, "results/milp/exact-r3-probe")
from explore import fixed_of

from hetserve.instances.solver_log import new_highs
from hetserve.milp.highs_run import configure, use_threads
from hetserve.milp.link_rows import select_link_rows
from hetserve.milp.solve import ROOT_SETTINGS, _start_vector
from hetserve.milp.split import split_order

spec, seeds = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
inst, warm, fm = fixed_of(spec)
am = fm.am
start = _start_vector(am, inst, fm.warm_start)
upper = float(am.cost @ start)
c1, c2 = split_order(am, start)[:2]
sel = select_link_rows(am, 0)
lb, ub = am.lb.copy(), am.ub.copy()
for k in (c1, c2):
    for block in ("w", "r"):
        lb[am.cols[block].start + k] = ub[am.cols[block].start + k] = 0.0
model = replace(am, lb=lb, ub=ub).to_highs_lp()
use_threads(1)


def run(seed: int) -> None:
    h = new_highs()
    configure(h, time_limit_s=300.0, mip_rel_gap=1e-4, threads=1, seed=seed,
              options=ROOT_SETTINGS, reset_pool=False)
    h.passModel(model)
    h.deleteRows(len(sel.drop), sel.drop)
    h.setOptionValue("objective_bound", upper)
    t0 = time.perf_counter()
    h.run()
    print(json.dumps({"spec": spec, "seed": seed, "status": h.modelStatusToString(h.getModelStatus()),
                      "seconds": round(time.perf_counter() - t0, 2),
                      "nodes": int(h.getInfo().mip_node_count), "c1": int(c1), "c2": int(c2)}),
          flush=True)


for i in range(0, len(seeds), 2):
    pool = [threading.Thread(target=run, args=(s,)) for s in seeds[i:i + 2]]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
