r"""Column generation of the LP relaxation over routes, certified at every round.

The LP relaxation of :mod:`milp.formulation` has one column ``x_ic`` and one linking row
``x_ic ≤ v_ic w_c`` per usable route: 372k of each at 50x30x30, 1.47M at 100x40x40, which
HiGHS cannot solve within minutes. Few routes carry traffic at the optimum, so the
*restricted master* keeps every configuration's columns (``r, w, o, u``) and every row
that does not belong to one route, and only a subset of the routes:

* rows: demand, capacity, error, average delay, budget, availability, ``ub``, ``minrep``,
  ``onepar``, ``store``, ``stored``, storage capacity, and the error cover
  :math:`\sum_{c \in C^\varepsilon_i} w_c + u_i \ge 1` over the *full* set
  :math:`C^\varepsilon_i` (so the restricted master is the full LP with the missing
  ``x`` fixed at 0, and converges to it). The average-delay cover rows are left out: the
  Lagrangian does not dualise them, so the LP this converges to is the relaxation
  without them (equal to ``lp_relaxation_bound`` on the ``per-route`` delay rule);
* a route entering the master brings its column and its linking row (``addCols``,
  ``addRows`` on one persistent ``highspy.Highs``), and HiGHS re-solves from the
  previous basis (new columns non-basic at 0, new rows' slacks basic: still primal
  feasible, so the primal simplex continues from there).

**Pricing.** At duals :math:`(y, \eta, \theta, \mu)` of the master (demand, error,
average delay, capacity), a missing route's reduced cost is
:math:`\bar d_{ic} = d_{ic} + \mu_c a_{ic}` with :math:`d_{ic}` the Lagrangian reduced
cost of :mod:`milp.bound` (its new linking row enters with dual 0). It is computed for
all routes at once on the route arrays; the ``per_type`` most negative of each query
type enter, together with the routes the Lagrangian minimiser serves at the same
multipliers (the subproblem's optimal "columns").

**A certified number at every round (Farley / Lagrangian bound).** The master's duals
are Lagrange multipliers of the right signs, so the Lagrangian :math:`L` of
:mod:`milp.bound`, evaluated *exactly on the full model*, is a lower bound on the MILP
optimum at every round; the best one is kept, and the generation can stop at any time
(deadline, round limit) with a valid number. It stops early when :math:`L` reaches the
master's value (the LP is closed up to integrality) or when nothing prices out (the
master is the full LP).

**Dual stabilisation (Wentges smoothing).** Pricing at the master's duals makes them
oscillate. Each round prices at :math:`\pi_{sep} = \alpha\pi_{centre} + (1-\alpha)
\pi_{master}`, where the centre is the multipliers with the best :math:`L` so far
(Wentges 1997, *Weighted Dantzig–Wolfe decomposition for linear mixed-integer
programming*); if nothing new prices out there (a *mispricing*), the round prices at
the master's own duals, whose failure to find a column proves the master optimal.

**IPM master** (``ipm``, the sparse master above :data:`milp.bound.IPM_MASTER_MIN_ROUTES`
routes): the master is re-solved by HiGHS's interior point method without crossover.
At 100x40x40 the simplex re-solves were 90 % of the generation's time (10–25 s each from
the previous basis, docs/milp.md "Certified bounds"); interior duals are central in the
optimal face, which stabilises the pricing like a smoothing (fewer rounds), at no
warm start. The master's ``w`` is then interior: tiny values are read as 0 where a
support is wanted (:func:`milp.fixing.closing_caps`).

**Price-and-branch** (:meth:`RestrictedMaster.solve_mip`): the master with ``r, w, o``
integer, over the generated routes only, is a restriction of the MILP, so any plan it
finds is feasible for the full model and is an upper bound (evaluated by the one
evaluator).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np

from hetserve.instances.model import Instance
from hetserve.instances.solver_log import new_highs
from hetserve.instances.solver_log import run as run_highs
from hetserve.milp.highs_model import INF, ArrayModel
from hetserve.milp.highs_run import use_threads
from hetserve.milp.index import ModelIndex, binding_storage_capacity

Multipliers = tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray, float, np.ndarray,
                    np.ndarray]
"""``(y, eta, theta, beta, alpha, sigma, kappa, omega)``: demand, error, average delay,
budget, availability, storage, error-cover and weighted-cover multipliers (the argument
order of ``milp.bound._Lagrangian.evaluate``; ``omega`` has one entry per row of
:class:`CoverRows`, empty without them)."""


def _pad(a: Any, n: int) -> Any:
    """``a`` with zeros appended up to length ``n`` (a weighted-cover multiplier vector from
    before rows were added: 0 on a new row is a valid multiplier, the same ``L``)."""
    return a if not isinstance(a, np.ndarray) or len(a) >= n else \
        np.concatenate([a, np.zeros(n - len(a))])


class CoverRows:
    r"""Weighted error covers held as rows of the restricted master and dualised in the
    Lagrangian (docs/milp.md "Certified bounds", *weighted covers in the closing*). Row
    *r* is (type :math:`i_r`, multiplier :math:`t_r`, row kind: error or average delay,
    set :math:`S_r` of configurations, kept as the routes :math:`(i_r, c)`):

    .. math::
       \sum_{c \notin S_r} a_{rc}^+ x_{i_r c} + \sum_{c \in S_r} \min(1, a_{rc}^+) w_c
       + u_{i_r} \ \ge\ 1, \qquad a_{rc} = 1 - t_r d_c,

    over *every* usable route of :math:`i_r` (docs/milp.md "Tightenings", weighted error
    cover: valid for every plan). ``dev[kind]`` is :math:`d` per index route
    (:math:`e_{ic} - \varepsilon_i`, :math:`D_{ic} - \Delta_i`)."""

    def __init__(self, idx: ModelIndex, err_dev: np.ndarray, dly_dev: np.ndarray) -> None:
        self.idx = idx
        self.dev = (err_dev, dly_dev)
        nI = int(idx.ri.max()) + 1 if idx.n_routes else 0
        # routes are ordered by (type, configuration): type i is a slice
        self.start = np.searchsorted(idx.ri, np.arange(nI + 1), side="left")
        self.types: np.ndarray = np.zeros(0, dtype=np.int64)
        self.kind: np.ndarray = np.zeros(0, dtype=np.int64)
        self.t: np.ndarray = np.zeros(0)
        self.s_row: np.ndarray = np.zeros(0, dtype=np.int64)
        self.s_route: np.ndarray = np.zeros(0, dtype=np.int64)

    @property
    def n(self) -> int:
        return len(self.t)

    def append(self, i: int, kind: int, t: float, s_routes: np.ndarray) -> int:
        """Add a row; returns its position."""
        r = self.n
        self.types = np.append(self.types, i)
        self.kind = np.append(self.kind, kind)
        self.t = np.append(self.t, t)
        self.s_row = np.concatenate([self.s_row, np.full(len(s_routes), r, dtype=np.int64)])
        self.s_route = np.concatenate([self.s_route, np.asarray(s_routes, dtype=np.int64)])
        return r

    def coef(self, r: int, routes: np.ndarray) -> np.ndarray:
        """:math:`a_{rc}^+` of row ``r`` on the index routes ``routes`` (of its type)."""
        return np.maximum(0.0, 1.0 - self.t[r] * self.dev[int(self.kind[r])][routes])

    def dualised(self, omega: np.ndarray, n_cfg: int, n_types: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""What multipliers ``omega`` ≥ 0 on the rows take off the Lagrangian's costs:
        per route :math:`\sum_{r: i_r = i, c \notin S_r} \omega_r a_{rc}^+` (off its
        reduced cost), per configuration :math:`\sum_{r: c \in S_r} \omega_r
        \min(1, a_{rc}^+)` (off its fixed cost when open), per type
        :math:`\sum_{r: i_r = i} \omega_r` (off the unmet share's cost)."""
        dec = np.zeros(len(self.idx.ri))
        on = np.nonzero(omega > 0)[0]
        for i in np.unique(self.types[on]).tolist():
            sl = slice(int(self.start[i]), int(self.start[i + 1]))
            for kind in (0, 1):
                rows = on[(self.types[on] == i) & (self.kind[on] == kind)]
                if len(rows):
                    a = np.maximum(0.0, 1.0 - np.outer(self.t[rows], self.dev[kind][sl]))
                    dec[sl] += omega[rows] @ a
        bonus: np.ndarray = np.zeros(n_cfg)
        if len(self.s_row):
            a_s = np.maximum(0.0, 1.0 - self.t[self.s_row]
                             * np.where(self.kind[self.s_row] == 0, self.dev[0][self.s_route],
                                        self.dev[1][self.s_route]))
            w = omega[self.s_row]
            np.subtract.at(dec, self.s_route, w * a_s)  # c ∈ S_r: the row holds w_c, not x
            bonus = np.bincount(self.idx.rk[self.s_route], weights=w * np.minimum(1.0, a_s),
                                minlength=n_cfg).astype(float)
        per_type = np.bincount(self.types, weights=omega, minlength=n_types)
        return dec, bonus, per_type


