"""Lever B of round 4 (docs/milp.md "Tightenings"): {0,½}-cuts across types on the cover
rows. For an odd set S of cover rows (error and average-delay covers,
Σ_{c∈C_r} w_c + u_{i(r)} ≥ 1), the MIR of ½ × their sum is
Σ_c ⌈k_c/2⌉ w_c + Σ_i k^u_i u_i ≥ (|S|+1)/2, k_c = #{r ∈ S : c ∈ C_r}, k^u_i = #{r ∈ S : i(r) = i}.
Largest violation at the LP point of the fixed model (the one ``milp.solve`` hands HiGHS),
brute force over |S| = 3, 5 (a negative number: no cut of that size is violated).

``PYTHONPATH=. python results/milp/exact-r4-cutpool/zerohalf.py SPECS`` (auto start cached in
/tmp by results/milp/exact-r3-probe/explore.py).
"""
from __future__ import annotations

import itertools
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "exact-r3-probe"))
from explore import fixed_lp, fixed_of

if __name__ == "__main__":
    for spec in sys.argv[1].split(","):
        inst, _warm, fm = fixed_of(spec)
        am = fm.am
        v = fixed_lp(am)
        A = am.A.tocsr()
        ws, us = am.cols["w"], am.cols["u"]
        rows = [r for b in ("cover_err", "cover_delay") if b in am.row_blocks
                for r in range(am.row_blocks[b].start, am.row_blocks[b].stop)]
        support = np.nonzero(v[ws] > 1e-9)[0]
        # incidence of each cover row on the support's w and on u
        Mw = np.zeros((len(rows), len(support)))
        Mu = np.zeros((len(rows), us.stop - us.start))
        for k, r in enumerate(rows):
            cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
            pos = {int(c): j for j, c in enumerate(support + ws.start)}
            for c in cols:
                if int(c) in pos:
                    Mw[k, pos[int(c)]] = 1
                elif us.start <= c < us.stop:
                    Mu[k, c - us.start] = 1
        w, u = v[ws][support], v[us]
        report = []
        for size in (3, 5):
            best, arg = -np.inf, ()
            combos = np.array(list(itertools.combinations(range(len(rows)), size)))
            for chunk in np.array_split(combos, max(1, len(combos) // 20000)):
                kw = Mw[chunk].sum(axis=1)
                ku = Mu[chunk].sum(axis=1)
                viol = (size + 1) / 2 - np.ceil(kw / 2) @ w - ku @ u
                j = int(np.argmax(viol))
                if viol[j] > best:
                    best, arg = float(viol[j]), tuple(int(rows[i]) for i in chunk[j])
            names = am.row_names()
            report.append(f"|S| = {size}: {best:.4f} on {[names[r] for r in arg]}")
        print(f"{spec}: LP {float(am.cost @ v):.3f}, {len(rows)} cover rows, "
              f"support {len(support)} (Σw {w.sum():.2f}), largest {{0,½}} LHS deficit (violation) "
              + "; ".join(report), flush=True)
