"""Where 12x12x12 s0's gap lives: the fixed model solved with only some blocks integer
(round 14 probe). ``PYTHONPATH=. python results/milp/exact-r14-structure/relax.py SPEC``
solves the model ``milp.solve`` hands HiGHS (``explore.fixed_of``) from the start, with
(a) only ``w`` and ``o`` integer, (b) only ``r`` integer, (c) both (the model itself), and
prints status, objective, bound, nodes and wall seconds of each.
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
    inst, warm, fm = fixed_of(sys.argv[1])
    am = fm.am
    for label, blocks in (("w,o integer", ("w", "o")), ("r integer", ("r",)),
                          ("r,w,o integer (the model)", ("r", "w", "o"))):
        integer = np.zeros_like(am.integer)
        for b in blocks:
            integer[am.cols[b]] = am.integer[am.cols[b]]
        model = replace(am, integer=integer)
        h = new_highs()
        _configure(h, MilpParams(time_limit_s=120.0), 0, True)
        h.passModel(model.to_highs_lp())
        set_start(h, _start_vector(model, inst, fm.warm_start))
        print(f"{label}: " + run_line(h, time.perf_counter()), flush=True)
