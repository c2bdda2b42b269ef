"""Round 15 probe: which third flag would halve 20x20x20 s1's long subtree.

``PYTHONPATH=. python results/milp/exact-r15-race/third_flag.py SPEC K`` solves the LP of
the subtree of :mod:`subtree` and, for the ``K`` configurations with the largest
``price · w · (1 − w)`` in it (the LP's most undecided costly ones), both halves
``w_c = 1`` (``r_c ≥ 1``) and ``w_c = 0`` (``r_c = 0``) at once, one HiGHS thread each,
seed 0. Prints one JSON line per half.
"""
from __future__ import annotations

import json
import sys
import threading

import numpy as np

sys.path.insert(0, "results/milp/exact-r15-race")
from subtree import long_subtree, solve_part

spec, top = sys.argv[1], int(sys.argv[2])
sub = long_subtree(spec)
w = sub.lp_w()
price = sub.am.cost[sub.am.cols["r"]]
candidates = [int(k) for k in np.argsort(-(price * w * (1 - w)))[:top]]
print(json.dumps({"candidates": [[k, round(float(w[k]), 3), round(float(price[k]), 2)]
                                 for k in candidates]}), flush=True)


def half(k: int, is_open: bool) -> None:
    lo, hi = sub.fixed([], k) if is_open else sub.fixed([k])
    print(json.dumps({"cfg": k, "open": is_open, **solve_part(sub, lo, hi)}), flush=True)


for k in candidates:
    pool = [threading.Thread(target=half, args=(k, o)) for o in (True, False)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
