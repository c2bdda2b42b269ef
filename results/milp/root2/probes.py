"""LP probes on the model ``milp.solve`` hands HiGHS (docs/milp.md "Tightenings", "Root settings").

``PYTHONPATH=. python results/milp/root2/probes.py 12x12x12-s0,20x20x20-s1`` builds, per
instance, the auto start, the reductions and the column-generation fixing as ``solve`` does,
then prints the fixed model's LP relaxation and the LP with each probe (printed only; the
numbers are quoted in summary.md):

* how many configurations the LP opens, Σ w, Σ r, and the start's open configurations;
* VUB coefficients below 1 before and after the fixing;
* ``cover-no-u``: the error-cover rows without ``u_i`` (valid when ζ_i < 1);
* ``x-o``: model-level linking rows Σ_{c of j} x_ic ≤ o_j;
* ``K``: the open count Σ_c w_c bounded to ≤ 1, ≤ 2, ≥ 3, ≥ 4.
"""
from __future__ import annotations

import dataclasses
import sys

import numpy as np
import scipy.sparse as sp

from benchmarks.milp_starts import build
from hetserve.cli.methods import MethodSettings, _agh, auto_start
from hetserve.instances.evaluate import evaluate_arrays
from hetserve.milp.fixing import colgen_caps
from hetserve.milp.highs_model import ArrayModel, build_arrays
from hetserve.milp.highs_run import new_highs
from hetserve.milp.index import Tightening, make_index
from hetserve.milp.reductions import Reductions


def lp_value(am: ArrayModel) -> tuple[float, np.ndarray]:
    h = new_highs()
    h.setOptionValue("output_flag", False)
    lp = am.to_highs_lp()
    lp.integrality_ = []
    h.passModel(lp)
    h.run()
    return h.getInfo().objective_function_value, np.array(h.getSolution().col_value)


def with_rows(am: ArrayModel, rows: sp.spmatrix, lo: np.ndarray, hi: np.ndarray) -> ArrayModel:
    return dataclasses.replace(am, A=sp.vstack([am.A, rows]).tocsc(),
                               row_lo=np.concatenate([am.row_lo, lo]),
                               row_hi=np.concatenate([am.row_hi, hi]))


def probe(spec: str) -> None:
    inst = build(spec)
    name = auto_start(inst)
    start = _agh(inst, MethodSettings(), fleet_mip=name == "agh-fleet")
    r_start = start.solution.to_arrays(inst)[0]
    upper = evaluate_arrays(inst, *start.solution.to_arrays(inst)).objective
    tg, red = Tightening(), Reductions()
    idx = make_index(inst, tg, red, upper)
    fixing = colgen_caps(build_arrays(inst, tightening=tg, index=idx), upper, time_limit_s=30)
    assert fixing is not None
    fx = make_index(inst, tg, red, upper, fixing.caps, reduced=idx.reduced)
    am = build_arrays(inst, tightening=tg, index=fx)
    v0, sol = lp_value(am)
    w, r = sol[am.cols["w"]], sol[am.cols["r"]]
    print(f"{spec}: start {name} {upper:.3f} (open {int((r_start > 0).sum())}, "
          f"replicas {int(r_start.sum())}); fixing L {fixing.bound:.3f}; fixed LP {v0:.3f}: "
          f"w>0 on {int((w > 1e-6).sum())}, Σw {w.sum():.2f}, Σr {r.sum():.2f}")
    print(f"  VUB coef < 1: {int((fx.link_coef < 1 - 1e-9).sum())} of {len(fx.link_coef)} routes "
          f"(before the fixing {int((idx.link_coef < 1 - 1e-9).sum())} of {len(idx.link_coef)})")
    # cover rows without u_i where ζ_i < 1
    zeta = np.array([q.max_unmet for q in inst.query_types])
    A = am.A.tocsr().copy()
    ucols = am.cols["u"]
    block = am.row_blocks.get("cover_err")
    if block is not None:
        for row in range(block.start, block.stop):
            for k in range(A.indptr[row], A.indptr[row + 1]):
                c = A.indices[k]
                if ucols.start <= c < ucols.stop and zeta[c - ucols.start] < 1:
                    A.data[k] = 0.0
        A.eliminate_zeros()
        print(f"  cover-no-u: {lp_value(dataclasses.replace(am, A=A.tocsc()))[0]:.3f}")
    # Σ_{c of j} x_ic ≤ o_j per (type, model)
    n_models = len(fx.models)
    key = fx.ri * n_models + fx.cfg_model_pos[fx.rk]
    keys, pos = np.unique(key, return_inverse=True)
    n = len(keys)
    xcols = np.arange(am.cols["x"].start, am.cols["x"].stop)
    ocols = am.cols["o"].start + keys % n_models
    rows = sp.coo_matrix((np.concatenate([np.ones(len(xcols)), -np.ones(n)]),
                          (np.concatenate([pos, np.arange(n)]), np.concatenate([xcols, ocols]))),
                         shape=(n, am.n_cols))
    print(f"  x-o ({n} rows): {lp_value(with_rows(am, rows, np.full(n, -np.inf), np.zeros(n)))[0]:.3f}")
    # the open count K = Σ w_c
    wcols = np.arange(am.cols["w"].start, am.cols["w"].stop)
    count = sp.coo_matrix((np.ones(len(wcols)), (np.zeros(len(wcols)), wcols)), shape=(1, am.n_cols))
    for lo, hi in [(0.0, 1.0), (0.0, 2.0), (3.0, np.inf), (4.0, np.inf)]:
        v = lp_value(with_rows(am, count, np.array([lo]), np.array([hi])))[0]
        print(f"  K in [{lo:g}, {hi:g}]: {v:.3f}")


if __name__ == "__main__":
    for s in sys.argv[1].split(","):
        probe(s)