@dataclass(frozen=True)
class MasterTuning:
    """How the closing's restricted master is kept cheap (docs/milp.md "Certified bounds",
    *a faster closing master*; results/milp/exact-r7-masterfast/). All of it only changes
    which multipliers the Lagrangian is evaluated at, never its validity.

    ``drop_idle`` > 0: a weighted-cover row whose dual stayed ≤ ``drop_tol`` × the largest
    cover dual for that many master solves in a row is *freed* (bounds −∞, +∞: it
    constrains nothing; routes entering later skip it); its ω is 0 from then on, a valid
    multiplier (any ω ≥ 0 is). ``ipm_tol``: HiGHS's ``ipm_optimality_tolerance`` on the
    interior-point master (None: HiGHS's 1e-8). ``skip_late``: no master solve is started
    that the last one's wall time says would end after the deadline (its time goes to
    what follows the generation). ``park_idle`` > 0: a master route with x = 0 whose LP
    reduced cost at the master's duals (the pricing's, without its linking row) stayed
    > ``park_tol`` × the master's value for that many solves in a row is *parked*: its
    ``x`` fixed at 0 (HiGHS's presolve can drop the column and its linking row), and it is
    missing again for the pricing, which revives it (bound back to 1) once it prices out:
    the master is the LP with the missing and parked routes at 0, as before.
    ``simplex_after`` > 0: after that many interior-point solves the next one runs with
    crossover, and from then on the master is re-solved by the simplex method warm from
    its basis (the dual simplex after rows, as without ``ipm``). ``primal_after_columns``:
    a warm re-solve of the sparse master after new columns only, following a solve that
    ended optimal, runs the primal simplex (the basis is still primal feasible), as the
    full-cover master's always does; off, it runs the dual simplex, which repairs the new
    boxed ``x`` columns by bound flips. Re-solves after new cover rows, or after a solve
    cut at a deadline, stay with the dual simplex either way (docs/milp.md, round 11)."""

    drop_idle: int = 0
    drop_tol: float = 1e-6
    ipm_tol: float | None = None
    skip_late: bool = False
    park_idle: int = 0
    park_tol: float = 1e-6
    simplex_after: int = 0
    primal_after_columns: bool = False


@dataclass(frozen=True)
class MasterDuals:
    """The master's duals as Lagrange multipliers, plus the capacity duals ``mu`` (≥ 0),
    which only the LP pricing uses."""

    multipliers: Multipliers
    mu: np.ndarray
    w_reduced: np.ndarray

    def blend(self, other: MasterDuals, weight: float) -> MasterDuals:
        """``weight · self + (1 − weight) · other`` (signs are kept: a convex combination)."""
        n = max(len(self.multipliers[7]), len(other.multipliers[7]))
        pairs: list[tuple[Any, Any]] = [(_pad(a, n), _pad(b, n)) if j == 7 else (a, b)
                                        for j, (a, b) in enumerate(zip(self.multipliers,
                                                                       other.multipliers))]
        mix: Any = tuple(weight * a + (1.0 - weight) * b for a, b in pairs)
        return MasterDuals(mix, weight * self.mu + (1.0 - weight) * other.mu,
                           weight * self.w_reduced + (1.0 - weight) * other.w_reduced)


