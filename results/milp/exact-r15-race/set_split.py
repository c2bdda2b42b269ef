"""Round 15 probe: split 20x20x20 s1's long subtree on a *set* of configurations.

``PYTHONPATH=. python results/milp/exact-r15-race/set_split.py SPEC PRICE_MIN`` builds the
subtree of ``race.py`` (``w = r = 0`` on the start's two costliest open configurations,
cutoff at the start's cost, the selected link rows), solves its LP, takes the set ``D`` of
configurations the LP opens (``w > 0.01``) at a price per replica of at least
``PRICE_MIN``, and solves at once, one HiGHS thread each, seed 0: ``Σ_{c∈D} w_c ≥ 1`` (a
new row) and ``w_c = r_c = 0`` for every ``c ∈ D``. The two partition the subtree's plans.
Prints one JSON line per half. With a third argument ``chain``, instead the partition
``{w_d1 = 1}, {w_d1 = 0, w_d2 = 1}, …, {w_d = 0 for all d ∈ D}`` (``D`` by falling LP
``w``) on a queue of two threads, the all-closed subtree first; prints each subtree and
the wall time of the whole.
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

spec, price_min = sys.argv[1], float(sys.argv[2])
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
w = np.asarray(h.getSolution().col_value)[am.cols["w"]]
price = am.cost[am.cols["r"]]
D = [int(k) for k in np.flatnonzero((w > 0.01) & (price >= price_min))]
print(json.dumps({"lp": h.getInfo().objective_function_value, "D": D,
                  "w": [round(float(w[k]), 3) for k in D],
                  "start_opens_D": bool((start[[w0 + k for k in D]] > 0.5).any())}), flush=True)


def half(some_open: bool) -> None:
    lo, hi = lb.copy(), ub.copy()
    if not some_open:
        for k in D:
            lo[w0 + k] = hi[w0 + k] = lo[r0 + k] = hi[r0 + k] = 0.0
    hh = new_highs()
    configure(hh, time_limit_s=200.0, mip_rel_gap=1e-4, threads=1, seed=0,
              options=ROOT_SETTINGS, reset_pool=False)
    hh.passModel(replace(am, lb=lo, ub=hi).to_highs_lp())
    hh.deleteRows(len(sel.drop), sel.drop)
    if some_open:
        idx = np.array([w0 + k for k in D], dtype=np.int32)
        hh.addRow(1.0, np.inf, len(idx), idx, np.ones(len(idx)))
    hh.setOptionValue("objective_bound", upper)
    t0 = time.perf_counter()
    hh.run()
    print(json.dumps({"some_open": some_open, "status": hh.modelStatusToString(hh.getModelStatus()),
                      "seconds": round(time.perf_counter() - t0, 2),
                      "nodes": int(hh.getInfo().mip_node_count),
                      "bound": hh.getInfo().mip_dual_bound}), flush=True)


def chain_part(closed: list[int], opened: int | None) -> dict:
    lo, hi = lb.copy(), ub.copy()
    for k in closed:
        lo[w0 + k] = hi[w0 + k] = lo[r0 + k] = hi[r0 + k] = 0.0
    if opened is not None:
        lo[w0 + opened] = hi[w0 + opened] = 1.0
        lo[r0 + opened] = max(lo[r0 + opened], 1.0)
    hh = new_highs()
    configure(hh, time_limit_s=200.0, mip_rel_gap=1e-4, threads=1, seed=0,
              options=ROOT_SETTINGS, reset_pool=False)
    hh.passModel(replace(am, lb=lo, ub=hi).to_highs_lp())
    hh.deleteRows(len(sel.drop), sel.drop)
    hh.setOptionValue("objective_bound", upper)
    t0 = time.perf_counter()
    hh.run()
    return {"closed": len(closed), "opened": opened,
            "status": hh.modelStatusToString(hh.getModelStatus()),
            "seconds": round(time.perf_counter() - t0, 2), "nodes": int(hh.getInfo().mip_node_count)}


if len(sys.argv) > 3 and sys.argv[3] == "chain":
    order = sorted(D, key=lambda k: -w[k])
    parts = [(order, None)] + [(order[:i], order[i]) for i in range(len(order))]
    lock = threading.Lock()
    t_all = time.perf_counter()

    def work() -> None:
        while True:
            with lock:
                if not parts:
                    return
                closed, opened = parts.pop(0)
            print(json.dumps(chain_part(closed, opened)), flush=True)

    pool = [threading.Thread(target=work) for _ in range(2)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    print(json.dumps({"chain_wall_s": round(time.perf_counter() - t_all, 2)}), flush=True)
else:
    pool = [threading.Thread(target=half, args=(o,)) for o in (True, False)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
