"""What HiGHS's root cuts are made of (round 13): the fixed model of ``milp.solve`` for a
spec, HiGHS's root cuts on it (``explore.root_cuts_of``), the LP with the cuts, and for the
cuts with a non-zero dual there: their column blocks (r, w, o, u, x), how many
configurations, query types and models they touch, and how much of the LP's lift from the
fixed LP (without cuts) to the cut LP each family explains (LP with only that family).

``PYTHONPATH=. python results/milp/exact-r13-cuts/classify.py 12x12x12-s0``
"""
from __future__ import annotations

import json
import os
import sys
from collections import Counter

import numpy as np
import scipy.sparse as sp

from hetserve.milp.cutpool import with_cuts

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "exact-r3-probe"))
from explore import lp_solution as lp
from explore import root_cuts_of


def block_of(am):  # type: ignore[no-untyped-def]
    kind = np.empty(am.n_cols, dtype=object)
    for name, sl in am.cols.items():
        kind[sl] = name
    return kind


if __name__ == "__main__":
    spec = sys.argv[1]
    inst, fm, cuts, st = root_cuts_of(spec)
    am = fm.am
    idx = am.index
    kind = block_of(am)
    # configuration / type / model of every column
    n_cfg = len(idx.cfg)
    cfg_of = np.full(am.n_cols, -1)
    typ_of = np.full(am.n_cols, -1)
    cfg_of[am.cols["r"]] = np.arange(n_cfg)
    cfg_of[am.cols["w"]] = np.arange(n_cfg)
    xs = am.cols["x"]
    cfg_of[xs] = idx.rk
    typ_of[xs] = idx.ri
    typ_of[am.cols["u"]] = np.arange(am.cols["u"].stop - am.cols["u"].start)
    base, _, _ = lp(am)
    A = sp.csr_matrix(cuts.A)
    amc = with_cuts(am, A, cuts.lo, cuts.hi)
    cut_lp, x, dual = lp(amc)
    cd = dual[am.n_rows:]
    tight = np.flatnonzero(np.abs(cd) > 1e-9)
    row = {"spec": spec, "fixed_lp": base, "cut_lp": cut_lp, "root_bound": st.get("root_bound"),
           "cuts": int(A.shape[0]), "tight": len(tight)}
    fams: Counter[str] = Counter()
    desc = []
    for k in tight:
        cols = A.indices[A.indptr[k]:A.indptr[k + 1]]
        vals = A.data[A.indptr[k]:A.indptr[k + 1]]
        blocks = Counter(kind[cols])
        cfgs = set(cfg_of[cols][cfg_of[cols] >= 0].tolist())
        types = set(typ_of[cols][typ_of[cols] >= 0].tolist())
        fam = "+".join(sorted(blocks))
        fams[fam] += 1
        desc.append({"blocks": dict(blocks), "configs": len(cfgs), "types": len(types),
                     "dual": float(cd[k]), "nnz": len(cols),
                     "signs": {b: [int((vals[kind[cols] == b] > 0).sum()),
                                   int((vals[kind[cols] == b] < 0).sum())] for b in blocks}})
    row["families"] = dict(fams)
    # lift explained by each family alone
    lifts = {}
    for fam in fams:
        sel = [k for k in tight
               if "+".join(sorted(Counter(kind[A.indices[A.indptr[k]:A.indptr[k + 1]]]))) == fam]
        v, _, _ = lp(with_cuts(am, A[sel], cuts.lo[sel], cuts.hi[sel]))
        lifts[fam] = v
    row["lp_with_family_only"] = lifts
    v, _, _ = lp(with_cuts(am, A[tight], cuts.lo[tight], cuts.hi[tight]))
    row["lp_tight_only"] = v
    print(json.dumps(row))
    desc.sort(key=lambda d: -abs(d["dual"]))
    for d in desc[:25]:
        print(json.dumps(d))
