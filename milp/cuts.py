r"""Our own separator of the rows HiGHS finds at its root (docs/milp.md "Tightenings",
weighted error cover).

The family that stands out among HiGHS's root cuts on the fixed model (round 5,
``results/milp/exact-r5-cutsep/findings.md``) is a single-type row: the demand row plus
``t`` times the error row, with the terms of good routes replaced by their configuration's
``w``. For a type *i* with an error (or average-delay) row :math:`\sum_c d_c x_{ic} \le 0`
(:math:`d_c = e_{ic} - \varepsilon_i`), any :math:`t \ge 0`, :math:`a_c = 1 - t d_c`, and
any set *S* of configurations:

.. math::
   \sum_{c \notin S} a_c^+ x_{ic} + \sum_{c \in S} \min(1, a_c^+)\, w_c + u_i \ \ge\ 1.

*t* → ∞ with *S* the good configurations is the error cover, *t* = 0 the demand row; in
between it charges a type's mix for how far its good routes are below ε_i. The proof is
in docs/milp.md. Separation is exact per row for the LP point: for a fixed *t* the best
*S* takes, per route, the smaller of ``a⁺ x`` and ``min(1, a⁺) w``; the left-hand side is
piecewise linear in *t*, so its minimum is at a breakpoint (``t = 1/d_c`` where a bad
route's coefficient reaches 0, ``t = (w_c/x_ic − 1)/(−d_c)`` where a good route's
``a x`` reaches ``w``).

Pure functions: an :class:`~milp.highs_model.ArrayModel` and an LP point in, rows
``lo ≤ A v ≤ hi`` over its columns out.
"""

from __future__ import annotations

from collections.abc import Iterator

import highspy
import numpy as np
import scipy.sparse as sp

from hetserve.milp.highs_model import ArrayModel

ROW_BLOCKS = ("err", "avgdelay")
"""Per-type rows ``Σ_c d_c x_ic ≤ 0`` the family is built on."""


