"""Mean delay cost per route (the x columns' objective coefficients) of the configurations
20x20x20 s1's LP and optimum open (round 14 probe; docs/milp-history.md, round 14):
``PYTHONPATH=. python results/milp/exact-r14-structure/delay_cost.py``."""
import sys

import numpy as np

sys.path.insert(0, "results/milp/exact-r3-probe")
from explore import fixed_of

inst, warm, fm = fixed_of("20x20x20-s1")
am = fm.am
idx = am.index
cx = am.cost[am.cols["x"]]
for c in (1120, 1811, 1823, 2498, 2510, 900, 1810, 2497):
    k = int(np.flatnonzero(idx.cfg == c)[0])
    sel = idx.rk == k
    first = {int(i): round(float(v), 1) for i, v in zip(idx.ri[sel][:6], cx[sel][:6])}
    print(c, "routes", sel.sum(), "mean x-cost", round(float(cx[sel].mean()), 2), first)
