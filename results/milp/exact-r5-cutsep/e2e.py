"""HiGHS on the fixed model with and without the weighted error cover rows added before it
starts (docs/milp.md "Tightenings", round 5), alternated in one process.

``PYTHONPATH=. python results/milp/exact-r5-cutsep/e2e.py SPECS [REPEATS] [ROUNDS] [LIMIT_S]``
reads /tmp/cutsep-SPEC.pkl (getcuts.py: the model ``milp.solve`` hands HiGHS and its start),
runs HiGHS configured as ``milp.solve`` does (1 thread, from the start) on it, then on it
plus the rows of ROUNDS separation rounds (``milp.cuts.separation_rounds``, per_row 2,
rows slack at the last LP dropped), and (``collapse``) on the model rebuilt over the
reduced-cost fixing of §4 from the LP with those rows, with the rows mapped onto it
(``milp.cutpool.collapse``; the start's configurations kept). The separation's and the
fixing's CPU are counted in ``cpu_total``.
"""
from __future__ import annotations

import json
import os
import pickle
import sys
import time

from hetserve.milp.cutpool import CutRows, collapse, with_cuts
from hetserve.milp.cuts import separation_rounds
from hetserve.milp.reductions import Reductions
from hetserve.milp.solve import MilpParams, _start_vector

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "exact-r3-probe"))
from explore import highs_from_start


def main() -> None:
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    limit = float(sys.argv[4]) if len(sys.argv) > 4 else 150.0
    params = MilpParams(time_limit_s=limit, threads=1)
    variants = tuple(os.environ.get("VARIANTS", "default,cuts,collapse").split(","))
    for spec in sys.argv[1].split(","):
        with open(f"/tmp/cutsep-{spec}.pkl", "rb") as f:
            inst, am, _, upper, warm, _, _ = pickle.load(f)
        for rep in range(repeats):
            for variant in variants:
                c0, t0 = time.process_time(), time.perf_counter()
                model, extra = am, {}
                if variant in ("cuts", "collapse"):
                    A, lo, hi, vals = separation_rounds(am, rounds, per_row=2)
                    model = with_cuts(am, A, lo, hi)
                    extra = {"rows": int(A.shape[0]), "lp_plain": vals[0], "lp_cuts": vals[-1],
                             "sep_cpu": time.process_time() - c0}
                if variant == "collapse":
                    keep_r = _start_vector(am, inst, warm)[am.cols["r"]]
                    rs = collapse(am, CutRows(A, lo, hi, float("nan")), upper, keep_r,
                                  tightening=params.tightening, reductions=Reductions(),
                                  seed=0, time_limit_s=limit)
                    model = rs.am
                    extra.update(cols=model.n_cols, cols_before=am.n_cols,
                                 L_cut=rs.stats.get("L_cut"),
                                 fix_cpu=time.process_time() - c0 - extra["sep_cpu"])
                res = highs_from_start(model, inst, params, warm)
                print(json.dumps({"spec": spec, "rep": rep, "variant": variant, "U": upper,
                                  **extra, **res, "cpu_total": time.process_time() - c0,
                                  "wall_total": time.perf_counter() - t0}), flush=True)


if __name__ == "__main__":
    main()
