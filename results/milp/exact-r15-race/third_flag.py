"""Round 15 probe: which third flag would halve 20x20x20 s1's long subtree.

``PYTHONPATH=. python results/milp/exact-r15-race/third_flag.py SPEC K`` builds the subtree
of ``race.py`` (``w = r = 0`` on the start's two costliest open configurations, cutoff at
the start's cost, the selected link rows), solves its LP relaxation, and for the ``K``
configurations with the largest ``price · w · (1 − w)`` in it (the LP's most undecided
costly ones) solves both halves ``w_c = 1`` (``r_c ≥ 1``) and ``w_c = 0`` (``r_c = 0``)
at once, one HiGHS thread each, seed 0. Prints one JSON line per half.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import replace

import numpy as np

sys.path.insert(0, "results/milp/exact-r3-probe")
from explore import fixed_of

from hetserve.instances.solver_log import new_highs
from hetserve.milp.highs_run import configure, use_threads
from hetserve.milp.link_rows import select_link_rows
from hetserve.milp.solve import ROOT_SETTINGS, _start_vector
from hetserve.milp.split import split_order

spec, top = sys.argv[1], int(sys.argv[2])
inst, warm, fm = fixed_of(spec)
am = fm.am
start = _start_vector(am, inst, fm.warm_start)
upper = float(am.cost @ start)
c1, c2 = split_order(am, start)[:2]
sel = select_link_rows(am, 0)
w0, r0 = am.cols["w"].start, am.cols["r"].start
lb, ub = am.lb.copy(), am.ub.copy()
for k in (c1, c2):
    lb[w0 + k] = ub[w0 + k] = lb[r0 + k] = ub[r0 + k] = 0.0
use_threads(1)
lp = replace(am, lb=lb, ub=ub).to_highs_lp()
lp.integrality_ = []
h = new_highs()
h.setOptionValue("output_flag", False)
h.passModel(lp)
h.deleteRows(len(sel.drop), sel.drop)
h.run()
x = np.asarray(h.getSolution().col_value)
w = x[am.cols["w"]]
price = am.cost[am.cols["r"]]
score = price * w * (1 - w)
candidates = [int(k) for k in np.argsort(-score)[:top]]
print(json.dumps({"lp": h.getInfo().objective_function_value,
                  "candidates": [[k, round(float(w[k]), 3), round(float(price[k]), 2)]
                                 for k in candidates]}), flush=True)


def half(k: int, is_open: bool) -> None:
    lo, hi = lb.copy(), ub.copy()
    lo[w0 + k] = hi[w0 + k] = 1.0 if is_open else 0.0
    if is_open:
        lo[r0 + k] = max(lo[r0 + k], 1.0)
    else:
        lo[r0 + k] = hi[r0 + k] = 0.0
    hh = new_highs()
    configure(hh, time_limit_s=200.0, mip_rel_gap=1e-4, threads=1, seed=0,
              options=ROOT_SETTINGS, reset_pool=False)
    hh.passModel(replace(am, lb=lo, ub=hi).to_highs_lp())
    hh.deleteRows(len(sel.drop), sel.drop)
    hh.setOptionValue("objective_bound", upper)
    t0 = time.perf_counter()
    hh.run()
    print(json.dumps({"cfg": k, "open": is_open,
                      "status": hh.modelStatusToString(hh.getModelStatus()),
                      "seconds": round(time.perf_counter() - t0, 2),
                      "nodes": int(hh.getInfo().mip_node_count)}), flush=True)


for k in candidates:
    pool = [threading.Thread(target=half, args=(k, o)) for o in (True, False)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
