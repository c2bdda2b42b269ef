"""The per-type hull bound (round 13): how far a relaxation that convexifies each query type's
own integer structure lifts the fixed model's LP.

``classify.py`` found that HiGHS's tight root cuts at 12x12x12 s0 are nearly all *per type*:
one type's routes (both signs: its demand and error rows aggregated), the replicas ``r`` and
open flags ``w`` of the configurations it uses, sometimes ``u`` and ``o``. So this probe
computes the bound of the Dantzig-Wolfe reformulation by type:

    X_i = the fixed model's rows restricted to type i's columns (x_i., u_i, and r, w, o of
          the configurations / models type i can use), each row side kept only where the
          columns left out cannot make it invalid (a <= side when the dropped coefficients
          are >= 0, a >= side when they are <= 0), with r, w, o integer.

Every integer point of the model, restricted to type i's columns, lies in X_i. The master is
the fixed model's LP plus, for each type, (x_i., u_i) = sum_p lam_ip (x^p, u^p),
r >= sum_p lam_ip r^p, w >= sum_p lam_ip w^p, o >= sum_p lam_ip o^p, sum_p lam_ip = 1, lam >= 0:
a relaxation of the MILP at least as strong as the LP. Columns by pricing each X_i as a MIP
(HiGHS, to optimality); the Lagrangian bound LP_master + sum_i min(0, reduced cost_i) is valid
at every iteration.

``PYTHONPATH=. python results/milp/exact-r13-cuts/pertype_dw_xlink.py 12x12x12-s0 [max_iter]``
(env ``DW_M``: cost of the box-step slacks, default 50; ``DW_ALPHA``: smoothing, default 0.8;
the recorded run, ``pertype_dw_xlink-12x12x12-s0-M2.jsonl``, used ``DW_M=2``. The first,
plain run of summary.md, without slacks or smoothing, was an earlier state of this file.)
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

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "exact-r3-probe"))
from explore import fixed_of

TOL = 1e-6
DEBUG = bool(os.environ.get('DW_DEBUG'))


def type_columns(am, i):  # type: ignore[no-untyped-def]
    idx = am.index
    xs = am.cols["x"]
    routes = np.flatnonzero(idx.ri == i)
    cfgs = np.unique(idx.rk[routes])
    r0, w0, o0, u0 = am.cols["r"].start, am.cols["w"].start, am.cols["o"].start, am.cols["u"].start
    # models of those configurations: the 'store' rows w_c <= o_j tie them
    A = am.A.tocsr()
    store = am.row_blocks["store"]
    models = set()
    wcols = set((w0 + cfgs).tolist())
    for k in range(store.start, store.stop):
        cols = A.indices[A.indptr[k]:A.indptr[k + 1]]
        if any(c in wcols for c in cols):
            models.update(int(c) for c in cols if o0 <= c < am.cols["o"].stop)
    return np.concatenate([xs.start + routes, [u0 + i], r0 + cfgs, w0 + cfgs,
                           np.array(sorted(models), dtype=int)]).astype(int)


def restricted_rows(am, cols):  # type: ignore[no-untyped-def]
    """Rows of ``am`` over ``cols`` only, with the sides that stay valid (module docstring)."""
    A = am.A.tocsr()
    inside = np.zeros(am.n_cols, dtype=bool)
    inside[cols] = True
    pos = -np.ones(am.n_cols, dtype=int)
    pos[cols] = np.arange(len(cols))
    lb, ub = am.lb, am.ub
    rows, lo, hi = [], [], []
    for k in range(am.n_rows):
        c = A.indices[A.indptr[k]:A.indptr[k + 1]]
        v = A.data[A.indptr[k]:A.indptr[k + 1]]
        m = inside[c]
        if not m.any():
            continue
        out_v, out_c = v[~m], c[~m]
        # range of the dropped part over the dropped columns' bounds
        dmin = float(np.sum(np.where(out_v > 0, out_v * lb[out_c], out_v * ub[out_c])))
        dmax = float(np.sum(np.where(out_v > 0, out_v * ub[out_c], out_v * lb[out_c])))
        # a.v_in + d in [lo, hi] with d in [dmin, dmax]  =>  a.v_in in [lo - dmax, hi - dmin]
        l = am.row_lo[k] - dmax if np.isfinite(am.row_lo[k]) else -np.inf
        h = am.row_hi[k] - dmin if np.isfinite(am.row_hi[k]) else np.inf
        if not np.isfinite(l) and not np.isfinite(h):
            continue
        rows.append((pos[c[m]], v[m]))
        lo.append(l)
        hi.append(h)
    n = len(rows)
    ind = np.concatenate([r[0] for r in rows])
    val = np.concatenate([r[1] for r in rows])
    ptr = np.concatenate([[0], np.cumsum([len(r[0]) for r in rows])])
    return sp.csr_matrix((val, ind, ptr), shape=(n, len(cols))), np.array(lo), np.array(hi)


class Pricer:
    def __init__(self, am, i):  # type: ignore[no-untyped-def]
        self.cols = type_columns(am, i)
        R, lo, hi = restricted_rows(am, self.cols)
        lp = highspy.HighsLp()
        n = len(self.cols)
        lp.num_col_, lp.num_row_ = n, R.shape[0]
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = am.lb[self.cols]
        lp.col_upper_ = am.ub[self.cols]
        lp.row_lower_, lp.row_upper_ = lo, hi
        C = R.tocsc()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, R.shape[0]
        lp.a_matrix_.start_ = C.indptr.astype(np.int32)
        lp.a_matrix_.index_ = C.indices.astype(np.int32)
        lp.a_matrix_.value_ = C.data
        kinds = highspy.HighsVarType
        lp.integrality_ = [kinds.kInteger if b else kinds.kContinuous for b in am.integer[self.cols]]
        self.h = new_highs()
        configure(self.h, time_limit_s=600, mip_rel_gap=1e-9, threads=1, seed=0)
        self.h.setOptionValue("mip_abs_gap", 1e-9)
        self.h.passModel(lp)

    def price(self, cost):  # type: ignore[no-untyped-def]
        self.h.changeColsCost(len(self.cols), np.arange(len(self.cols), dtype=np.int32), cost)
        run_checked(self.h)
        info = self.h.getInfo()
        return info.mip_dual_bound, info.objective_function_value, np.asarray(self.h.getSolution().col_value)


def setup(spec: str):  # type: ignore[no-untyped-def]
    """The fixed model of ``spec`` and one pricer per query type: ``(inst, fm, am, pricers)``."""
    inst, _warm, fm = fixed_of(spec)
    am = fm.am
    n_types = am.cols["u"].stop - am.cols["u"].start
    return inst, fm, am, [Pricer(am, i) for i in range(n_types)]


def main(spec: str, max_iter: int) -> None:
    t0 = time.perf_counter()
    inst, fm, am, pricers = setup(spec)
    # master: the fixed LP plus linking rows per type
    base = replace(am, integer=np.zeros_like(am.integer))
    h = new_highs()
    configure(h, time_limit_s=600, mip_rel_gap=0.0, threads=1, seed=0,
              options=(("solver", "simplex"), ("presolve", "off")))
    h.passModel(base.to_highs_lp())
    n0 = am.n_rows
    link_rows = []  # per type: (row ids of its linking rows, column ids they link, kind)
    conv_rows = []
    row_count = n0
    for i, p in enumerate(pricers):
        cols = p.cols
        kinds = np.array(["x" if am.cols["x"].start <= c < am.cols["x"].stop or c == am.cols["u"].start + i
                          else "ge" for c in cols])
        # linking row per column of X_i: v_c - sum lam v^p_c (= 0 for x, u; >= 0 for r, w, o)
        lo = np.zeros(len(cols))
        hi = np.where(kinds == "x", 0.0, np.inf)
        starts = np.arange(len(cols), dtype=np.int32)
        h.addRows(len(cols), lo, hi, len(cols), starts, cols.astype(np.int32), np.ones(len(cols)))
        link_rows.append(np.arange(row_count, row_count + len(cols)))
        row_count += len(cols)
        h.addRows(1, np.array([1.0]), np.array([1.0]), 0, np.array([0], dtype=np.int32),
                  np.array([], dtype=np.int32), np.array([]))
        conv_rows.append(row_count)
        row_count += 1

    # bounded duals (box-step stabilisation): slack columns of cost M on every linking row,
    # so the first master sits at the fixed LP and |y_link| <= M; the Lagrangian bound stays
    # valid (the slacks' reduced costs are >= 0 at any such y)
    M = float(os.environ.get("DW_M", "50"))
    for i in range(len(pricers)):
        for k, c in zip(link_rows[i], pricers[i].cols):
            is_eq = am.cols["x"].start <= c < am.cols["x"].stop or c == am.cols["u"].start + i
            for sign in ((1.0, -1.0) if is_eq else (1.0,)):
                h.addCol(M, 0.0, np.inf, 1, np.array([k], dtype=np.int32), np.array([sign]))
    link_r = np.concatenate(link_rows)
    link_c = np.concatenate([p.cols for p in pricers])
    Alink_T = sp.csr_matrix((np.ones(len(link_r)), (link_c, link_r)), shape=(am.n_cols, row_count))

    def add_pattern(i: int, v: np.ndarray) -> None:
        v = np.where(np.abs(v) < 1e-9, 0.0, v)
        nz = np.flatnonzero(v)
        rows = np.concatenate([link_rows[i][nz], [conv_rows[i]]]).astype(np.int32)
        vals = np.concatenate([-v[nz], [1.0]])
        st = h.addCol(0.0, 0.0, np.inf, len(rows), rows, vals)
        assert st == highspy.HighsStatus.kOk, st

    # initial patterns: all unmet, and the start plan restricted to each type (both in X_i)
    from hetserve.milp.solve import _start_vector
    start = np.asarray(_start_vector(am, inst, fm.warm_start), dtype=float)
    for i, p in enumerate(pricers):
        v = np.zeros(len(p.cols))
        v[list(p.cols).index(am.cols["u"].start + i)] = 1.0
        add_pattern(i, v)
        add_pattern(i, start[p.cols])
    fixed_lp = None
    best = -np.inf
    def lagr(y, total_rc):  # type: ignore[no-untyped-def]
        # b.y of the master (rows' active sides) + column bound terms: use HiGHS's dual
        # objective identity on the master at y: sum over rows of y*(lo or hi) + sum over
        # columns of min over [lb, ub] of (c - A^T y) * v, for the non-lambda columns
        lo = np.asarray(h.getLp().row_lower_)
        hi = np.asarray(h.getLp().row_upper_)
        side = np.where(y > 0, lo, hi)
        side = np.where(np.isfinite(side), side, 0.0)
        by = float(y @ side)
        d = base.cost - base.A.T @ y[:base.n_rows] - Alink_T @ y
        colterm = float(np.sum(np.where(d >= 0, d * base.lb, d * base.ub)))
        return by + colterm + total_rc

    y_best = None
    alpha = float(os.environ.get("DW_ALPHA", "0.8"))
    for it in range(max_iter):
        if os.environ.get("DW_CLEAR"):
            h.clearSolver()
        run_checked(h)
        if DEBUG:
            print("status", h.modelStatusToString(h.getModelStatus()),
                  "iters", h.getInfo().simplex_iteration_count, "ncol", h.getNumCol())
        val = h.getInfo().objective_function_value
        if fixed_lp is None:
            fixed_lp = val
        y_master = np.asarray(h.getSolution().row_dual)
        # Wentges smoothing: price at a point between the best-bound duals and the master's
        # (the master's duals are highly degenerate on the x-linking equalities)
        for attempt in range(2):
            y = y_master if y_best is None or attempt == 1 else alpha * y_best + (1 - alpha) * y_master
            total_rc = 0.0
            added = 0
            for i, p in enumerate(pricers):
                cost = y[link_rows[i]]
                lb_i, _obj_i, v = p.price(cost)
                rc_lb = lb_i - y[conv_rows[i]]
                total_rc += rc_lb
                # the column's reduced cost at the master's duals decides whether it helps
                if float(y_master[link_rows[i]] @ v) - y_master[conv_rows[i]] < -1e-7:
                    add_pattern(i, v)
                    added += 1
            # Lagrangian bound at the duals y: c.y-feasible only if y is dual feasible for the
            # master without the lambda columns, which holds for y_master; for the smoothed
            # point use the convex combination of two feasible duals (also feasible)
            bound_y = lagr(y, total_rc)
            if y_best is None or bound_y > best:
                best, y_best = bound_y, y.copy()
            if added:
                break
        bound = bound_y
        if DEBUG and it > 0:
            cd = np.asarray(h.getSolution().col_dual)
            used = int((np.asarray(h.getSolution().col_value)[am.n_cols:] > 1e-9).sum())
            print("last cols rc", cd[-12:].round(4), "n_col", h.getNumCol(), "lam>0", used)
        print(json.dumps({"iter": it, "master": val, "lagrangian": bound, "added": added,
                          "s": round(time.perf_counter() - t0, 1)}), flush=True)
        if added == 0:
            break
    print(json.dumps({"spec": spec, "U": float(fm.upper), "first_master": fixed_lp, "master": val,
                      "bound": best, "iterations": it + 1,
                      "seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200)
