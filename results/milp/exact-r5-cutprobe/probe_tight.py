"""Probing (§5) on the model collapsed by the cut LP's fixing (§6) with only the cut rows
tight at the cut LP's optimum (§7), per probe iteration limit: how many configurations
drop, how many of the cut LP's support, at what CPU cost (the r4 run with all cut rows,
../exact-r4-cutpool/probe_cuts.jsonl, spent ~1 s per probe).

``PYTHONPATH=. python results/milp/exact-r5-cutprobe/probe_tight.py SPECS ITERS PROBE_S``
(ITERS: comma-separated iteration limits per probe; auto start cached in /tmp by
results/milp/exact-r3-probe/explore.py); one JSON line per spec and limit.
"""
from __future__ import annotations

import json
import os
import sys
import time

from hetserve.milp.cutpool import collapse, probe_restart
from hetserve.milp.reductions import map_plan
from hetserve.milp.solve import MilpParams

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "exact-r3-probe"))
from explore import root_cuts_of

if __name__ == "__main__":
    iters = [int(v) for v in sys.argv[2].split(",")]
    probe_s = float(sys.argv[3])
    for spec in sys.argv[1].split(","):
        params = MilpParams(time_limit_s=60.0)
        inst, fm, cuts, st = root_cuts_of(spec)
        am, U = fm.am, float(fm.upper)
        base = {"spec": spec, "U": U, "root": st}
        if cuts is None:
            print(json.dumps(base), flush=True)
            continue
        r_all, x_all = fm.warm_start.to_arrays(inst)
        r_all, _ = map_plan(am.index.reduced, r_all, x_all)
        c0 = time.process_time()
        rs = collapse(am, cuts, U, r_all[am.index.cfg], tightening=params.tightening,
                      reductions=params.reductions, seed=0, time_limit_s=300)
        base.update(collapse=rs.stats, collapse_cpu=time.process_time() - c0)
        for it in iters:
            pr = probe_restart(rs, U, r_all, tightening=params.tightening,
                               reductions=params.reductions, seed=0, time_limit_s=probe_s,
                               work=None, iteration_limit=it, rows="tight")
            print(json.dumps({**base, "iteration_limit": it, "load": os.getloadavg()[0],
                              "cut_probing": pr.stats["cut_probing"]}), flush=True)
