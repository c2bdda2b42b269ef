"""A two-way split of the search on one configuration's open flag (round 14 probe):
``PYTHONPATH=. python results/milp/exact-r14-structure/split.py SPEC CFG CUTOFF`` solves
the model ``milp.solve`` hands HiGHS with ``w_CFG = 1`` (from the start when the start opens
it) and with ``w_CFG = 0`` (without a cutoff, then with HiGHS's ``objective_bound`` =
CUTOFF), and prints status, objective, bound, nodes and wall seconds of each: what two
concurrent HiGHS runs, one per branch, would cost.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace

import numpy as np

sys.path.insert(0, "results/milp/exact-r3-probe")
from explore import fixed_of
from structure import run_line

from hetserve.instances.solver_log import new_highs
from hetserve.milp.highs_run import set_start
from hetserve.milp.solve import MilpParams, _configure, _start_vector

if __name__ == "__main__":
    spec, cfg, cutoff = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    inst, warm, fm = fixed_of(spec)
    am = fm.am
    k = int(np.flatnonzero(am.index.cfg == cfg)[0])
    wc, rc = am.cols["w"].start + k, am.cols["r"].start + k
    start = _start_vector(am, inst, fm.warm_start)
    for value, bound in ((1, None), (0, None), (0, cutoff)):
        lb, ub = am.lb.copy(), am.ub.copy()
        lb[wc] = ub[wc] = value
        if value:
            lb[rc] = max(lb[rc], 1)
        else:
            ub[rc] = 0
        h = new_highs()
        _configure(h, MilpParams(time_limit_s=120.0), 0, True)
        h.passModel(replace(am, lb=lb, ub=ub).to_highs_lp())
        if (start[wc] > 0.5) == bool(value):
            set_start(h, start)
        if bound is not None:
            h.setOptionValue("objective_bound", bound)
        print(f"w_{cfg} = {value}, cutoff {bound}: " + run_line(h, time.perf_counter()), flush=True)