def _type_rows(am: ArrayModel, block: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """``(type, positions in x of all the type's routes, d_c)`` for each row of ``block``,
    with the row's own coefficients (0 for a route the row lacks: the cut needs every
    route of the type, as the demand row has them all)."""
    if block not in am.row_blocks:
        return []
    s = am.row_blocks[block]
    keys = dict(am.row_keys)[block]
    xs = am.cols["x"]
    R = am.A[s.start:s.stop, xs.start:xs.stop].tocsr()
    ri = am.index.ri
    out = []
    for k, i in enumerate(keys):
        pos = np.nonzero(ri == i)[0]
        out.append((int(i), pos, np.asarray(R[k, pos].todense()).ravel()))
    return out


def _lhs_at(t: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray, u: float
            ) -> np.ndarray:
    """The best left-hand side (over *S*) at each multiplier ``t``: shape ``(len(t),)``."""
    a = np.maximum(1.0 - np.outer(t, d), 0.0)
    g = np.where(a <= 1.0, a * x, np.minimum(a * x, w))
    return u + g.sum(axis=1)


def type_covers(d: np.ndarray, x: np.ndarray, w: np.ndarray, u: float, *, per_row: int = 1,
                min_violation: float = 1e-4) -> list[tuple[float, np.ndarray]]:
    """The exact separation for one type's row at an LP point (``d``: the row's
    coefficients of the type's routes, ``x`` their values, ``w`` their configurations',
    ``u`` the unmet share): up to ``per_row`` violated rows, the most violated first, as
    ``(t, on_w)``; ``on_w`` marks the routes whose term is their configuration's ``w``
    (*c* ∈ *S*: ``a > 1`` and ``w < a x``), the others keep ``a⁺ x``."""
    good = (d < 0) & (x > 1e-12)
    bad = d > 0
    bp = np.concatenate([1.0 / d[bad], (w[good] / x[good] - 1.0) / -d[good]])
    bp = np.unique(bp[np.isfinite(bp) & (bp > 0)])
    if len(bp) == 0:
        return []
    lhs = _lhs_at(bp, d, x, w, u)
    found: list[tuple[float, np.ndarray]] = []
    for k in np.argsort(lhs)[:per_row].tolist():
        if lhs[k] > 1.0 - min_violation:
            break
        t = float(bp[k])
        a = np.maximum(1.0 - t * d, 0.0)
        found.append((t, (a > 1.0) & (w < a * x)))
    return found


def weighted_cover_cuts(am: ArrayModel, v: np.ndarray, *, min_violation: float = 1e-4,
                        per_row: int = 1) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Rows of the weighted error cover violated by the LP point ``v`` (column values of
    ``am``) by more than ``min_violation``: up to ``per_row`` multipliers per error row
    (the most violated first, distinct breakpoints). Returns ``(A, lo, hi)`` for
    :func:`milp.cutpool.with_cuts` (``hi = +inf``)."""
    xs, ws, us = am.cols["x"], am.cols["w"], am.cols["u"]
    xv = v[xs]
    wv = v[ws]
    rk = am.index.rk
    col_x = np.arange(xs.start, xs.stop)
    col_w = np.arange(ws.start, ws.stop)
    rows_i: list[np.ndarray] = []
    rows_j: list[np.ndarray] = []
    rows_v: list[np.ndarray] = []
    n = 0
    for block in ROW_BLOCKS:
        for i, pos, d in _type_rows(am, block):
            x = xv[pos]
            w = wv[rk[pos]]
            u = float(v[us.start + i])
            for t, on_w in type_covers(d, x, w, u, per_row=per_row,
                                       min_violation=min_violation):
                a = np.maximum(1.0 - t * d, 0.0)
                # a > 1 on good routes: min(1, a) = 1; a ≤ 1 keeps x (x ≤ w, so stronger)
                coef = np.where(on_w, 1.0, a)
                keep = coef > 0
                cols = np.where(on_w, col_w[rk[pos]], col_x[pos])[keep]
                rows_j.append(np.concatenate([cols, [us.start + i]]))
                rows_v.append(np.concatenate([coef[keep], [1.0]]))
                rows_i.append(np.full(int(keep.sum()) + 1, n))
                n += 1
    if n == 0:
        return sp.csr_matrix((0, am.n_cols)), np.zeros(0), np.zeros(0)
    A = sp.csr_matrix((np.concatenate(rows_v), (np.concatenate(rows_i),
                                                np.concatenate(rows_j))),
                      shape=(n, am.n_cols))
    return A, np.ones(n), np.full(n, np.inf)




def cover_rounds(am: ArrayModel, rounds: int, *, per_row: int = 1, time_limit_s: float,
                 seed: int = 0, presolve: bool = False
                 ) -> Iterator[tuple[highspy.Highs, list[sp.csr_matrix]]]:
    """The one loop of LP re-solves with weighted error covers: solve the LP relaxation of
    ``am`` (dual simplex), then up to ``rounds`` times separate
    :func:`weighted_cover_cuts` at its solution, add the rows and re-solve warm. Yields
    the solver and the row blocks added so far after every solve (the plain LP first);
    the caller reads what it needs and may stop early. Ends when a round finds no
    violated row or ``time_limit_s`` (wall, also HiGHS's limit on its total) has passed
    before a round. ``presolve``: HiGHS's presolve on the first LP (the re-solves start
    from its postsolved basis)."""
    import time
    from dataclasses import replace

    from hetserve.instances.solver_log import new_highs
    from hetserve.milp.highs_run import configure, run_checked

    t0 = time.perf_counter()
    h = new_highs()
    configure(h, time_limit_s=max(1e-3, time_limit_s), mip_rel_gap=0.0, threads=1, seed=seed,
              options=(("solver", "simplex"), ("presolve", "on" if presolve else "off")))
    h.passModel(replace(am, integer=np.zeros_like(am.integer)).to_highs_lp())
    blocks: list[sp.csr_matrix] = []
    run_checked(h)
    yield h, blocks
    for _ in range(rounds):
        if time.perf_counter() - t0 >= time_limit_s:
            return
        A, lo, hi = weighted_cover_cuts(am, np.asarray(h.getSolution().col_value),
                                        per_row=per_row)
        if A.shape[0] == 0:
            return
        h.addRows(A.shape[0], lo, hi, A.nnz, A.indptr[:-1].astype(np.int32),
                  A.indices.astype(np.int32), A.data)
        blocks.append(A)
        run_checked(h)
        yield h, blocks


def separation_rounds(am: ArrayModel, rounds: int, *, per_row: int = 1,
                      drop_slack: bool = True, time_limit_s: float = 600.0
                      ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, list[float]]:
    """``rounds`` rounds of :func:`weighted_cover_cuts` on the LP relaxation of ``am``
    (:func:`cover_rounds`): the rows found (those slack at the last LP dropped when
    ``drop_slack``) and the LP value after each round (plain first). No new round starts
    after ``time_limit_s`` (wall; a safety net, the budget is ``rounds``)."""
    values: list[float] = []
    blocks: list[sp.csr_matrix] = []
    x: np.ndarray = np.zeros(am.n_cols)
    for h, blocks in cover_rounds(am, rounds, per_row=per_row, time_limit_s=time_limit_s):
        values.append(float(h.getInfo().objective_function_value))
        x = np.asarray(h.getSolution().col_value)
    if not blocks:
        return sp.csr_matrix((0, am.n_cols)), np.zeros(0), np.zeros(0), values
    A = sp.vstack(blocks).tocsr()
    if drop_slack:
        A = A[A @ x <= 1.0 + 1e-7]
    n = A.shape[0]
    return A, np.ones(n), np.full(n, np.inf), values


__all__ = ["ROW_BLOCKS", "cover_rounds", "separation_rounds", "type_covers",
           "weighted_cover_cuts"]
