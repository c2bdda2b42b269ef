"""What probing can buy HiGHS at most: HiGHS on the fixed model with every probe run to the
end (no time cap) and its drops applied, against the same model without them, alternated.

``PYTHONPATH=. python results/milp/exact-r3-probe/highs_after.py SPEC[,SPEC] REPEATS``
(uses the auto start, cached in /tmp by explore.py). Prints JSON lines.
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from hetserve.milp import solve as _unused  # noqa: F401  (the package import)
from hetserve.milp.highs_model import build_arrays
from hetserve.milp.index import make_index
from hetserve.milp.probing import probe_configurations
from hetserve.milp.reductions import map_plan
from hetserve.milp.solve import MilpParams

sys.path.insert(0, os.path.dirname(__file__))
from explore import fixed_of, highs_from_start

if __name__ == "__main__":
    os.environ["HETSERVE_MILP_PROBING"] = "0"
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    for spec in sys.argv[1].split(","):
        params = MilpParams(time_limit_s=60.0)
        inst, _warm, fm = fixed_of(spec)
        am, U = fm.am, fm.upper
        r_all, x_all = fm.warm_start.to_arrays(inst)
        r_all, _ = map_plan(am.index.reduced, r_all, x_all)
        c0 = time.process_time()
        pr = probe_configurations(am, U, keep=r_all[am.index.cfg] > 0, time_limit_s=600)
        probe_cpu = time.process_time() - c0
        caps = np.minimum(fm.fixing.caps, pr.caps)
        am2 = build_arrays(inst, tightening=params.tightening, index=make_index(
            inst, params.tightening, params.reductions, U, caps, reduced=am.index.reduced))
        print(json.dumps({"spec": spec, "U": U, "probing": pr.stats(), "probe_cpu": probe_cpu,
                          "cols": [am.n_cols, am2.n_cols],
                          "cfg": [am.index.n_cfg, am2.index.n_cfg]}), flush=True)
        for rep in range(reps):
            pairs = (("without", am), ("with", am2))
            for name, model in pairs if rep % 2 == 0 else pairs[::-1]:
                print(json.dumps({"spec": spec, "probing": name, "rep": rep,
                                  **highs_from_start(model, inst, params, fm.warm_start)}),
                      flush=True)
