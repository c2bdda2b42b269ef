"""HiGHS's root cuts on the fixed model, cached for the analysis (docs/milp.md "Tightenings",
round 5).

``PYTHONPATH=. python results/milp/exact-r5-cutsep/getcuts.py SPECS`` builds the model
``milp.solve`` hands HiGHS (``fixed_model`` from the auto start, cached in /tmp by
results/milp/exact-r3-probe/explore.py), runs HiGHS (1 thread) until its cut-pool callback
and pickles ``(instance, fixed model, start vector, U, cuts, stats)`` to
/tmp/cutsep-SPEC.pkl; one JSON line per instance.
"""
from __future__ import annotations

import json
import os
import pickle
import sys
import time

from hetserve.milp.cutpool import root_cuts
from hetserve.milp.solve import ROOT_SETTINGS, _start_vector

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "exact-r3-probe"))
from explore import fixed_of

if __name__ == "__main__":
    for spec in sys.argv[1].split(","):
        c0 = time.process_time()
        inst, _warm, fm = fixed_of(spec)
        am = fm.am
        row = {"spec": spec, "U": fm.upper, "cols": am.n_cols, "cfg": am.index.n_cfg,
               "fixed_cpu": time.process_time() - c0, "load": os.getloadavg()[0]}
        start = _start_vector(am, inst, fm.warm_start)
        rc, st = root_cuts(am, start, time_limit_s=600, threads=1, seed=0, mip_rel_gap=1e-4,
                           options=ROOT_SETTINGS)
        row.update(cuts=None if rc is None else rc.n_cuts,
                   root_bound=None if rc is None else rc.root_bound, root_cpu=st["cpu_s"],
                   root_s=st["seconds"], load_end=os.getloadavg()[0])
        with open(f"/tmp/cutsep-{spec}.pkl", "wb") as f:
            pickle.dump((inst, am, start, fm.upper, fm.warm_start, rc, row), f)
        print(json.dumps(row), flush=True)
