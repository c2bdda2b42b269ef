"""The per-type Dantzig-Wolfe bound, second formulation (round 13).

``pertype_dw_xlink.py`` kept the routes x in the master, tied to the patterns by equalities;
its duals were degenerate and it did not converge. Here the routes live only in the patterns:

    X_i  = the fixed model's rows restricted to type i's columns (x_i., u_i and the r, w, o of
           the configurations / models type i can use), each row side kept only where the
           columns left out cannot make it invalid, r, w, o integer (``pertype_dw_xlink``);
    master: columns r, w, o (the fixed model's bounds and costs) and lam_ip >= 0, one per
           pattern p = (x^p, u^p, r^p, w^p, o^p) in X_i, of cost cost_x . x^p + cost_u u^p;
           rows: every row of the fixed model with each type's x, u replaced by
           sum_p lam_ip (x^p, u^p); per type, r >= sum_p lam_ip r^p, w >= ..., o >= ...;
           sum_p lam_ip = 1.

Every integer point of the fixed model gives a master point (one pattern per type: the
point restricted to the type), so the master's LP over conv(X_i) is a relaxation of the MILP;
it contains the fixed model's LP constraints, so it is at least as strong.

Bound: the Lagrangian dual function at row duals y (signs as HiGHS returns them),

    L(y) = sum_rows y_k side_k  +  sum_{j in r,w,o} min_{l_j <= v <= u_j} d_j v
           + sum_i min_{v in X_i} [ (cost - A^T y)_{x_i,u_i} . v + y_link . (r, w, o)^v ],

with d_j the master reduced cost of column j (the conv rows' duals excluded from the sides),
is valid at every y with the master's sign pattern; the pricing MIPs are solved to a proven
bound. Stabilisation: the duals priced are a convex combination of the best-bound duals
(started at the fixed LP's duals, linking duals 0: L = the LP at once) and the master's.

``PYTHONPATH=. python results/milp/exact-r13-cuts/pertype_dw.py 12x12x12-s0 [iterations]``
(env ``DW_ALPHA``, default 0.7), one JSON line per iteration, then a summary line.
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

from hetserve.instances.solver_log import new_highs
from hetserve.milp.highs_run import configure, run_checked
from hetserve.milp.solve import _start_vector

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "exact-r3-probe"))
from explore import lp_solution
from pertype_dw_xlink import setup


def main(spec: str, max_iter: int) -> None:
    t0 = time.perf_counter()
    inst, fm, am, pricers = setup(spec)
    n_types = len(pricers)
    A = am.A.tocsc()
    xs, us = am.cols["x"], am.cols["u"]
    route_cols = np.zeros(am.n_cols, dtype=bool)
    route_cols[xs] = True
    route_cols[us] = True
    keep = np.flatnonzero(~route_cols)  # master columns: r, w, o
    # per type: which of its pricer columns are x/u (in the pattern's cost and rows) and
    # which are r/w/o (linked)
    own = []
    for i, p in enumerate(pricers):
        is_route = route_cols[p.cols]
        own.append((p.cols[is_route], p.cols[~is_route], np.flatnonzero(is_route),
                    np.flatnonzero(~is_route)))
    # ---- master: the fixed model's rows over r, w, o
    base = replace(am, integer=np.zeros_like(am.integer))
    lp = highspy.HighsLp()
    nk = len(keep)
    Ak = A[:, keep].tocsc()
    lp.num_col_, lp.num_row_ = nk, am.n_rows
    lp.col_cost_ = base.cost[keep]
    lp.col_lower_, lp.col_upper_ = base.lb[keep], base.ub[keep]
    lp.row_lower_, lp.row_upper_ = base.row_lo, base.row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = nk, am.n_rows
    lp.a_matrix_.start_ = Ak.indptr.astype(np.int32)
    lp.a_matrix_.index_ = Ak.indices.astype(np.int32)
    lp.a_matrix_.value_ = Ak.data
    h = new_highs()
    configure(h, time_limit_s=600, mip_rel_gap=0.0, threads=1, seed=0,
              options=(("solver", "simplex"), ("presolve", "off")))
    h.passModel(lp)
    pos = -np.ones(am.n_cols, dtype=int)
    pos[keep] = np.arange(nk)
    row_count = am.n_rows
    link_rows, conv_rows = [], []
    for _i, (_xc, lc, _xi, _li) in enumerate(own):
        n = len(lc)
        h.addRows(n, np.zeros(n), np.full(n, np.inf), n, np.arange(n, dtype=np.int32),
                  pos[lc].astype(np.int32), np.ones(n))
        link_rows.append(np.arange(row_count, row_count + n))
        row_count += n
        h.addRows(1, np.array([1.0]), np.array([1.0]), 0, np.array([0], dtype=np.int32),
                  np.array([], dtype=np.int32), np.array([]))
        conv_rows.append(row_count)
        row_count += 1

    def add_pattern(i: int, v: np.ndarray) -> None:
        xc, _lc, xi, li = own[i]
        vx = v[xi]
        col = (A[:, xc] @ vx) if len(xc) else np.zeros(am.n_rows)
        col = np.asarray(col).ravel()
        nz = np.flatnonzero(np.abs(col) > 1e-12)
        vl = v[li]
        lnz = np.flatnonzero(np.abs(vl) > 1e-12)
        rows = np.concatenate([nz, link_rows[i][lnz], [conv_rows[i]]]).astype(np.int32)
        vals = np.concatenate([col[nz], -vl[lnz], [1.0]])
        cost = float(am.cost[xc] @ vx)
        st = h.addCol(cost, 0.0, np.inf, len(rows), rows, vals)
        assert st != highspy.HighsStatus.kError, st

    start = np.asarray(_start_vector(am, inst, fm.warm_start), dtype=float)
    for i, p in enumerate(pricers):
        v = np.zeros(len(p.cols))
        v[list(p.cols).index(us.start + i)] = 1.0
        add_pattern(i, v)
        add_pattern(i, start[p.cols])

    lo_all = np.concatenate([base.row_lo, np.zeros(row_count - am.n_rows)])
    hi_all = np.concatenate([base.row_hi, np.full(row_count - am.n_rows, np.inf)])
    for i in range(n_types):
        lo_all[conv_rows[i]] = hi_all[conv_rows[i]] = 1.0
    conv_mask = np.zeros(row_count, dtype=bool)
    conv_mask[conv_rows] = True
    # link-row incidence on the master's r, w, o columns (for their reduced costs)
    lr = np.concatenate(link_rows)
    lc_all = np.concatenate([pos[o[1]] for o in own])
    Link = sp.csr_matrix((np.ones(len(lr)), (lr, lc_all)), shape=(row_count, nk))

    last_rwo = [np.zeros(nk)]

    def lagrangian(y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        side = np.where(y > 0, lo_all, hi_all)
        side = np.where(np.isfinite(side), side, 0.0)
        total = float(y[~conv_mask] @ side[~conv_mask])
        d = base.cost[keep] - Ak.T @ y[:am.n_rows] - Link.T @ y
        v_rwo = np.where(d >= 0, base.lb[keep], base.ub[keep])
        total += float(d @ v_rwo)
        last_rwo[0] = v_rwo
        red = base.cost - A.T @ y[:am.n_rows]  # reduced costs of x, u over the fixed rows
        patterns = []
        for i, p in enumerate(pricers):
            xc, _lc, xi, li = own[i]
            cost = np.zeros(len(p.cols))
            cost[xi] = red[xc]
            cost[li] = y[link_rows[i]]
            bound_i, _obj, v = p.price(cost)
            total += bound_i
            patterns.append(v)
        return total, patterns

    # best-bound duals start at the fixed LP's (linking and conv duals 0)
    lp_value, _x, y_lp = lp_solution(am)
    y_best = np.concatenate([y_lp, np.zeros(row_count - am.n_rows)])
    best, _ = lagrangian(y_best)
    print(json.dumps({"iter": -1, "fixed_lp": lp_value, "lagrangian_at_lp_duals": best}), flush=True)
    if os.environ.get("DW_MODE") == "subgradient":
        subgradient(y_best, best, lagrangian, last_rwo, own, link_rows, conv_mask, lo_all, hi_all,
                    Ak, A, am, pos, float(fm.upper), max_iter, t0, spec, lp_value)
        return
    alpha = float(os.environ.get("DW_ALPHA", "0.7"))
    val = float("nan")
    it = -1
    for it in range(max_iter):
        run_checked(h)
        val = h.getInfo().objective_function_value
        y_master = np.asarray(h.getSolution().row_dual)
        added = 0
        for y in (alpha * y_best + (1 - alpha) * y_master, y_master):
            bound_y, patterns = lagrangian(y)
            if bound_y > best:
                best, y_best = bound_y, y.copy()
            red = base.cost - A.T @ y_master[:am.n_rows]
            for i, v in enumerate(patterns):
                xc, _lc, xi, li = own[i]
                d = float(red[xc] @ v[xi] + y_master[link_rows[i]] @ v[li] - y_master[conv_rows[i]])
                if d < -1e-7:
                    add_pattern(i, v)
                    added += 1
            if added:
                break
        print(json.dumps({"iter": it, "master": val, "bound": best, "added": added,
                          "s": round(time.perf_counter() - t0, 1)}), flush=True)
        if added == 0:
            break
    print(json.dumps({"spec": spec, "U": float(fm.upper), "fixed_lp": lp_value, "master": val,
                      "bound": best, "iterations": it + 1, "converged": added == 0,
                      "seconds": time.perf_counter() - t0}))


def subgradient(y, best, lagrangian, last_rwo, own, link_rows, conv_mask, lo_all, hi_all,  # type: ignore[no-untyped-def]
                Ak, A, am, pos, upper, max_iter, t0, spec, lp_value):
    """Projected subgradient ascent on L(y) from the fixed LP's duals (Polyak steps towards
    ``upper``; after 5 iterations without a better bound the step factor is halved and the
    ascent restarts from the best duals)."""
    theta, stall = float(os.environ.get("DW_THETA", "0.1")), 0
    y_best = y.copy()
    it = -1
    for it in range(max_iter):
        value, patterns = lagrangian(y)
        if value > best + 1e-9:
            best, y_best, stall = value, y.copy(), 0
        else:
            stall += 1
            if stall >= 5:  # halve the step and go back to the best duals
                theta, stall = theta / 2, 0
                y = y_best.copy()
                continue
        # row activities of the minimiser: fixed rows, then each type's link rows
        act = np.zeros(len(lo_all))
        act[:am.n_rows] = Ak @ last_rwo[0]
        for i, v in enumerate(patterns):
            xc, lc, xi, li = own[i]
            act[:am.n_rows] += A[:, xc] @ v[xi]
            act[link_rows[i]] += last_rwo[0][pos[lc]] - v[li]
        g = np.where(y > 0, lo_all - act, np.where(y < 0, hi_all - act, 0.0))
        at0 = y == 0
        g = np.where(at0 & np.isfinite(lo_all) & (lo_all - act > 0), lo_all - act, g)
        g = np.where(at0 & np.isfinite(hi_all) & (act - hi_all > 0), hi_all - act, g)
        g[~np.isfinite(g)] = 0.0
        g[conv_mask] = 0.0
        norm = float(g @ g)
        if norm < 1e-12:
            break
        y = y + theta * (upper - value) / norm * g
        y = np.where(~np.isfinite(lo_all) & (y > 0), 0.0, y)
        y = np.where(~np.isfinite(hi_all) & (y < 0), 0.0, y)
        print(json.dumps({"iter": it, "L": value, "bound": best, "theta": theta,
                          "s": round(time.perf_counter() - t0, 1)}), flush=True)
        if theta < 1e-4:
            break
    print(json.dumps({"spec": spec, "U": upper, "fixed_lp": lp_value, "bound": best,
                      "iterations": it + 1, "mode": "subgradient",
                      "seconds": time.perf_counter() - t0}))



if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200)
