"""Are HiGHS's single-type root cuts valid for the type's own integer set X_i (round 13)?

For each tight root cut of 12x12x12 s0 whose columns all belong to one type's X_i
(``pertype_dw_xlink.Pricer``), minimise (or maximise) its left-hand side over X_i as a MIP
and compare with its bound: if X_i reaches beyond the cut, the cut uses more than type i's
own rows (other types' rows or the objective cutoff), and a per-type decomposition cannot
produce it.

``PYTHONPATH=. python results/milp/exact-r13-cuts/cut_validity.py 12x12x12-s0``
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import scipy.sparse as sp

from hetserve.milp.cutpool import with_cuts

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "exact-r3-probe"))
from explore import lp_solution, root_cuts_of
from pertype_dw_xlink import Pricer

if __name__ == "__main__":
    spec = sys.argv[1]
    inst, fm, cuts, st = root_cuts_of(spec)
    am = fm.am
    n_types = am.cols["u"].stop - am.cols["u"].start
    pricers = [Pricer(am, i) for i in range(n_types)]
    A = sp.csr_matrix(cuts.A)
    _v, _x, dual = lp_solution(with_cuts(am, A, cuts.lo, cuts.hi))
    cd = dual[am.n_rows:]
    tight = np.flatnonzero(np.abs(cd) > 1e-9)
    counts = {"tight": len(tight), "one_type": 0, "valid_for_X_i": 0, "not_valid": 0}
    for k in tight:
        cols = A.indices[A.indptr[k]:A.indptr[k + 1]]
        vals = A.data[A.indptr[k]:A.indptr[k + 1]]
        owner = [i for i, p in enumerate(pricers) if np.isin(cols, p.cols).all()]
        if not owner:
            continue
        counts["one_type"] += 1
        p = pricers[owner[0]]
        where = {c: j for j, c in enumerate(p.cols)}
        cost = np.zeros(len(p.cols))
        for c, a in zip(cols, vals):
            cost[where[c]] = a
        lo, hi = float(cuts.lo[k]), float(cuts.hi[k])
        ok = True
        row = {"cut": int(k), "type": owner[0], "lo": lo, "hi": hi}
        if np.isfinite(lo):  # min over X_i must be >= lo
            bnd, obj, _ = p.price(cost)
            row["min_X_i"] = obj
            ok &= obj >= lo - 1e-6 * max(1.0, abs(lo))
        if np.isfinite(hi):  # max over X_i must be <= hi
            bnd, obj, _ = p.price(-cost)
            row["max_X_i"] = -obj
            ok &= -obj <= hi + 1e-6 * max(1.0, abs(hi))
        counts["valid_for_X_i" if ok else "not_valid"] += 1
        row["valid"] = bool(ok)
        print(json.dumps(row), flush=True)
    print(json.dumps({"spec": spec, **counts}))
