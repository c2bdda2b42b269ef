"""Reduced-cost fixing (docs/milp.md §4) from the fixed model's LP with the weighted error
cover rows (milp/cuts.py), against the plain LP's (docs/milp.md "Tightenings", round 5).

``PYTHONPATH=. python results/milp/exact-r5-cutsep/fixing.py SPECS [ROUNDS]`` reads
/tmp/cutsep-SPEC.pkl (getcuts.py); for the plain LP and the LP after ROUNDS rounds
(per_row 2) it prints L, the configurations dropped / lowered by §4's fixing with the room
U − L (``milp.cutpool.cut_fixing``, certified by its own Lagrangian) and the columns left
after :func:`milp.cutpool.collapse`, with CPU seconds. HiGHS's root cuts on the same
models: ../exact-r4-cutpool/explore.jsonl.
"""
from __future__ import annotations

import json
import os
import pickle
import sys
import time

import numpy as np

from hetserve.milp.cutpool import CutRows, collapse
from hetserve.milp.cuts import separation_rounds
from hetserve.milp.reductions import Reductions
from hetserve.milp.solve import MilpParams


def main() -> None:
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    for spec in sys.argv[1].split(","):
        with open(f"/tmp/cutsep-{spec}.pkl", "rb") as f:
            _, am, start, upper, _, rc, _ = pickle.load(f)
        keep_r = start[am.cols["r"]]
        params = MilpParams()
        for variant in ("plain", "wcover"):
            c0 = time.process_time()
            if variant == "plain":
                A, lo, hi = (rc.A[:0], rc.lo[:0], rc.hi[:0])
                vals = []
            else:
                A, lo, hi, vals = separation_rounds(am, rounds, per_row=2)
            sep = time.process_time() - c0
            rs = collapse(am, CutRows(A, lo, hi, float("nan")), upper, keep_r,
                          tightening=params.tightening, reductions=Reductions(), seed=0,
                          time_limit_s=300)
            st = {k: v for k, v in rs.stats.items() if not isinstance(v, np.generic)}
            print(json.dumps({"spec": spec, "variant": variant, "U": upper, "rows": int(A.shape[0]),
                              "lp_rounds": vals, "sep_cpu": sep, **{k: (float(v) if isinstance(
                                  v, np.floating) else v) for k, v in st.items()},
                              "cpu_total": time.process_time() - c0,
                              "load": os.getloadavg()[0]}, default=float), flush=True)


if __name__ == "__main__":
    main()