class RestrictedMaster:
    """One persistent HiGHS LP over a subset of the routes (and, unless ``full_cover``,
    of the configurations: a configuration enters with its first route).

    Columns: ``o`` (models), ``u`` (query types), then configurations' ``r, w`` pairs and
    routes' ``x`` in the order they entered (``col_r, col_w`` per index configuration, -1
    while absent; ``routes``: index positions of the routes in column order, ``col_x``).
    Rows: demand, error, average delay, error cover, budget, storage capacity, ``stored``
    (per model), ``onepar`` (per deployment), availability, then per configuration
    ``cap, ub, minrep, store`` and per route its linking row, as they enter.
    An absent configuration is the full LP's with ``r = w = 0`` and no routes, which is
    optimal for it when none of its routes is in (opening it only costs), so the master
    is still the full LP with the missing routes fixed at 0."""

    def __init__(self, instance: Instance, idx: ModelIndex, good: np.ndarray,
                 has_err: np.ndarray, has_dly: np.ndarray, seed: int = 0,
                 full_cover: bool = True, ipm: bool = False) -> None:
        self.inst = instance
        self.idx = idx
        self.good = good
        self.full_cover = full_cover
        self.ipm = ipm
        t = instance.routes
        q = instance.query_types
        T = instance.horizon_h
        nI, nK, nM = len(q), idx.n_cfg, len(idx.models)
        self.nK = nK
        use_threads(1)
        h = new_highs()
        h.setOptionValue("threads", 1)
        h.setOptionValue("random_seed", int(seed))
        self.h = h
        self.n_cols = 0
        self.n_rows = 0
        sizes = np.array([instance.models[int(j)].weight_gb_fp16 for j in idx.models])
        store = T * instance.storage_price_per_gb_h * sizes
        lam = t.rates
        secs = 3600.0 * T
        self.rent = T * t.price_per_replica_hour[idx.cfg]
        # columns o, u
        self.col_o = self._cols(store, np.zeros(nM), np.ones(nM))
        self.col_u = self._cols(secs * np.array([qt.unmet_penalty for qt in q]) * lam,
                                np.zeros(nI), np.array([qt.max_unmet for qt in q]))
        # rows that exist from the start (configurations and routes fill them)
        self.row_demand = self._rows(np.ones(nI), np.ones(nI), [[c] for c in self.col_u])
        self.err_row = -np.ones(nI, dtype=np.int64)
        self.dly_row = -np.ones(nI, dtype=np.int64)
        for rows, types in ((self.err_row, np.nonzero(has_err)[0]),
                            (self.dly_row, np.nonzero(has_dly)[0])):
            rows[types] = self._rows(np.full(len(types), -INF), np.zeros(len(types)),
                                     [[] for _ in types])
        # error cover Σ_{c good for i} w_c + u_i ≥ 1 for types with a route that misses ε_i;
        # its w terms enter with the configurations' good routes (full_cover: all at once)
        has_bad = np.zeros(nI, dtype=bool)
        np.logical_or.at(has_bad, idx.ri, ~good)
        self.cover_row = -np.ones(nI, dtype=np.int64)
        types = np.nonzero(has_bad)[0]
        self.cover_row[types] = self._rows(np.ones(len(types)), np.full(len(types), INF),
                                           [[self.col_u[i]] for i in types])
        self.row_budget = -1
        if instance.budget is not None:
            self.row_budget = int(self._rows(np.array([-INF]), np.array([float(instance.budget)]),
                                             [list(self.col_o)], [list(store)])[0])
        self.row_storage = -1
        cap = binding_storage_capacity(instance, idx)
        if cap is not None:
            self.row_storage = int(self._rows(np.array([-INF]), np.array([cap]),
                                              [list(self.col_o)], [list(sizes)])[0])
        self.row_stored = self._rows(np.full(nM, -INF), np.zeros(nM), [[c] for c in self.col_o])
        self.dep_row = -np.ones(nK, dtype=np.int64)
        if idx.deployments:
            rows = self._rows(np.full(len(idx.deployments), -INF),
                              np.ones(len(idx.deployments)), [[] for _ in idx.deployments])
            for d, ks in enumerate(idx.deployments):
                self.dep_row[ks] = rows[d]
        self.gpu_use = idx.gpu_row_use()
        self.row_avail = self._rows(np.full(len(idx.gpu_rows), -INF),
                                    np.array([float(lim) for _, lim, _ in idx.gpu_rows]),
                                    [[] for _ in idx.gpu_rows])
        # per-configuration rows and columns, as they enter
        self.col_r = -np.ones(nK, dtype=np.int64)
        self.col_w = -np.ones(nK, dtype=np.int64)
        self.row_cap = -np.ones(nK, dtype=np.int64)
        # rows of each configuration / route as they enter (-1 while absent), so the
        # master's duals can be read as multipliers of the full model (:meth:`row_duals`)
        self.row_ub = -np.ones(nK, dtype=np.int64)
        self.row_minrep = -np.ones(nK, dtype=np.int64)
        self.row_store = -np.ones(nK, dtype=np.int64)
        self.row_link = -np.ones(idx.n_routes, dtype=np.int64)
        self.routes = np.zeros(0, dtype=np.int64)
        self.col_x = np.zeros(0, dtype=np.int64)
        self.active = np.zeros(idx.n_routes, dtype=bool)
        self.parked = np.zeros(idx.n_routes, dtype=bool)  # in, x fixed at 0 (:meth:`park`)
        self.x_col = -np.ones(idx.n_routes, dtype=np.int64)  # route → its x column
        self.x_idle = np.zeros(idx.n_routes, dtype=np.int64)
        self.allowed = np.ones(idx.n_routes, dtype=bool)  # False: closed (:meth:`restrict`)
        self.rbar_now = idx.rbar.astype(float)  # R̄ as lowered by :meth:`restrict`
        self._warm = False
        self.last_w = np.zeros(nK)
        # weighted covers (:meth:`add_covers`): their definitions and master rows
        self.covers: CoverRows | None = None
        self.cov_rows = np.zeros(0, dtype=np.int64)
        self.cov_cols_at = np.zeros(0, dtype=np.int64)  # columns there were at each row's birth
        self.cov_idle: np.ndarray = np.zeros(0, dtype=np.int64)  # master solves in a row with dual ~0
        self.cov_free: np.ndarray = np.zeros(0, dtype=bool)  # freed (:meth:`drop_idle_covers`)
        self.ipm_tol: float | None = None
        self.crossover_next = False  # the next IPM solve crosses over, then simplex
        self.ipm_solves = 0
        self._rows_added = False
        self.primal_after_columns = False  # MasterTuning's, set by column_generation
        self._last_optimal = False  # did the last solve end optimal (its basis feasible)?
        rc = idx.cfg[idx.rk]
        eps = np.array([qt.error_slo for qt in q])
        slo = np.array([qt.delay_slo_s for qt in q])
        self.x_cost = secs * np.array([qt.delay_penalty for qt in q])[idx.ri] * lam[idx.ri] \
            * t.delay[idx.ri, rc]
        self.x_err = t.error[idx.ri, rc] - eps[idx.ri]
        self.x_dly = t.delay[idx.ri, rc] - slo[idx.ri]
        if full_cover:
            self._add_configs(np.arange(nK))
            cov = good & (self.cover_row[idx.ri] >= 0)
            for row, col in zip(self.cover_row[idx.ri[cov]].tolist(),
                                self.col_w[idx.rk[cov]].tolist()):
                h.changeCoeff(row, col, 1.0)

    # ---- low-level helpers: append columns / rows, return their positions
    def _cols(self, cost: np.ndarray, lo: np.ndarray, hi: np.ndarray,
              entries: list[list[int]] | None = None,
              values: list[list[float]] | None = None) -> np.ndarray:
        m = len(cost)
        entries = [[] for _ in range(m)] if entries is None else entries
        values = [[1.0] * len(e) for e in entries] if values is None else values
        starts = np.cumsum([0] + [len(e) for e in entries[:-1]]).astype(np.int32)
        flat = np.array([v for e in entries for v in e], dtype=np.int32)
        vals = np.array([v for e in values for v in e], dtype=float)
        self.h.addCols(m, np.asarray(cost, dtype=float), np.asarray(lo, dtype=float),
                       np.asarray(hi, dtype=float), len(flat), starts, flat, vals)
        out = self.n_cols + np.arange(m)
        self.n_cols += m
        return out

    def _rows(self, lo: np.ndarray, hi: np.ndarray, entries: list[list[int]],
              values: list[list[float]] | None = None) -> np.ndarray:
        m = len(lo)
        if m == 0:
            return np.zeros(0, dtype=np.int64)
        values = [[1.0] * len(e) for e in entries] if values is None else values
        starts = np.cumsum([0] + [len(e) for e in entries[:-1]]).astype(np.int32)
        flat = np.array([v for e in entries for v in e], dtype=np.int32)
        vals = np.array([v for e in values for v in e], dtype=float)
        self.h.addRows(m, np.asarray(lo, dtype=float), np.asarray(hi, dtype=float), len(flat),
                       starts, flat, vals)
        out = self.n_rows + np.arange(m)
        self.n_rows += m
        return out

    def _add_configs(self, ks: np.ndarray) -> None:
        """Columns ``r_c, w_c`` and rows ``cap, ub, minrep, store`` of the configurations
        ``ks`` (not yet in)."""
        ks = ks[self.col_r[ks] < 0]
        if len(ks) == 0:
            return
        idx = self.idx
        rho = self.inst.max_utilisation
        gpu_rows = [np.nonzero(self.gpu_use[k] > 0)[0] for k in ks] if len(self.row_avail) \
            else [np.zeros(0, dtype=np.int64)] * len(ks)
        r_entries, r_values = [], []
        for k, g in zip(ks.tolist(), gpu_rows):
            e = ([self.row_budget] if self.row_budget >= 0 else []) + self.row_avail[g].tolist()
            v = ([float(self.rent[k])] if self.row_budget >= 0 else []) \
                + self.gpu_use[k, g].tolist()
            r_entries.append(e)
            r_values.append(v)
        self.col_r[ks] = self._cols(self.rent[ks], np.zeros(len(ks)),
                                    self.rbar_now[ks], r_entries, r_values)
        w_entries, w_values = [], []
        for k in ks.tolist():
            e, v = [int(self.row_stored[idx.cfg_model_pos[k]])], [-1.0]
            if self.dep_row[k] >= 0:
                e.append(int(self.dep_row[k]))
                v.append(1.0)
            w_entries.append(e)
            w_values.append(v)
        self.col_w[ks] = self._cols(np.zeros(len(ks)), np.zeros(len(ks)), np.ones(len(ks)),
                                    w_entries, w_values)
        cr, cw = self.col_r[ks].tolist(), self.col_w[ks].tolist()
        m = len(ks)
        self.row_cap[ks] = self._rows(np.full(m, -INF), np.zeros(m), [[c] for c in cr],
                                      [[-rho]] * m)
        rbar = idx.rbar[ks].astype(float).tolist()
        self.row_ub[ks] = self._rows(np.full(m, -INF), np.zeros(m),
                                     [[a, b] for a, b in zip(cr, cw)],
                                     [[1.0, -rb] for rb in rbar])  # ub: r ≤ R̄ w
        self.row_minrep[ks] = self._rows(np.full(m, -INF), np.zeros(m),
                                         [[b, a] for a, b in zip(cr, cw)],
                                         [[1.0, -1.0]] * m)  # minrep: w ≤ r
        co = self.col_o[idx.cfg_model_pos[ks]].tolist()
        self.row_store[ks] = self._rows(np.full(m, -INF), np.zeros(m),
                                        [[b, o] for b, o in zip(cw, co)],
                                        [[1.0, -1.0]] * m)  # store: w ≤ o

    def restrict(self, closed: np.ndarray, rbar: np.ndarray) -> None:
        """Make the master the LP of the restricted model of
        :meth:`milp.bound._Lagrangian.close`: ``w_c = r_c = 0`` for the ``closed``
        configurations (their routes never enter again), ``r_c ≤ rbar_c`` for the others
        (the ``ub`` rows keep their old R̄: weaker, still valid)."""
        present = np.nonzero(self.col_r >= 0)[0]
        hi = np.where(closed[present], 0.0, rbar[present])
        cols = np.concatenate([self.col_r[present], self.col_w[present]]).astype(np.int32)
        ub = np.concatenate([hi, np.where(closed[present], 0.0, 1.0)])
        self.h.changeColsBounds(len(cols), cols, np.zeros(len(cols)), ub)
        self.allowed &= ~closed[self.idx.rk]
        self.rbar_now = np.where(closed, 0.0, np.minimum(self.rbar_now, rbar))

    def add_covers(self, per_row: int = 1, min_violation: float = 1e-4) -> int:
        """Separate weighted covers at the last solve's point (missing routes are
        ``x = 0``) and add the violated ones as rows (to :attr:`covers` too, which the
        Lagrangian dualises). Per type and row kind (error; average delay where it has a
        row) up to ``per_row`` multipliers *t*, exact for the point as in
        :func:`milp.cuts.weighted_cover_cuts`: only routes with ``x > 0`` move the
        left-hand side, so only their breakpoints count. Returns the rows added.
        (HiGHS drops coefficients below 1e-9, e.g. a⁺ ≈ 1e-16 at t = 1/d: the master's row
        is then stronger by at most that; it only supplies multipliers, and the certified
        number is the Lagrangian's, which uses the exact coefficients.)"""
        from hetserve.milp.cuts import type_covers

        assert self.covers is not None
        idx = self.idx
        v = np.asarray(self.h.getSolution().col_value)
        xv = v[self.col_x]
        pos = xv > 1e-12
        routes, xs = self.routes[pos], xv[pos]
        ri = idx.ri[routes]
        where = -np.ones(idx.n_routes, dtype=np.int64)  # route → its x column
        where[self.routes] = self.col_x
        added: list[tuple[int, list[int], list[float]]] = []
        for kind, rows in ((0, self.err_row), (1, self.dly_row)):
            dev = self.covers.dev[kind]
            for i in np.nonzero(rows >= 0)[0].tolist():
                on = ri == i
                p, x = routes[on], xs[on]
                if not len(p):
                    continue
                d = dev[p]
                w = v[self.col_w[idx.rk[p]]]
                u = float(v[self.col_u[i]])
                for t, on_w in type_covers(d, x, w, u, per_row=per_row,
                                           min_violation=min_violation):
                    in_s = p[on_w]
                    r = self.covers.append(i, kind, t, in_s)
                    mine = self.routes[idx.ri[self.routes] == i]
                    mine = mine[~np.isin(mine, in_s)]
                    coef = self.covers.coef(r, mine)
                    nz = coef > 0
                    cols = np.concatenate([where[mine[nz]], self.col_w[idx.rk[in_s]],
                                           [self.col_u[i]]])
                    vals = np.concatenate([coef[nz], np.minimum(1.0, self.covers.coef(r, in_s)),
                                           [1.0]])
                    added.append((r, cols.tolist(), vals.tolist()))
        if not added:
            return 0
        rows_new = self._rows(np.ones(len(added)), np.full(len(added), INF),
                              [c for _, c, _ in added], [val for _, _, val in added])
        self.cov_rows = np.concatenate([self.cov_rows, rows_new])
        self.cov_cols_at = np.concatenate([self.cov_cols_at, np.full(len(added), self.n_cols)])
        self.cov_idle = np.concatenate([self.cov_idle, np.zeros(len(added), dtype=np.int64)])
        self.cov_free = np.concatenate([self.cov_free, np.zeros(len(added), dtype=bool)])
        self._rows_added = True
        return len(added)

    def drop_idle_covers(self, omega: np.ndarray, after: int, tol: float) -> int:
        """Count, per weighted-cover row, the master solves in a row whose dual ``omega``
        (the last solve's) was ≤ ``tol`` × its largest entry, and free the rows where that
        reached ``after`` (:class:`MasterTuning`): bounds (−∞, +∞), so the master no longer
        holds them (a weaker master, still a relaxation: it only supplies multipliers), and
        :meth:`solve` reports ω = 0 there. Returns the rows freed by this call."""
        if not len(omega):
            return 0
        big = float(omega.max())
        idle = omega <= tol * big if big > 0 else np.ones(len(omega), dtype=bool)
        self.cov_idle = np.where(idle, self.cov_idle + 1, 0)
        new = np.nonzero((self.cov_idle >= after) & ~self.cov_free)[0]
        if len(new):
            for row in self.cov_rows[new].tolist():  # a few hundred at most
                self.h.changeRowBounds(int(row), -INF, INF)
            self.cov_free[new] = True
        return len(new)

    def park_idle_routes(self, reduced: np.ndarray, after: int, tol: float) -> int:
        """Count, per master route, the solves in a row with ``x`` = 0 and ``reduced`` (the
        pricing's LP reduced cost at the master's duals, per index route) > ``tol``, and
        park the routes where that reached ``after`` (:class:`MasterTuning`): ``x`` fixed
        at 0 and the route no longer :attr:`active`, so :meth:`add` revives it when the
        pricing picks it again. Returns the routes parked by this call."""
        live = self.routes[~self.parked[self.routes]]
        if not len(live):
            return 0
        xv = np.asarray(self.h.getSolution().col_value)[self.x_col[live]]
        idle = (reduced[live] > tol) & (xv <= 1e-9)
        self.x_idle[live] = np.where(idle, self.x_idle[live] + 1, 0)
        new = live[self.x_idle[live] >= after]
        if len(new):
            cols = self.x_col[new].astype(np.int32)
            zero = np.zeros(len(cols))
            self.h.changeColsBounds(len(cols), cols, zero, zero)
            self.parked[new] = True
            self.active[new] = False
        return len(new)

    def status(self) -> str:
        return str(self.h.modelStatusToString(self.h.getModelStatus()))

    @property
    def n_routes(self) -> int:
        return len(self.routes)

    @property
    def n_configs(self) -> int:
        return int((self.col_r >= 0).sum())

    def add(self, new: np.ndarray) -> int:
        """Add the routes ``new`` (index positions; those already in are skipped), their
        configurations if absent, their ``x`` columns and linking rows, and their error
        cover terms."""
        new = np.unique(np.asarray(new, dtype=np.int64))
        new = new[~self.active[new] & self.allowed[new]]
        back = new[self.parked[new]]  # parked routes priced again: x's bound back to 1
        if len(back):
            cols = self.x_col[back].astype(np.int32)
            self.h.changeColsBounds(len(cols), cols, np.zeros(len(cols)),
                                    np.ones(len(cols)))
            self.parked[back] = False
            self.active[back] = True
            self.x_idle[back] = 0
            new = new[~self.parked[new] & ~self.active[new]]
        m = len(new)
        if m == 0:
            return len(back)
        idx = self.idx
        i, k = idx.ri[new], idx.rk[new]
        self._add_configs(np.unique(k))
        rows = np.stack([self.row_demand[i], self.row_cap[k], self.err_row[i], self.dly_row[i]],
                        axis=1)
        vals = np.stack([np.ones(m), idx.load[new], self.x_err[new], self.x_dly[new]], axis=1)
        keep = rows >= 0
        col_of = np.broadcast_to(np.arange(m)[:, None], rows.shape)[keep]
        row_of, val_of = rows[keep], vals[keep]
        if self.covers is not None and self.covers.n:
            # a new route enters every weighted-cover row of its type (it is in no S_r:
            # those routes are in the master already), with coefficient a_rc⁺
            extra = [(col_of, row_of, val_of)]
            for r in range(self.covers.n):
                if self.cov_free[r]:
                    continue  # a freed row (:meth:`drop_idle_covers`) needs no new terms
                j = np.nonzero(i == self.covers.types[r])[0]
                if len(j):
                    a = self.covers.coef(r, new[j])
                    nz = a > 0
                    extra.append((j[nz], np.full(int(nz.sum()), self.cov_rows[r]), a[nz]))
            col_of, row_of, val_of = (np.concatenate(z) for z in zip(*extra))
            order = np.argsort(col_of, kind="stable")
            col_of, row_of, val_of = col_of[order], row_of[order], val_of[order]
        counts = np.bincount(col_of, minlength=m)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32)
        h = self.h
        h.addCols(m, self.x_cost[new], np.zeros(m), np.ones(m), int(counts.sum()), starts,
                  row_of.astype(np.int32), val_of)
        cols_x = self.n_cols + np.arange(m)
        self.n_cols += m
        # linking rows x_ic − v_ic w_c ≤ 0
        cols = np.stack([cols_x, self.col_w[k]], axis=1)
        lv = np.stack([np.ones(m), -idx.link_coef[new]], axis=1)
        h.addRows(m, np.full(m, -INF), np.zeros(m), 2 * m,
                  (2 * np.arange(m)).astype(np.int32), cols.ravel().astype(np.int32), lv.ravel())
        self.row_link[new] = self.n_rows + np.arange(m)
        self.n_rows += m
        if not self.full_cover:
            cover = self.good[new] & (self.cover_row[i] >= 0)
            for row, col in zip(self.cover_row[i[cover]].tolist(), self.col_w[k[cover]].tolist()):
                h.changeCoeff(row, col, 1.0)
        self.routes = np.concatenate([self.routes, new])
        self.col_x = np.concatenate([self.col_x, cols_x])
        self.x_col[new] = cols_x
        self.active[new] = True
        return m + len(back)

    def solve(self, time_limit_s: float | None = None) -> tuple[float, MasterDuals] | None:
        """Re-solve (warm from the last basis); ``(value, duals)``, or None if not optimal."""
        h = self.h
        if time_limit_s is not None:  # HiGHS's clock runs across the object's solves
            h.setOptionValue("time_limit", h.getRunTime() + max(1e-3, float(time_limit_s)))
        if self.ipm:
            # interior point without crossover (module docstring, "IPM master"): no warm
            # start, but central duals, which stabilise the pricing; the sign-valid duals
            # are all the Lagrangian needs
            h.setOptionValue("solver", "ipm")
            h.setOptionValue("run_crossover", "on" if self.crossover_next else "off")
            if self.ipm_tol is not None:
                h.setOptionValue("ipm_optimality_tolerance", float(self.ipm_tol))
        elif self._warm and self._rows_added:
            # new violated rows: the old basis is dual feasible, the dual simplex repairs it
            h.setOptionValue("simplex_strategy", 1)
            self._rows_added = False
        elif self._warm:
            # after adding columns the basis is primal feasible: the primal simplex goes on
            # from it (full cover, 50x30x30: 4.1 s vs 13.3 s dual, 19.4 s cold); the sparse
            # master's new x columns are boxed, so the dual simplex repairs them by bound
            # flips (20x20x20: 6.9 s vs 9.6 s primal for the whole generation), but at
            # 100x40x40 the primal simplex re-solves the same master from the same basis
            # 3-4x faster (MasterTuning.primal_after_columns; docs/milp.md, round 11) when
            # the last solve ended optimal: one cut at a deadline leaves a basis the
            # primal simplex must first make feasible (25k iterations, 63 s where the dual
            # went on in 1k, 7 s: results/milp/exact-r11-primal/)
            primal = self.full_cover or (self.primal_after_columns and self._last_optimal)
            h.setOptionValue("simplex_strategy", 4 if primal else 1)
        run_highs(h)
        self._warm = True
        self._last_optimal = self.status() == "Optimal"
        if self.ipm:
            self.ipm_solves += 1
            if self.crossover_next and self._last_optimal \
                    and h.getInfo().basis_validity == 1:
                # a basis: from here the simplex method, warm (MasterTuning.simplex_after)
                self.ipm = False
                self.crossover_next = False
                h.setOptionValue("solver", "simplex")
                self._rows_added = False
        if not self._last_optimal:
            return None
        sol = h.getSolution()
        dual = np.asarray(sol.row_dual)
        nI = len(self.inst.query_types)

        def per_type(rows: np.ndarray, sign: float) -> np.ndarray:
            out = np.zeros(nI)
            has = rows >= 0
            out[has] = np.maximum(0.0, sign * dual[rows[has]])
            return out

        present = self.col_w >= 0
        self.last_w = np.zeros(self.nK)  # the last optimal master's w (absent: 0)
        self.last_w[present] = np.asarray(sol.col_value)[self.col_w[present]]
        y = dual[self.row_demand].copy()
        eta, theta = per_type(self.err_row, -1.0), per_type(self.dly_row, -1.0)
        kappa = per_type(self.cover_row, 1.0)
        omega = np.maximum(0.0, dual[self.cov_rows]) if len(self.cov_rows) else np.zeros(0)
        omega[self.cov_free] = 0.0  # freed rows: not in the master, multiplier 0
        beta = float(max(0.0, -dual[self.row_budget])) if self.row_budget >= 0 else 0.0
        alpha = np.maximum(0.0, -dual[self.row_avail])
        sigma = float(max(0.0, -dual[self.row_storage])) if self.row_storage >= 0 else 0.0
        present = self.row_cap >= 0
        mu = np.zeros(self.nK)
        mu[present] = np.maximum(0.0, -dual[self.row_cap[present]])
        value = float(h.getInfo().objective_function_value)
        # the full LP's reduced cost of w_c: the master's, less the cover duals of the
        # cover terms the master does not hold yet (good routes not in it); absent
        # configurations are priced through their routes (LP pricing with mu = 0)
        idx = self.idx
        w_reduced = np.full(self.nK, np.inf)
        w_reduced[present] = np.asarray(sol.col_dual)[self.col_w[present]]
        if not self.full_cover:
            missing = self.good & ~self.active & (self.cover_row[idx.ri] >= 0)
            w_reduced -= np.bincount(idx.rk[missing], weights=kappa[idx.ri[missing]],
                                     minlength=self.nK)
        return value, MasterDuals((y, eta, theta, beta, alpha, sigma, kappa, omega), mu,
                                  w_reduced)

    def row_duals(self, am: ArrayModel) -> np.ndarray:
        """The last solve's row duals placed on the rows of ``am``, the full model over the
        same index (block by block: demand, cap, err, avgdelay, budget, avail, ub, minrep,
        onepar, store, stored, storage, link, cover_err); rows the master lacks (routes
        not generated, the average-delay cover, placement) get 0. Only the signs of the
        result matter for validity (:func:`milp.fixing.lagrangian_value` clips them), so
        any master solve gives multipliers of the full model."""
        dual = np.asarray(self.h.getSolution().row_dual)
        out = np.zeros(am.n_rows)
        idx = self.idx
        keys = dict(am.row_keys)
        deps = np.array([int(self.dep_row[d[0]]) for d in idx.deployments], dtype=np.int64)
        per_block = {
            "demand": self.row_demand, "cap": self.row_cap, "ub": self.row_ub,
            "minrep": self.row_minrep, "store": self.row_store, "stored": self.row_stored,
            "onepar": deps, "avail": self.row_avail, "link": self.row_link,
            "budget": np.array([self.row_budget]), "storage": np.array([self.row_storage])}
        by_type = {"err": self.err_row, "avgdelay": self.dly_row, "cover_err": self.cover_row}
        for name, sl in am.row_blocks.items():
            if name in per_block:
                rows = per_block[name]
            elif name in by_type:  # these blocks have a row only for some types: key = type
                rows = by_type[name][np.asarray(keys[name], dtype=np.int64)]
            else:
                continue
            if len(rows) != sl.stop - sl.start:
                continue  # a block of another shape than the master's: 0 is a valid dual
            have = rows >= 0
            block = np.zeros(len(rows))
            block[have] = dual[rows[have]]
            out[sl] = block
        return out

    def solve_mip(self, time_limit_s: float, start: tuple[np.ndarray, np.ndarray] | None = None,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict[str, Any]] | None:
        """Price-and-branch: ``r, w, o`` integer over the generated routes (a restriction of
        the MILP). ``start``: ``(r, x)`` over all configurations/routes of the instance
        (used as a MIP start where its routes are in the master). Returns the plan's
        ``(r, x)`` arrays over the instance's configurations and routes, or None."""
        if self.inst.single_placement:
            return None  # the placement columns z are not in the master
        h = self.h
        idx = self.idx
        present = self.col_r >= 0
        ints = np.concatenate([self.col_o, self.col_r[present], self.col_w[present]])
        ints = ints.astype(np.int32)
        kinds = highspy.HighsVarType
        h.changeColsIntegrality(len(ints), ints, np.array([kinds.kInteger] * len(ints)))
        h.setOptionValue("time_limit", h.getRunTime() + max(1e-3, float(time_limit_s)))
        h.setOptionValue("simplex_strategy", 1)
        h.setOptionValue("solver", "choose")
        h.setOptionValue("mip_rel_gap", 1e-4)
        if start is not None:
            h.setSolution(_master_start(self, *start))
        run_highs(h)
        info = h.getInfo()
        stats = {"status": self.status(), "mip_dual_bound": float(info.mip_dual_bound),
                 "objective_solver": float(info.objective_function_value),
                 "nodes": int(info.mip_node_count), "routes": self.n_routes,
                 "configs": self.n_configs}
        has_point = info.primal_solution_status == highspy.kSolutionStatusFeasible
        v = np.asarray(h.getSolution().col_value) if has_point else None
        # back to an LP, so the master stays usable
        h.changeColsIntegrality(len(ints), ints, np.array([kinds.kContinuous] * len(ints)))
        if v is None:
            return None
        t = self.inst.routes
        r = np.zeros(len(t))
        r[idx.cfg[present]] = v[self.col_r[present]]
        x = np.zeros((len(self.inst.query_types), len(t)))
        x[idx.ri[self.routes], idx.cfg[idx.rk[self.routes]]] = v[self.col_x]
        return r, x, stats


