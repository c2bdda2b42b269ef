"""The weighted error cover (milp/cuts.py) in separation rounds on the fixed model's LP,
against the plain LP and HiGHS's root bound (docs/milp.md "Tightenings", round 5).

``PYTHONPATH=. python results/milp/exact-r5-cutsep/rounds.py SPECS [ROUNDS] [PER_ROW]``;
the fixed model and HiGHS's root bound come from /tmp/cutsep-SPEC.pkl (getcuts.py) when
present, else the model is built here (auto start cached by exact-r3-probe/explore.py)
and the root bound is left out. One JSON line per instance.
"""
from __future__ import annotations

import json
import os
import pickle
import sys
import time
from dataclasses import replace

import numpy as np

from hetserve.instances.solver_log import new_highs
from hetserve.milp.cuts import weighted_cover_cuts
from hetserve.milp.highs_run import configure, run_checked

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "exact-r3-probe"))


def load(spec: str):  # type: ignore[no-untyped-def]
    path = f"/tmp/cutsep-{spec}.pkl"
    if os.path.exists(path):
        with open(path, "rb") as f:
            _, am, _, U, _, rc, _ = pickle.load(f)
        return am, U, (None if rc is None else rc.root_bound)
    from explore import fixed_of
    _, _, fm = fixed_of(spec)
    return fm.am, fm.upper, None


def main() -> None:
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    per_row = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    for spec in sys.argv[1].split(","):
        am, U, root = load(spec)
        h = new_highs()
        configure(h, time_limit_s=600, mip_rel_gap=0.0, threads=1, seed=0,
                  options=(("solver", "simplex"), ("presolve", "off")))
        h.passModel(replace(am, integer=np.zeros_like(am.integer)).to_highs_lp())
        c0 = time.process_time()
        run_checked(h)
        plain = float(h.getInfo().objective_function_value)
        lp_cpu = time.process_time() - c0
        vals, sep_cpu, added = [plain], 0.0, 0
        c1 = time.process_time()
        for _ in range(rounds):
            v = np.asarray(h.getSolution().col_value)
            c2 = time.process_time()
            A, lo, hi = weighted_cover_cuts(am, v, per_row=per_row)
            sep_cpu += time.process_time() - c2
            if A.shape[0] == 0:
                break
            h.addRows(A.shape[0], lo, hi, A.nnz, A.indptr[:-1].astype(np.int32),
                      A.indices.astype(np.int32), A.data)
            added += A.shape[0]
            run_checked(h)
            vals.append(float(h.getInfo().objective_function_value))
        row = {"spec": spec, "U": U, "cols": am.n_cols, "plain": plain, "rounds": vals,
               "final": vals[-1], "cuts": added, "highs_root": root,
               "closed_of_root": (None if root is None else
                                  (vals[-1] - plain) / (root - plain)),
               "lp_cpu": lp_cpu, "rounds_cpu": time.process_time() - c1, "sep_cpu": sep_cpu,
               "load": os.getloadavg()[0]}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
