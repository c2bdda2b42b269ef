"""HiGHS's root cuts with and without the MIP start (round 13): the LP with the cut rows at
the end of the root, from the auto start (incumbent 386.80) and with no start and HiGHS's
heuristics off (it still finds its own incumbent). A weaker incumbent shrinks what HiGHS's
reduced-cost domain tightening removes before it separates.

``PYTHONPATH=. python results/milp/exact-r13-cuts/nocutoff.py 12x12x12-s0``
"""
from __future__ import annotations

import json
import os
import sys

import scipy.sparse as sp

from hetserve.milp.cutpool import root_cuts, with_cuts
from hetserve.milp.solve import ROOT_SETTINGS, _start_vector

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "exact-r3-probe"))
from explore import fixed_of, lp_solution

if __name__ == "__main__":
    spec = sys.argv[1]
    inst, _warm, fm = fixed_of(spec)
    am = fm.am
    for label, start, extra in (
            ("no start, heuristics off", None, (("mip_heuristic_effort", 0.0),)),
            ("auto start", _start_vector(am, inst, fm.warm_start), ())):
        cuts, st = root_cuts(am, start, time_limit_s=300, threads=2, seed=0, mip_rel_gap=1e-4,
                             options=ROOT_SETTINGS + extra)
        cut_lp = (lp_solution(with_cuts(am, sp.csr_matrix(cuts.A), cuts.lo, cuts.hi))[0]
                  if cuts is not None else None)
        print(json.dumps({"spec": spec, "run": label, "incumbent": st.get("objective"),
                          "cuts": None if cuts is None else int(cuts.A.shape[0]),
                          "cut_lp": cut_lp, "seconds": st.get("seconds")}), flush=True)