def _master_start(m: RestrictedMaster, r: np.ndarray, x: np.ndarray) -> highspy.HighsSolution:
    """A full column vector of the master from a plan's ``(r, x)`` (its routes must be in)."""
    idx = m.idx
    v = np.zeros(m.n_cols)
    present = m.col_r >= 0
    rk = r[idx.cfg]
    v[m.col_r[present]] = rk[present]
    v[m.col_w[present]] = (rk[present] > 0).astype(float)
    model_open = np.zeros(len(idx.models))
    np.maximum.at(model_open, idx.cfg_model_pos, (rk > 0).astype(float))
    v[m.col_o] = model_open
    xs = x[idx.ri[m.routes], idx.cfg[idx.rk[m.routes]]]
    v[m.col_x] = xs
    served = np.bincount(idx.ri[m.routes], weights=xs, minlength=len(m.inst.query_types))
    v[m.col_u] = np.clip(1.0 - served, 0.0, None)
    sol = highspy.HighsSolution()
    sol.col_value = list(v)
    sol.value_valid = True
    return sol


@dataclass(frozen=True)
class ColgenResult:
    """What the generation found. ``best_value`` is a certified bound (``-inf`` if no
    round ran; with ``close_upper``, after ``_Lagrangian.certified``); ``master_value``
    the last master's LP value (≥ the LP relaxation)."""

    best: Multipliers
    best_value: float
    master_value: float
    converged: bool
    rounds: int
    history: list[dict[str, Any]] = field(default_factory=list)


