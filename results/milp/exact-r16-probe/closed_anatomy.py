"""Round 16 probe: where the all-closed chain part of 20x20x20 s1's long subtree loses its
LP bound. Solves its LP and its MIP (one thread) and prints, per row block, the LP's dual
value mass, and the open configurations, replicas and cost terms of both.

``PYTHONPATH=. python results/milp/exact-r16-probe/closed_anatomy.py SPEC PRICE_MIN``
"""
from __future__ import annotations

import json
import sys
import threading
from dataclasses import replace

import numpy as np

sys.path.insert(0, "results/milp/exact-r15-race")
from subtree import long_subtree

from hetserve.instances.solver_log import new_highs
from hetserve.milp.highs_run import configure
from hetserve.milp.solve import ROOT_SETTINGS

spec, price_min = sys.argv[1], float(sys.argv[2])
sub = long_subtree(spec)
w = sub.lp_w()
am = sub.am
price = am.cost[am.cols["r"]]
D = [int(k) for k in np.flatnonzero((w > 0.01) & (price >= price_min))]
lo, hi = sub.fixed(D)
part = replace(am, lb=lo, ub=hi)
out: dict = {}


def solve(relax: bool) -> None:
    lp = part.to_highs_lp()
    if relax:
        lp.integrality_ = []
    h = new_highs()
    configure(h, time_limit_s=300.0, mip_rel_gap=1e-4, threads=1, seed=0,
              options=ROOT_SETTINGS, reset_pool=False)
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    h.deleteRows(len(sub.links.drop), sub.links.drop)
    h.run()
    sol = h.getSolution()
    out["lp" if relax else "mip"] = (np.asarray(sol.col_value), np.asarray(sol.row_dual),
                                     h.getInfo().objective_function_value)


for relax in (True, False):
    t = threading.Thread(target=solve, args=(relax,))
    t.start()
    t.join()

for name in ("lp", "mip"):
    x, y, obj = out[name]
    terms = {blk: float(am.cost[s] @ x[s]) for blk, s in am.cols.items()}
    rr, ww = x[am.cols["r"]], x[am.cols["w"]]
    opened = np.flatnonzero(ww > 1e-6)
    print(json.dumps({"which": name, "objective": obj, "terms": terms,
                      "open": [(int(k), round(float(ww[k]), 3), round(float(rr[k]), 3),
                                round(float(price[k]), 2)) for k in opened]}))
# the LP's duals by row block (rows kept: the dropped link rows are gone from HiGHS)
keep = np.setdiff1d(np.arange(am.n_rows), sub.links.drop)
y = np.zeros(am.n_rows)
y[keep] = out["lp"][1]
print(json.dumps({"dual_mass": {blk: round(float(np.abs(y[s]).sum()), 3)
                                for blk, s in am.row_blocks.items()}}))
