"""Lever 2 of round 3 (docs/milp.md "Tightenings"): the error-mixing inequalities
Σ_{b bad, e_ib − ε_i ≥ δ} x_ib ≤ Σ_{g good} (ε_i − e_ig)/(δ + ε_i − e_ig) · w_g, separated on
the LP of the model ``solve`` hands HiGHS (auto start cached by explore.py), then HiGHS on
that model with and without the separated rows, alternated.

``PYTHONPATH=. python results/milp/exact-r3-probe/mixcut.py SPECS ROUNDS REPEATS [HIGHS_LIMIT_S]``
(the fixed model is built with the 60 s solve's shares; HiGHS then gets HIGHS_LIMIT_S, 60 by
default: under load give it more, and compare CPU seconds).
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace

import highspy
import numpy as np
import scipy.sparse as sp

from benchmarks.milp_starts import build
from hetserve.instances.evaluate import evaluate_arrays
from hetserve.instances.solver_log import new_highs
from hetserve.milp.highs_model import ArrayModel
from hetserve.milp.highs_run import configure, run_checked
from hetserve.milp.solve import MilpParams, fixed_model

sys.path.insert(0, os.path.dirname(__file__))
from explore import highs_from_start, start_of


def separate(am: ArrayModel, v: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Most violated member per error/avg-delay row at the point v."""
    idx = am.index
    col_w = np.arange(am.cols["w"].start, am.cols["w"].stop)
    xs = am.cols["x"].start
    A = am.A.tocsr()
    out = []
    for b in ("err", "avgdelay"):
        if b not in am.row_blocks:
            continue
        sl = am.row_blocks[b]
        for r in range(sl.start, sl.stop):
            cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
            vals = A.data[A.indptr[r]:A.indptr[r + 1]]
            k = idx.rk[cols - xs]
            bad = vals > 1e-12
            good = ~bad
            gains = -vals[good]
            best = None
            for delta in np.unique(vals[bad]):
                sel = bad & (vals >= delta)
                viol = v[cols[sel]].sum() - (gains / (delta + gains) * v[col_w[k[good]]]).sum()
                if viol > 1e-4 and (best is None or viol > best[0]):
                    best = (viol, delta)
            if best:
                sel = bad & (vals >= best[1])
                out.append((np.concatenate([cols[sel], col_w[k[good]]]),
                            np.concatenate([np.ones(int(sel.sum())),
                                            -gains / (best[1] + gains)]), best[0]))
    return out


if __name__ == "__main__":
    rounds, reps = int(sys.argv[2]), int(sys.argv[3])
    highs_limit = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
    for spec in sys.argv[1].split(","):
        os.environ["HETSERVE_MILP_PROBING"] = "0"
        inst = build(spec)
        warm = start_of(spec)
        upper = evaluate_arrays(inst, *warm.to_arrays(inst)).objective
        params = MilpParams(time_limit_s=60.0)
        fm = fixed_model(inst, params, 0, upper, warm, time.perf_counter())
        am = fm.am
        h = new_highs()
        configure(h, time_limit_s=120, mip_rel_gap=0.0, threads=1, seed=0,
                  options=(("solver", "simplex"), ("presolve", "off")))
        h.passModel(replace(am, integer=np.zeros_like(am.integer)).to_highs_lp())
        run_checked(h)
        lp0 = h.getInfo().objective_function_value
        rows: list[tuple[np.ndarray, np.ndarray, float]] = []
        lps = [lp0]
        for _ in range(rounds):
            new = separate(am, np.asarray(h.getSolution().col_value))
            if not new:
                break
            for c, v, _ in new:
                h.addRow(-highspy.kHighsInf, 0.0, len(c), c.astype(np.int32), v)
            rows += new
            run_checked(h)
            lps.append(h.getInfo().objective_function_value)
        print(json.dumps({"spec": spec, "U": fm.upper, "lp": lps, "cuts": len(rows)}), flush=True)
        if not rows:
            continue
        m = len(rows)
        ri = np.concatenate([np.full(len(c), j) for j, (c, _, _) in enumerate(rows)])
        ci = np.concatenate([c for c, _, _ in rows])
        vv = np.concatenate([v for _, v, _ in rows])
        extra = sp.coo_matrix((vv, (ri, ci)), shape=(m, am.n_cols))
        am2 = replace(am, A=sp.vstack([am.A, extra]).tocsc(),
                      row_lo=np.concatenate([am.row_lo, np.full(m, -np.inf)]),
                      row_hi=np.concatenate([am.row_hi, np.zeros(m)]))
        for rep in range(reps):
            pairs = (("without", am), ("with", am2))
            for name, model in (pairs if rep % 2 == 0 else pairs[::-1]):
                print(json.dumps({"spec": spec, "cuts": name, "rep": rep,
                                  **highs_from_start(model, inst, replace(
                                      params, time_limit_s=highs_limit), fm.warm_start)}),
                      flush=True)
