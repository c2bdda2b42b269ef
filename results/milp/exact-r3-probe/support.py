"""The fixed model's LP support, each configuration probed both ways (w_c = 1 and w_c = 0),
against the start's cost U (docs/milp.md §Reductions, 5): can probing move the LP bound?
The same for each model the LP stores (o_j = 1 / o_j = 0).

``PYTHONPATH=. python results/milp/exact-r3-probe/support.py SPECS`` (auto start cached in
/tmp by explore.py); output quoted in support.txt. Then the largest violation of the basic
odd-cycle inequality of facility location, Σ_edges x − Σ_{c in cycle} w_c ≤ (k − 1)/2 over
cycles of k = 3, 5 support configurations (each edge's client chosen freely, not forced
distinct: an upper bound on the true violation).
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from dataclasses import replace

import numpy as np

from benchmarks.milp_starts import build
from hetserve.instances.evaluate import evaluate_arrays
from hetserve.instances.solver_log import new_highs
from hetserve.milp.highs_run import configure, run_checked
from hetserve.milp.solve import MilpParams, fixed_model

sys.path.insert(0, os.path.dirname(__file__))
from explore import start_of


def odd_cycle(x_by_type: np.ndarray, w: np.ndarray, support: np.ndarray) -> tuple[float, tuple]:
    best, arg = -np.inf, ()
    for k in (3, 5):
        for cs in itertools.permutations(support, k):
            if cs[0] != min(cs):
                continue
            lhs = sum((x_by_type[:, cs[j]] + x_by_type[:, cs[(j + 1) % k]]).max()
                      for j in range(k)) - w[list(cs)].sum()
            if lhs - (k - 1) / 2 > best:
                best, arg = lhs - (k - 1) / 2, cs
    return float(best), arg


if __name__ == "__main__":
    os.environ["HETSERVE_MILP_PROBING"] = "0"
    for spec in sys.argv[1].split(","):
        inst = build(spec)
        warm = start_of(spec)
        upper = evaluate_arrays(inst, *warm.to_arrays(inst)).objective
        fm = fixed_model(inst, MilpParams(time_limit_s=60.0), 0, upper, warm, time.perf_counter())
        am = fm.am
        col_w = np.arange(am.cols["w"].start, am.cols["w"].stop)
        h = new_highs()
        configure(h, time_limit_s=600, mip_rel_gap=0.0, threads=1, seed=0,
                  options=(("solver", "simplex"), ("presolve", "off")))
        h.passModel(replace(am, integer=np.zeros_like(am.integer)).to_highs_lp())
        run_checked(h)
        v = np.asarray(h.getSolution().col_value)
        idx = am.index
        xt = np.zeros((len(inst.query_types), idx.n_cfg))
        xt[idx.ri, idx.rk] = v[am.cols["x"]]
        viol, cyc = odd_cycle(xt, v[col_w], np.nonzero(v[col_w] > 1e-6)[0])
        print(f"{spec}: odd-cycle (k = 3, 5) largest LHS − RHS {viol:.3f} on configurations "
              f"{[int(idx.cfg[c]) for c in cyc]}")
        print(f"{spec}: fixed model {am.n_cols} columns, LP {h.getInfo().objective_function_value:.3f}, "
              f"U {fm.upper:.3f}")
        col_o = np.arange(am.cols["o"].start, am.cols["o"].stop)
        for m in np.nonzero(v[col_o] > 1e-6)[0]:  # each stored model, both ways
            sides = []
            for lo, hi in ((1.0, 1.0), (0.0, 0.0)):
                h.changeColBounds(int(col_o[m]), lo, hi)
                run_checked(h)
                sides.append(h.getInfo().objective_function_value
                             if h.getModelStatus().name == "kOptimal" else float("inf"))
            h.changeColBounds(int(col_o[m]), 0.0, 1.0)
            print(f"  model {int(am.index.models[m])}: o {v[col_o[m]]:.3f}, LP(o=1) {sides[0]:.2f}, "
                  f"LP(o=0) {sides[1]:.2f}", flush=True)
        for k in np.nonzero(v[col_w] > 1e-6)[0]:
            t0 = time.perf_counter()
            h.changeColBounds(int(col_w[k]), 1.0, 1.0)
            run_checked(h)
            one, it = h.getInfo().objective_function_value, h.getInfo().simplex_iteration_count
            h.changeColBounds(int(col_w[k]), 0.0, 0.0)
            run_checked(h)
            zero = h.getInfo().objective_function_value
            h.changeColBounds(int(col_w[k]), 0.0, 1.0)
            print(f"  configuration {int(am.index.cfg[k])}: w {v[col_w[k]]:.3f}, LP(w=1) {one:.2f}, "
                  f"LP(w=0) {zero:.2f} ({it} iterations for w=1; {time.perf_counter() - t0:.2f} s "
                  f"both, load {os.getloadavg()[0]:.1f})", flush=True)