WCOVER_MORE_SOLVES = 3.0
""":func:`column_generation`'s ``wcover_more``: a separation beyond ``wcover_rounds`` only
with at least this many of the last master solve's wall time left before the deadline (the
new rows need a solve or two before *L* can gain from them)."""


def column_generation(lg: Any, master: RestrictedMaster, initial: np.ndarray, *,
                      per_type: int = 30, max_rounds: int = 200, smoothing: float = 0.5,
                      deadline: float | None = None, rel_tol: float = 1e-6,
                      stop_at_bound: bool = True,
                      close_upper: float | None = None, wcover_rounds: int = 0,
                      wcover_per_row: int = 1, wcover_gap: float = 0.0,
                      wcover_more: int = 0,
                      tuning: MasterTuning | None = None) -> ColgenResult:
    """The loop of the module docstring. ``lg`` is ``milp.bound._Lagrangian`` (its
    ``evaluate`` gives L and records the minimiser's routes and reduced costs).
    ``stop_at_bound=False`` skips the early stop at L ≥ the master's value and goes on until
    nothing prices out at the master's duals: the master is then the full LP and its duals
    are optimal duals of the full LP, which the reduced-cost fixing needs
    (:func:`milp.fixing.colgen_caps`; at L = master value some routes may still price out,
    since L keeps each configuration's capacity row in its subproblem).

    ``close_upper`` (a known plan's cost *U*): whenever the best *L* improves, the
    configurations that no plan of cost ≤ *U* can open are closed and replica counts
    capped at the best multipliers (:meth:`milp.bound._Lagrangian.close`; the master
    follows, :meth:`RestrictedMaster.restrict`), so the generation converges to the LP
    of the restricted model, which is no lower, and prices fewer routes. ``best_value`` is
    then *L* of the restricted model, and only ``min(U, best_value)`` is a bound on the
    complete model's optimum (``_Lagrangian.certified``, applied by the callers; the
    argument is in ``close``'s docstring).

    ``wcover_rounds`` > 0: where the loop would stop (L at the master's value, or nothing
    prices out), weighted covers are separated at the master's point
    (:meth:`RestrictedMaster.add_covers`, ``wcover_per_row`` rows per type and kind), added
    to the master and dualised by the Lagrangian (:class:`CoverRows`), and the generation
    goes on, up to that many separations (docs/milp.md "Certified bounds"). ``wcover_gap``
    (relative): separate already once *L* is that close to the master's value, and price
    in the same round (fewer master solves; 0: only where the loop would stop).
    ``wcover_more`` > 0 (with a ``deadline``): once the ``wcover_rounds`` separations are
    spent, up to that many more while the time left is at least
    :data:`WCOVER_MORE_SOLVES` times the last master solve's wall time (a generation that
    converges early spends its time on a stronger master; each is a separation as above).
    ``tuning``: :class:`MasterTuning` (None: all off)."""
    idx = master.idx
    tuning = MasterTuning() if tuning is None else tuning
    master.ipm_tol = tuning.ipm_tol
    master.primal_after_columns = tuning.primal_after_columns
    last_solve_s: float | None = None
    if wcover_rounds + wcover_more > 0 and master.covers is None:
        master.covers = CoverRows(idx, lg.ee, lg.dd)
    if master.covers is not None:
        lg.covers = master.covers
    separations = 0

    def separate(row: dict[str, Any]) -> bool:
        """One separation; True if rows were added (the loop goes on)."""
        nonlocal separations
        if separations >= wcover_rounds + wcover_more:
            return False
        if separations >= wcover_rounds and (
                deadline is None or last_solve_s is None
                or deadline - time.perf_counter() < WCOVER_MORE_SOLVES * last_solve_s):
            return False
        t_sep = time.perf_counter()
        n_new = master.add_covers(per_row=wcover_per_row)
        separations += 1
        row.update(cover_rows=n_new, cover_total=master.covers.n if master.covers else 0,
                   separation_s=time.perf_counter() - t_sep)
        return n_new > 0
    t0 = time.perf_counter()
    master.add(initial)
    best_value, best, centre = -math.inf, None, None
    closed_at = -math.inf
    master_value, converged, rounds = math.inf, False, 0
    history: list[dict[str, Any]] = []
    for rounds in range(1, max_rounds + 1):
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            break
        if tuning.skip_late and left is not None and last_solve_s is not None \
                and left < last_solve_s:
            # the master solves grow with the rows and routes: this one would be cut
            history.append({"round": rounds, "s": time.perf_counter() - t0,
                            "skipped": "predicted past the deadline", "left_s": left})
            break
        if tuning.simplex_after > 0 and master.ipm and master.ipm_solves >= tuning.simplex_after:
            master.crossover_next = True
        c_solve, w_solve = time.process_time(), time.perf_counter()
        solved = master.solve(left)
        solve_cpu = time.process_time() - c_solve
        last_solve_s = time.perf_counter() - w_solve
        if solved is None:
            history.append({"round": rounds, "s": time.perf_counter() - t0,
                            "master_status": master.status()})
            break
        master_value, duals = solved
        # a line search on the cover multipliers (any kappa >= 0 is valid): a restricted
        # master over-prices the cover (fewer configurations can meet it), and the
        # Lagrangian then pays that price to every good configuration of the full model
        kappa = duals.multipliers[6]
        for shrink in ((0.0, 0.25, 0.5) if kappa.any() else ()):
            trial: Any = (*duals.multipliers[:6], shrink * kappa, *duals.multipliers[7:])
            lag_k, _ = lg.evaluate(*trial)
            if lag_k > best_value:
                best_value, best = lag_k, trial
                centre = MasterDuals(trial, duals.mu, duals.w_reduced)
        lag, _ = lg.evaluate(*duals.multipliers)
        if lag > best_value:
            best_value, best, centre = lag, duals.multipliers, duals
        row = {"round": rounds, "s": time.perf_counter() - t0, "master": master_value,
               "lagrangian": lag, "best": best_value, "routes": master.n_routes,
               "master_cpu_s": solve_cpu,
               "simplex_iterations": int(master.h.getInfo().simplex_iteration_count),
               "ipm_iterations": int(master.h.getInfo().ipm_iteration_count)}
        history.append(row)
        if tuning.drop_idle > 0 and len(duals.multipliers[7]):
            row["freed"] = master.drop_idle_covers(duals.multipliers[7], tuning.drop_idle,
                                                   tuning.drop_tol)
            row["live_rows"] = int((~master.cov_free).sum())
        if close_upper is not None and best is not None and best_value > closed_at:
            closed_at = best_value
            again, n_capped = lg.close_at(best, close_upper)  # at the best multipliers
            master.restrict(lg.closed, lg.rbar)
            if again > best_value:
                best_value = again
            row.update(closed=int(lg.closed.sum()), capped=n_capped, best=best_value)
            lg.evaluate(*duals.multipliers)  # pricing below reads the last evaluation
        scale = max(1.0, abs(master_value))
        near = best_value >= master_value - max(rel_tol, wcover_gap) * scale
        rows_added = near and separate(row)  # a stronger LP: generate again
        if stop_at_bound and best_value >= master_value - rel_tol * scale:
            if rows_added:
                continue
            converged = True  # L has reached the master's LP value: nothing left to gain
            break
        # LP reduced costs at the master's own duals: none negative = master is the full LP
        at_master = lg.last_d + duals.mu[idx.rk] * idx.load
        if tuning.park_idle > 0:
            row["parked"] = master.park_idle_routes(at_master, tuning.park_idle,
                                                    tuning.park_tol * scale)
            row["live_routes"] = int(master.active.sum())
        neg_master = (at_master < -1e-9) & ~master.active
        open_for_cover = _cover_terms(master, duals, at_master, per_type)
        if not neg_master.any() and not len(open_for_cover):
            if rows_added or (not near and separate(row)):
                continue
            converged = True
            break
        new = [lg.last_used]
        assert centre is not None
        if smoothing > 0 and centre is not duals:
            point = centre.blend(duals, smoothing)
            lag_s, _ = lg.evaluate(*point.multipliers)
            if lag_s > best_value:  # the smoothed point is a valid multiplier vector too
                best_value, best, centre = lag_s, point.multipliers, point
                row["best"] = best_value
            sep = _priced(lg, idx, master, point, per_type)
            new.append(sep)
            if not neg_master[sep].any():  # mispricing: price at the master's duals too
                new.append(_top(idx, neg_master, at_master, per_type))
        else:
            new.append(_top(idx, neg_master, at_master, per_type))
        new.append(open_for_cover)
        row["added"] = master.add(np.concatenate(new))
    if best is None:  # no master solve finished before the deadline: L at zero multipliers
        nI = len(master.inst.query_types)
        zero = np.zeros(nI)
        best = (zero, zero, zero, 0.0, np.zeros(len(lg.gpu_limits)), 0.0, zero, np.zeros(0))
    return ColgenResult(best, best_value, master_value, converged, rounds, history)


