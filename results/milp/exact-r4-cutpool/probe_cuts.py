"""Probing (milp.probing, §5) on the model collapsed by the cut LP's fixing (§6): the fixed
model of ``milp.solve``, HiGHS's root cuts (interrupted there), the collapse, then every
candidate configuration probed with ``w_c = 1`` forced on the model *with the cut rows*
against U; how many drop, how many of the cut LP's support, and the LP after.

``PYTHONPATH=. python results/milp/exact-r4-cutpool/probe_cuts.py SPECS PROBE_S`` (auto
start cached in /tmp by results/milp/exact-r3-probe/explore.py); one JSON line each.
"""
from __future__ import annotations

import json
import os
import sys

from hetserve.milp.cutpool import collapse
from hetserve.milp.probing import probe_configurations
from hetserve.milp.reductions import map_plan
from hetserve.milp.solve import MilpParams

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "exact-r3-probe"))
from explore import root_cuts_of

if __name__ == "__main__":
    probe_s = float(sys.argv[2])
    for spec in sys.argv[1].split(","):
        params = MilpParams(time_limit_s=60.0)
        inst, fm, cuts, st = root_cuts_of(spec)
        am, U = fm.am, float(fm.upper)
        row = {"spec": spec, "U": U, "load": os.getloadavg()[0], **st}
        if cuts is None:
            print(json.dumps(row), flush=True)
            continue
        r_all, x_all = fm.warm_start.to_arrays(inst)
        r_all, x_all = map_plan(am.index.reduced, r_all, x_all)
        rs = collapse(am, cuts, U, r_all[am.index.cfg], tightening=params.tightening,
                      reductions=params.reductions, seed=0, time_limit_s=300)
        row.update(rs.stats)
        new = rs.am
        r_new, _ = map_plan(new.index.reduced, *fm.warm_start.to_arrays(inst))
        order = None if rs.fixing is None or rs.fixing.d_w is None else rs.fixing.d_w[new.index.cfg]
        pr = probe_configurations(new, U, keep=r_new[new.index.cfg] > 0, order=order,
                                  time_limit_s=probe_s)
        row["probing"] = pr.stats()
        row["probe_x_dropped"] = int((pr.caps[new.index.cfg][new.index.rk] < 1).sum())
        print(json.dumps(row), flush=True)
