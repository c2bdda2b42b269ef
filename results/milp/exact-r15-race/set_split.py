"""Round 15 probe: split 20x20x20 s1's long subtree on a *set* of configurations.

``PYTHONPATH=. python results/milp/exact-r15-race/set_split.py SPEC PRICE_MIN [chain]``
solves the LP of the subtree of :mod:`subtree`, takes the set ``D`` of configurations it
opens (``w > 0.01``) at a price per replica of at least ``PRICE_MIN``, and solves at
once, one HiGHS thread each, seed 0: ``Σ_{c∈D} w_c ≥ 1`` (a new row) and
``w_c = r_c = 0`` for every ``c ∈ D``; the two partition the subtree's plans. With
``chain``, instead the partition ``{w_d1 = 1}, {w_d1 = 0, w_d2 = 1}, …, {w_d = 0 for all
d ∈ D}`` (``D`` by falling LP ``w``) on a queue of two threads, the all-closed part first;
prints each part and the wall time of the whole.
"""
from __future__ import annotations

import json
import sys
import threading
import time

import numpy as np

sys.path.insert(0, "results/milp/exact-r15-race")
from subtree import long_subtree, solve_part

spec, price_min = sys.argv[1], float(sys.argv[2])
sub = long_subtree(spec)
w = sub.lp_w()
price = sub.am.cost[sub.am.cols["r"]]
D = [int(k) for k in np.flatnonzero((w > 0.01) & (price >= price_min))]
print(json.dumps({"D": D, "w": [round(float(w[k]), 3) for k in D]}), flush=True)

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
            out = solve_part(sub, *sub.fixed(closed, opened))
            print(json.dumps({"closed": len(closed), "opened": opened, **out}), flush=True)

    pool = [threading.Thread(target=work) for _ in range(2)]
else:
    w0 = sub.am.cols["w"].start

    def half(some_open: bool) -> None:
        if some_open:
            out = solve_part(sub, sub.lb, sub.ub, row=np.array([w0 + k for k in D]))
        else:
            out = solve_part(sub, *sub.fixed(D))
        print(json.dumps({"some_open": some_open, **out}), flush=True)

    t_all = time.perf_counter()
    pool = [threading.Thread(target=half, args=(o,)) for o in (True, False)]
for t in pool:
    t.start()
for t in pool:
    t.join()
print(json.dumps({"wall_s": round(time.perf_counter() - t_all, 2)}), flush=True)