def _priced(lg: Any, idx: ModelIndex, master: RestrictedMaster, point: MasterDuals,
            per_type: int) -> np.ndarray:
    """Routes to add at ``point`` (``lg.evaluate`` was just called there): the ``per_type``
    most negative LP reduced costs of each type, and the Lagrangian minimiser's routes."""
    reduced = lg.last_d + point.mu[idx.rk] * idx.load
    out = lg.last_used[~master.active[lg.last_used]]
    # the configurations the minimiser opens for the error cover bring their good routes
    kappa = point.multipliers[6]
    cover = master.good & lg.last_chosen[idx.rk] & (kappa[idx.ri] > 0) & ~master.active
    return np.concatenate([out, _top(idx, (reduced < -1e-9) & ~master.active, reduced, per_type),
                           _top(idx, cover, reduced, per_type)])


def _cover_terms(master: RestrictedMaster, duals: MasterDuals, reduced: np.ndarray,
                 per_type: int) -> np.ndarray:
    """The missing cover terms that price out: for each configuration whose ``w_c`` has a
    negative full-LP reduced cost, its good routes (not in the master) of the types whose
    cover row has a positive dual; the ``per_type`` of least ``reduced`` cost per type."""
    idx = master.idx
    kappa = duals.multipliers[6]
    short = duals.w_reduced < -1e-9
    sel = short[idx.rk] & master.good & ~master.active & (kappa[idx.ri] > 1e-12) \
        & (master.cover_row[idx.ri] >= 0) & master.allowed
    return _top(idx, sel, reduced, per_type)


def _top(idx: ModelIndex, mask: np.ndarray, reduced: np.ndarray, per_type: int) -> np.ndarray:
    """The ``per_type`` most negative ``reduced`` of each type among ``mask``."""
    cand = np.nonzero(mask)[0]
    return cand[cheapest(idx.ri[cand], reduced[cand], per_type)] if len(cand) else cand


def cheapest(group: np.ndarray, key: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest ``key`` of each ``group``."""
    order = np.lexsort((key, group))
    g = group[order]
    first = np.searchsorted(g, g, side="left")
    rank = np.arange(len(order)) - first
    return order[rank < k]
