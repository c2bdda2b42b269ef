"""Classify HiGHS's root cuts by shape (docs/milp.md "Tightenings", round 5).

``PYTHONPATH=. python results/milp/exact-r5-cutsep/classify.py SPECS`` reads
/tmp/cutsep-SPEC.pkl (getcuts.py), solves the fixed model's LP with all the cuts and counts,
per class, the cuts and those with a nonzero dual there, and the sum of dual × bound (the
share of the LP value the class carries; rows with a zero bound carry none, so it is only
indicative), and the LP value with only each class's cuts. Classes: ``wcover`` one query type's x and u_i
(the weighted error cover's shape, milp/cuts.py), ``single`` one type's x without u,
``multi`` x of several types, ``nox`` no x at all.
"""
from __future__ import annotations

import json
import pickle
import sys
from dataclasses import replace

import numpy as np

from hetserve.instances.solver_log import new_highs
from hetserve.milp.cutpool import with_cuts
from hetserve.milp.highs_run import configure, run_checked


def main() -> None:
    for spec in sys.argv[1].split(","):
        with open(f"/tmp/cutsep-{spec}.pkl", "rb") as f:
            _, am, _, _, _, rc, _ = pickle.load(f)
        m = with_cuts(am, rc.A, rc.lo, rc.hi)
        h = new_highs()
        configure(h, time_limit_s=600, mip_rel_gap=0.0, threads=1, seed=0,
                  options=(("solver", "simplex"), ("presolve", "off")))
        h.passModel(replace(m, integer=np.zeros_like(m.integer)).to_highs_lp())
        run_checked(h)
        dual = np.asarray(h.getSolution().row_dual)[am.n_rows:]
        names = am.col_names()
        xs, us = am.cols["x"], am.cols["u"]
        ri = am.index.ri
        out: dict[str, list[float]] = {}
        label = []
        for k in range(rc.n_cuts):
            cols = rc.A[k].indices
            xt = set(ri[cols[(cols >= xs.start) & (cols < xs.stop)] - xs.start].tolist())
            ut = set((cols[(cols >= us.start) & (cols < us.stop)] - us.start).tolist())
            cls = ("nox" if not xt else "multi" if len(xt) > 1
                   else "wcover" if ut == xt else "single")
            label.append(cls)
            bound = rc.lo[k] if dual[k] > 0 else rc.hi[k]
            c = out.setdefault(cls, [0, 0, 0.0])
            c[0] += 1
            c[1] += int(abs(dual[k]) > 1e-9)
            c[2] += float(dual[k] * bound) if abs(dual[k]) > 1e-9 else 0.0
        del names
        only = {}
        for cls in out:
            sel = np.array([lab == cls for lab in label])
            m1 = with_cuts(am, rc.A[sel], rc.lo[sel], rc.hi[sel])
            h1 = new_highs()
            configure(h1, time_limit_s=600, mip_rel_gap=0.0, threads=1, seed=0,
                      options=(("solver", "simplex"), ("presolve", "off")))
            h1.passModel(replace(m1, integer=np.zeros_like(m1.integer)).to_highs_lp())
            run_checked(h1)
            only[cls] = float(h1.getInfo().objective_function_value)
        print(json.dumps({"spec": spec, "cuts": rc.n_cuts,
                          "lp_cuts": float(h.getInfo().objective_function_value),
                          "classes": {k: {"n": v[0], "dual_nonzero": v[1],
                                          "dual_x_bound": round(v[2], 3),
                                          "lp_only_these": round(only[k], 3)}
                                      for k, v in out.items()}}), flush=True)


if __name__ == "__main__":
    main()
