"""Lever A by hand (docs/milp.md §Reductions, 6): the fixed model of ``milp.solve``, HiGHS
until its root cuts are out (interrupted there), the LP with the cut rows, the fixing
from its duals, and how much of the model that drops.

``PYTHONPATH=. python results/milp/exact-r4-cutpool/explore.py SPECS`` (auto start cached
in /tmp by results/milp/exact-r3-probe/explore.py); one JSON line per instance.
"""
from __future__ import annotations

import json
import os
import sys
import time

from benchmarks.milp_starts import build
from hetserve.instances.evaluate import evaluate_arrays
from hetserve.milp.cutpool import cut_fixing, root_cuts, with_cuts
from hetserve.milp.solve import ROOT_SETTINGS, MilpParams, _start_vector, fixed_model

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "exact-r3-probe"))
from explore import start_of

if __name__ == "__main__":
    for spec in sys.argv[1].split(","):
        inst = build(spec)
        warm = start_of(spec)
        upper = evaluate_arrays(inst, *warm.to_arrays(inst)).objective
        t0, c0 = time.perf_counter(), time.process_time()
        fm = fixed_model(inst, MilpParams(time_limit_s=60.0), 0, upper, warm, time.perf_counter())
        am = fm.am
        row = {"spec": spec, "U": fm.upper, "cols": am.n_cols, "cfg": am.index.n_cfg,
               "fixed_s": time.perf_counter() - t0, "fixed_cpu": time.process_time() - c0,
               "load": os.getloadavg()[0]}
        start = _start_vector(am, inst, fm.warm_start)
        rc, st = root_cuts(am, start, time_limit_s=300, threads=2, seed=0, mip_rel_gap=1e-4,
                           options=ROOT_SETTINGS)
        if rc is None:
            print(json.dumps({**row, "cuts": None}), flush=True)
            continue
        row.update(cuts=rc.n_cuts, cut_nnz=int(rc.A.nnz), root_bound=rc.root_bound,
                   root_s=st["seconds"], root_cpu=st["cpu_s"], root_status=st["status"])
        am_cut = with_cuts(am, rc.A, rc.lo, rc.hi)
        t1, c1 = time.perf_counter(), time.process_time()
        fix, value, col = cut_fixing(am_cut, fm.upper, seed=0, time_limit_s=120)
        row.update(lp_cut=value, lp_s=time.perf_counter() - t1, lp_cpu=time.process_time() - c1)
        if fix is not None:
            cap = fix.caps[am.index.cfg]
            row.update(L_cut=fix.bound, dropped=fix.dropped, lowered=fix.lowered,
                       room=fm.upper - fix.bound,
                       x_dropped=int((cap[am.index.rk] < 1).sum()),
                       support=int((col[am.cols["w"]] > 1e-6).sum()))
        print(json.dumps(row), flush=True)
