r"""A certified lower bound where the MILP cannot finish: Lagrangian relaxation by configuration
(:func:`lagrangian_bound`), and beyond it HiGHS's dual bound on the model fixed by a known
plan (:func:`fixed_model_bound`).

Dualise the rows that link configurations: demand (:math:`y_i`, free), error and
average-delay (:math:`\eta_i, \theta_i \ge 0`), budget (:math:`\beta \ge 0`),
availability (:math:`\alpha_g \ge 0`) and storage capacity (:math:`\sigma \ge 0`); drop
the cover rows (valid inequalities) and, under single placement, the placement rows
(dropping rows only relaxes). What is left splits by model, deployment and
configuration and is solved *exactly*:

* a route's reduced cost :math:`d_{ic} = 3600T\rho_i\lambda_i D_{ic} - y_i +
  \eta_i(e_{ic}-\varepsilon_i) + \theta_i(D_{ic}-\Delta_i)`;
* a replica of *c* costs :math:`k_c = T\pi_c(1+\beta) + \sum_g \alpha_g U_{cg}`
  (:math:`U_{cg}` GPUs of type *g* per replica, ``routes.gpu_use``);
* an open configuration (:math:`w_c = 1`, integer :math:`1 \le r_c \le \bar R_c`) solves
  :math:`V_c = \min_r k_c r + F_c(\rho^{max} r)`, with :math:`F_c(K) = \min\{\sum_i d_{ic}
  x_{ic} : \sum_i a_{ic}x_{ic} \le K, 0 \le x \le 1\}` a fractional knapsack (greedy by
  :math:`-d/a`). :math:`F_c` is convex, so :math:`k_c r + F_c(\rho r)` is convex in *r*
  and its integer minimum is at :math:`\lfloor A^*_c/\rho\rfloor` or one more (clipped
  to :math:`[1, \bar R_c]`), :math:`A^*_c` = the load of the routes with
  :math:`-d/a \ge k_c/\rho`;
* a deployment opens at most one configuration (unless ``multi_parallelism``), a model
  pays its storage :math:`S_j(Tp^s(1+\beta)+\sigma)` once if any of its deployments is
  open: :math:`M_j = \min(0, S_j(\dots) + \sum_d \min(0, \min_{c\in d} V_c))`;
* :math:`L = \sum_i y_i + \sum_i \zeta_i \min(0, 3600T\varphi_i\lambda_i - y_i) - \beta\delta
  - \sum_g \alpha_g N_g - \sigma C^s + \sum_j M_j`.

For **any** multipliers of the right signs :math:`L` is a lower bound on the MILP
optimum (weak duality); it is computed exactly from the multipliers, so the number is
certified however the multipliers were found. Because :math:`r_c` stays integer in the
subproblem the best :math:`L` can exceed the LP bound (no integrality property). The
multipliers are improved by a subgradient method with Polyak steps towards a known
plan's cost (e.g. AGH's); only routes with negative reduced cost are sorted per
iteration, so an iteration is linear in the number of routes.

The bound is on the model after :mod:`milp.reductions`, whose optimum equals the
complete model's (and the incumbent bound only removes plans dearer than that plan).
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from hetserve.instances.evaluate import evaluate_arrays
from hetserve.instances.model import Instance
from hetserve.instances.result import RunResult, Status
from hetserve.instances.solution import Solution
from hetserve.milp.colgen import (
    ColgenResult,
    CoverRows,
    MasterTuning,
    RestrictedMaster,
    cheapest,
    column_generation,
)
from hetserve.milp.fixing import Fixing, fixing_from_closing
from hetserve.milp.highs_model import ArrayModel
from hetserve.milp.index import ModelIndex, make_index
from hetserve.milp.reductions import Reductions, map_plan
from hetserve.milp.solve import (
    SUPPORT_MIP_MIN_ROOM,
    SUPPORT_MIP_TIME_SHARE,
    MilpParams,
    extract,
    solve,
    support_mip,
)


@dataclass(frozen=True, eq=False)
class BoundResult:
    """``value`` is a certified lower bound on the optimum (``-inf`` if none was found).

    ``master`` is the column generation's restricted master (for price-and-branch) when
    asked for with ``keep_master``."""

    value: float
    method: str
    seconds: float
    iterations: int
    stats: dict[str, Any]
    master: RestrictedMaster | None = None
    closing: dict[str, np.ndarray] | None = None
    """With ``close``: per index configuration, ``rbar`` (0 = closed) and ``open`` (the
    Lagrangian with ``w_c = 1`` forced, at the best multipliers, on the restricted model)."""
    lagrangian: Any = None
    """With ``keep_master``: the :class:`_Lagrangian` (closed state included), so a closing
    generation can go on with a smaller *U* (:func:`resume_closing`)."""


IPM_MASTER_MIN_ROUTES = 1_000_000
"""The sparse restricted master is solved by interior point (no crossover) from this many
routes (:mod:`milp.colgen`, "IPM master"); below it by simplex from the previous basis."""


class _Lagrangian:
    """The data of the configuration-decomposed Lagrangian (module docstring)."""

    def __init__(self, instance: Instance, idx: ModelIndex) -> None:
        t = instance.routes
        q = instance.query_types
        self.inst = instance
        self.idx = idx
        T = instance.horizon_h
        self.rho = instance.max_utilisation
        self.nI = len(q)
        cfg = idx.cfg
        self.nK = len(cfg)
        self.ri = idx.ri
        self.rk = idx.rk
        rc = cfg[idx.rk]
        lam = np.array([qt.rate_per_s for qt in q])
        secs = 3600.0 * T
        self.load = idx.load
        self.cx = secs * np.array([qt.delay_penalty for qt in q])[self.ri] * lam[self.ri] \
            * t.delay[self.ri, rc]
        eps = np.array([qt.error_slo for qt in q])
        self.ee = t.error[self.ri, rc] - eps[self.ri]
        self.good = self.ee <= 0  # the route meets its type's error SLO on its own
        self.has_err = np.zeros(self.nI, dtype=bool)
        np.logical_or.at(self.has_err, self.ri, self.ee > 0)
        self.avg = instance.delay_constraint in ("average", "both")
        slo = np.array([qt.delay_slo_s for qt in q])
        self.dd = t.delay[self.ri, rc] - slo[self.ri]
        self.has_dly = np.zeros(self.nI, dtype=bool)
        if self.avg:
            np.logical_or.at(self.has_dly, self.ri, self.dd > 0)
        self.cu = secs * np.array([qt.unmet_penalty for qt in q]) * lam
        self.zeta = np.array([qt.max_unmet for qt in q])
        self.rent = T * t.price_per_replica_hour[cfg]
        self.rbar = idx.rbar.astype(float)
        self.budget = instance.budget
        # availability multipliers for every GPU type whose row can bind
        self.gpu_use = idx.gpu_row_use()  # (nK, rows): the rows' coefficients
        self.gpu_limits = np.array([float(lim) for _, lim, _ in idx.gpu_rows])
        sizes = np.array([instance.models[int(j)].weight_gb_fp16 for j in idx.models])
        self.sizes = sizes
        self.store = T * instance.storage_price_per_gb_h * sizes
        self.cap_gb = instance.storage_capacity_gb
        self.model_of = idx.cfg_model_pos
        # deployment id of each configuration (one per configuration if multi-parallelism)
        dep = np.arange(self.nK)
        if not instance.multi_parallelism:
            for d, ks in enumerate(idx.deployments):
                dep[ks] = self.nK + d
        _, self.dep = np.unique(dep, return_inverse=True)
        self.nD = int(self.dep.max()) + 1 if self.nK else 0
        self.dep_model = np.zeros(self.nD, dtype=np.int64)
        self.dep_model[self.dep] = self.model_of
        self.nM = len(sizes)
        # configurations closed by :meth:`close` (w_c = 0 in every plan of cost ≤ U) and
        # the routes they take with them; rbar above is lowered there too
        self.closed = np.zeros(self.nK, dtype=bool)
        self.route_open = np.ones(len(self.ri), dtype=bool)
        self.closed_upper: float | None = None
        # weighted covers dualised with multipliers omega (:class:`milp.colgen.CoverRows`,
        # set by the column generation that holds them as master rows)
        self.covers: CoverRows | None = None

    def evaluate(self, y: np.ndarray, eta: np.ndarray, theta: np.ndarray, beta: float,
                 alpha: np.ndarray, sigma: float, kappa: np.ndarray | None = None,
                 omega: np.ndarray | None = None) -> tuple[float, tuple[Any, ...]]:
        r"""``L`` at the multipliers and a subgradient (``kappa``: the cover rows'; ``omega``:
        the weighted covers' of :attr:`covers`, missing entries 0; no subgradient for it).

        With ``omega`` the rows :math:`\sum_{c\notin S_r} a_{rc}^+ x_{ic} + \sum_{c\in
        S_r}\min(1,a_{rc}^+) w_c + u_i \ge 1` are dualised like the cover rows: ``L``
        gains :math:`\sum_r\omega_r`, a route's reduced cost loses
        :math:`\sum_{r: c\notin S_r}\omega_r a_{rc}^+`, an open configuration's value
        :math:`\sum_{r: c\in S_r}\omega_r\min(1,a_{rc}^+)`, the unmet share's cost
        :math:`\sum_r\omega_r` of its type's rows. The rows hold for every plan
        (docs/milp.md "Tightenings"), so every plan pays :math:`\omega_r(1 - \text{lhs})
        \le 0` and the subproblem, still solved exactly (only its linear costs moved),
        stays below every plan: a bound for any ``omega`` ≥ 0."""
        kappa = np.zeros(self.nI) if kappa is None else kappa
        rho = self.rho
        d = self.cx - y[self.ri] + eta[self.ri] * self.ee
        if self.avg:
            d = d + theta[self.ri] * self.dd
        cov_bonus: np.ndarray | float = 0.0
        cov_type = np.zeros(self.nI)
        omega_sum = 0.0
        if self.covers is not None and omega is not None and len(omega) and self.covers.n:
            om = np.maximum(0.0, np.concatenate([omega, np.zeros(self.covers.n - len(omega))])
                            [: self.covers.n])
            dec, cov_bonus, cov_type = self.covers.dualised(om, self.nK, self.nI)
            d = d - dec
            omega_sum = float(om.sum())
        k = self.rent * (1 + beta)
        if len(alpha):
            k = k + self.gpu_use @ alpha
        if self.closed_upper is not None:
            d = np.where(self.route_open, d, np.inf)  # closed: never priced, never served
        neg = np.nonzero(d < 0)[0]
        nk = self.nK
        # sort the negative routes by configuration, then by -d/a descending
        ratio = -d[neg] / self.load[neg]
        order = neg[np.lexsort((-ratio, self.rk[neg]))]
        ks = self.rk[order]
        a_s = self.load[order]
        d_s = d[order]
        cum = np.cumsum(a_s)
        seg_first = np.searchsorted(ks, np.arange(nk), side="left")
        cum0 = np.concatenate([[0.0], cum])[seg_first]  # load before each configuration
        before = cum - a_s - cum0[ks]
        thr = k / rho
        take = -d_s / a_s >= thr[ks]
        a_star = np.bincount(ks, weights=np.where(take, a_s, 0.0), minlength=nk)
        r_lo = np.clip(np.floor(a_star / rho), 1.0, self.rbar)
        r_hi = np.clip(r_lo + 1.0, 1.0, self.rbar)

        def value(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            x = np.clip((rho * r[ks] - before) / a_s, 0.0, 1.0)
            return k * r + np.bincount(ks, weights=d_s * x, minlength=nk), x

        v_lo, x_lo = value(r_lo)
        v_hi, x_hi = value(r_hi)
        hi_better = v_hi < v_lo
        bonus = np.bincount(self.rk, weights=np.where(self.good, kappa[self.ri], 0.0),
                            minlength=nk)
        val_c = np.where(hi_better, v_hi, v_lo) - bonus - cov_bonus
        val_c[self.closed] = np.inf  # the restricted model: a closed c cannot open
        r_best = np.where(hi_better, r_hi, r_lo)
        self._last_knap = (k, ks, a_s, d_s, before, r_best, np.where(hi_better, v_hi, v_lo))
        # deployments: the best configuration, if it pays
        best_dep = np.full(self.nD, np.inf)
        np.minimum.at(best_dep, self.dep, val_c)
        dep_val = np.minimum(0.0, best_dep)
        store = self.sizes * (self.store / np.maximum(self.sizes, 1e-300) * (1 + beta) + sigma)
        model_sum = np.bincount(self.dep_model, weights=dep_val, minlength=self.nM)
        model_val = np.minimum(0.0, store + model_sum)
        kap_u = kappa + cov_type  # the unmet share u_i is in the cover rows and in type i's covers
        lag = float(y.sum() + kappa.sum() + omega_sum
                    + (self.zeta * np.minimum(0.0, self.cu - y - kap_u)).sum() + model_val.sum())
        if self.budget is not None:
            lag -= beta * self.budget
        if len(alpha):
            lag -= float(alpha @ self.gpu_limits)
        if self.cap_gb is not None:
            lag -= sigma * self.cap_gb
        # the minimiser: open models, their best deployments' best configurations
        open_model = (store + model_sum) < 0
        is_best = val_c <= best_dep[self.dep]
        # one configuration per deployment (the first best)
        first = np.full(self.nD, nk)
        np.minimum.at(first, self.dep, np.where(is_best, np.arange(nk), nk))
        chosen = (np.arange(nk) == first[self.dep]) & (best_dep[self.dep] < 0) \
            & open_model[self.model_of]
        x_s = np.where(hi_better[ks], x_hi, x_lo) * chosen[ks]
        served = np.bincount(self.ri[order], weights=x_s, minlength=self.nI)
        u = np.where(self.cu - y - kap_u < 0, self.zeta, 0.0)
        g_y = 1.0 - served - u
        covered = np.bincount(self.ri, weights=(self.good & chosen[self.rk]).astype(float),
                              minlength=self.nI)
        g_kappa = 1.0 - covered - u
        g_eta = np.bincount(self.ri[order], weights=self.ee[order] * x_s, minlength=self.nI)
        g_eta = np.where(self.has_err, g_eta, 0.0)
        g_theta: np.ndarray = np.zeros(self.nI)
        if self.avg:
            g_theta = np.bincount(self.ri[order], weights=self.dd[order] * x_s, minlength=self.nI)
            g_theta = np.where(self.has_dly, g_theta, 0.0)
        r_open = np.where(chosen, r_best, 0.0)
        spend = float(self.rent @ r_open + self.store @ open_model)
        g_beta = spend - self.budget if self.budget is not None else 0.0
        g_alpha = np.zeros(len(alpha))
        if len(alpha):
            g_alpha = r_open @ self.gpu_use - self.gpu_limits
        g_sigma = float(self.sizes @ open_model) - self.cap_gb if self.cap_gb is not None else 0.0
        self.last_used = order[x_s > 0]
        self.last_chosen = chosen
        self.last_d = d
        # L restricted to plans that open configuration c (for open_bounds): its deployment
        # must take c's value, and its model pays its storage whatever the others do
        j = self.model_of
        self.last_open = lag - model_val[j] + store[j] + model_sum[j] - dep_val[self.dep] + val_c
        return lag, (g_y, g_eta, g_theta, g_beta, g_alpha, g_sigma, g_kappa)

    def replica_bounds(self, upper: float) -> np.ndarray:
        r"""After :meth:`evaluate`: for each configuration the largest ``r`` such that the
        Lagrangian with ``w_c = 1, r_c = r`` forced is ≤ ``upper`` (0 where even
        :math:`r^*_c` exceeds it). That Lagrangian is ``last_open_c − v_c(r^*) + v_c(r)``
        with :math:`v_c(r) = k_c r + F_c(\rho r)` convex in *r* (module docstring), so the
        admissible *r* form an interval around :math:`r^*_c` and its upper end is found by
        a bisection on every configuration at once."""
        k, ks, a_s, d_s, before, r_star, v_star = self._last_knap
        rho, nk = self.rho, self.nK
        base = self.last_open - v_star  # + v_c(r) = the forced-r Lagrangian

        def v(r: np.ndarray) -> np.ndarray:
            x = np.clip((rho * r[ks] - before) / a_s, 0.0, 1.0)
            return k * r + np.bincount(ks, weights=d_s * x, minlength=nk)

        ok = np.isfinite(base) & (base + v_star <= upper)
        lo = np.where(ok, r_star, 0.0)
        hi = np.where(ok, self.rbar, 0.0)
        while True:
            todo = hi > lo
            if not todo.any():
                break
            mid = np.where(todo, np.floor((lo + hi + 1.0) / 2.0), lo)
            fits = base + v(mid) <= upper
            lo = np.where(todo & fits, mid, lo)
            hi = np.where(todo & ~fits, mid - 1.0, hi)
        return lo

    def close(self, upper: float) -> tuple[int, int]:
        """After :meth:`evaluate`: close every configuration whose forced-open Lagrangian
        exceeds ``upper`` (a known plan's cost, with the usual 1e-9 slack) and lower
        ``rbar`` to :meth:`replica_bounds`. Every plan of cost ≤ ``upper`` satisfies both
        (weak duality on the model restricted to ``w_c = 1``, resp. ``r_c = r``), so the
        model left — the *restricted model* — holds all of them, and from here on
        :meth:`evaluate` is the Lagrangian of the restricted model: ``min(upper, L)`` is
        still a lower bound on the complete model's optimum. Returns ``(closed, capped)``
        counts of this call."""
        limit = upper * (1 + 1e-9) + 1e-9
        self.closed_upper = limit if self.closed_upper is None else min(self.closed_upper, limit)
        cap = self.replica_bounds(limit)
        newly = (cap < 1) & ~self.closed
        lowered = (cap >= 1) & (cap < self.rbar)
        self.closed |= newly
        self.rbar = np.where(self.closed, 0.0, np.minimum(self.rbar, cap))
        self.route_open = ~self.closed[self.rk]
        return int(newly.sum()), int(lowered.sum())

    def close_at(self, multipliers: Any, upper: float) -> tuple[float, int]:
        """:meth:`close` at ``multipliers`` (evaluated first: the last :meth:`evaluate` may
        have been at others), then the same multipliers on the restricted model. Returns
        ``(L of the restricted model, replica counts capped by this call)``."""
        self.evaluate(*multipliers)
        _, capped = self.close(upper)
        lag, _ = self.evaluate(*multipliers)
        return lag, capped

    def closing_state(self) -> dict[str, np.ndarray]:
        """What survives the closing so far (:attr:`BoundResult.closing`): per configuration
        ``rbar`` (0 = closed) and ``open``, the forced-open Lagrangian of the last
        :meth:`evaluate`."""
        return {"rbar": self.rbar.copy(), "open": self.last_open.copy()}

    def certified(self, value: float) -> float:
        """A Lagrangian value turned into a bound on the complete model: itself, or
        ``min(upper, value)`` once :meth:`close` has restricted the model."""
        return value if self.closed_upper is None else min(self.closed_upper, value)

    def open_bounds(self, *multipliers: Any) -> tuple[float, np.ndarray]:
        """``(L, L_c)`` at the multipliers: ``L_c`` is the Lagrangian of the subproblem with
        ``w_c = 1`` forced, a lower bound on every plan that opens configuration *c* (the
        same weak duality, applied to the MILP restricted to ``w_c = 1``): its deployment's
        term becomes ``V_c`` instead of ``min(0, best of the deployment)``, and its model's
        term ``storage + Σ deployments`` instead of ``min(0, …)``."""
        lag, _ = self.evaluate(*multipliers)
        return lag, self.last_open


def lagrangian_bound(instance: Instance, *, upper_bound: float | None = None,
                     iterations: int = 300, time_limit_s: float | None = None,
                     reductions: Reductions | None = None, step0: float = 0.1,
                     patience: int = 30, lp_routes_per_type: int = 30,
                     cg_max_rounds: int = 200, smoothing: float = 0.5,
                     start_routes: tuple[np.ndarray, np.ndarray] | None = None,
                     keep_master: bool = False, seed: int = 0,
                     full_cover: bool | None = None,
                     index: ModelIndex | None = None,
                     cg_until_lp: bool = False, close: bool = False,
                     wcover_rounds: int = 0, wcover_per_row: int = 1,
                     wcover_gap: float = 0.0, wcover_more: int = 0,
                     master_tuning: MasterTuning | None = None) -> BoundResult:
    """A certified lower bound by the Lagrangian of the module docstring.

    The multipliers come from LP column generation over routes (:mod:`milp.colgen`: one
    persistent restricted master, Wentges smoothing, the Lagrangian evaluated on the full
    model at every round), then a short subgradient polish (``iterations``, Polyak steps
    towards ``upper_bound``, a known plan's cost, which also enables the incumbent
    reduction; without it the target is 1.05 × the best bound so far).
    ``lp_routes_per_type``: the master starts from that many cheapest routes (fluid cost)
    of each type and error class, and adds that many priced routes per type and round
    (0 skips the generation). ``start_routes``: ``(types, configurations)`` index arrays of
    a known plan's routes, added to the first master (so its plan is a point of it).
    ``time_limit_s``: wall cap (the generation stops at 80 % of it, the polish at 100 %);
    the number returned is certified whenever it stops. ``full_cover``: the master holds
    the error-cover rows whole (dense; fewer rounds) or only its routes' terms (sparse;
    cheaper rounds); default: whole below 10^6 routes. ``index``: the model's index sets
    when the caller has them (e.g. the solve's, so the master's rows line up with its
    model; :func:`milp.fixing.colgen_caps`); ``reductions`` is then not used.
    ``cg_until_lp``: the generation goes on until the master is the full LP (its duals
    are then the full LP's), not only until the bound reaches the master's value.
    ``close``: with ``upper_bound``, close configurations and cap replica counts during the
    generation (:func:`milp.colgen.column_generation`'s ``close_upper``); the bound is
    then ``min(upper_bound, L)`` of the restricted model, and ``stats["closed"]``,
    ``BoundResult.closing`` what survives (:func:`milp.fixing.fixing_from_closing` turns it
    into caps).
    ``wcover_rounds``: separations of weighted covers during the generation
    (:func:`milp.colgen.column_generation`; rows of the master, dualised in the
    Lagrangian); 0 (default) is the generation without them. ``wcover_per_row``,
    ``wcover_gap``: rows per type and separation, and how close *L* must be to the
    master's value for a separation, and ``wcover_more`` separations beyond
    ``wcover_rounds`` while the time allows (:func:`milp.colgen.column_generation`).
    ``master_tuning``: :class:`milp.colgen.MasterTuning` of the generation (None: off).
    """
    t0 = time.perf_counter()
    reductions = Reductions() if reductions is None else reductions
    idx = make_index(instance, None, reductions, upper_bound) if index is None else index
    lg = _Lagrangian(instance, idx)
    if lg.nK == 0:
        return BoundResult(-math.inf, "lagrangian", time.perf_counter() - t0, 0,
                           {"note": "no usable configuration"})
    nI = lg.nI
    # start: each type's cheapest fluid cost per unit share (its LP price without fixed charges)
    per_share = lg.cx + lg.rent[lg.rk] * lg.load / lg.rho
    y: np.ndarray = np.full(nI, np.inf)
    np.minimum.at(y, lg.ri, per_share)
    y = np.where(np.isfinite(y), y, lg.cu)
    y = np.where(lg.zeta > 0, np.minimum(y, lg.cu), y)
    eta: np.ndarray = np.zeros(nI)
    theta: np.ndarray = np.zeros(nI)
    beta, sigma = 0.0, 0.0
    alpha: np.ndarray = np.zeros(len(lg.gpu_limits))
    kappa = np.zeros(nI)
    omega = np.zeros(0)
    start_value = lg.evaluate(y, eta, theta, beta, alpha, sigma, kappa)[0]
    cg: ColgenResult | None = None
    master = None
    lp_s = 0.0
    if lp_routes_per_type > 0:
        t_lp = time.perf_counter()
        deadline = None if time_limit_s is None else t0 + 0.8 * time_limit_s
        if full_cover is None:
            full_cover = idx.n_routes < 1_000_000
        master = RestrictedMaster(instance, idx, lg.good, lg.has_err, lg.has_dly, seed=seed,
                                  full_cover=full_cover,
                                  ipm=not full_cover and idx.n_routes >= IPM_MASTER_MIN_ROUTES)
        group = idx.ri * 2 + lg.good
        initial = [cheapest(group, per_share, lp_routes_per_type)]
        if start_routes is not None:
            initial.append(_route_positions(instance, idx, *start_routes))
        cg = column_generation(lg, master, np.concatenate(initial),
                               per_type=lp_routes_per_type, max_rounds=cg_max_rounds,
                               smoothing=smoothing, deadline=deadline,
                               stop_at_bound=not cg_until_lp,
                               close_upper=upper_bound if close else None,
                               wcover_rounds=wcover_rounds, wcover_per_row=wcover_per_row,
                               wcover_gap=wcover_gap, wcover_more=wcover_more,
                               tuning=master_tuning)
        lp_s = time.perf_counter() - t_lp
        if cg.best_value > start_value:
            y, eta, theta, beta, alpha, sigma, kappa, omega = cg.best
    # diagonal scaling: a type's multiplier moves in proportion to its own price level
    scale = np.maximum(y, 1e-12) / max(float(np.mean(np.maximum(y, 1e-12))), 1e-12)
    best, best_it, step, stall = -math.inf, 0, step0, 0
    it = 0
    t_polish = time.perf_counter()
    for it in range(1, iterations + 1):
        lag, (g_y, g_eta, g_theta, g_beta, g_alpha, g_sigma, g_kappa) = lg.evaluate(
            y, eta, theta, beta, alpha, sigma, kappa, omega)  # omega stays fixed
        if not math.isfinite(best) or lag > best + 1e-12 * max(1.0, abs(best)):
            best, best_it, stall = lag, it, 0
        else:
            stall += 1
            if stall >= patience:
                step, stall = step / 2, 0
        target = upper_bound if upper_bound is not None and upper_bound > best \
            else (abs(best) * 1.05 + 1e-9)
        # projected subgradient: a multiplier at 0 whose row is slack does not move
        g_eta = np.where((eta <= 0) & (g_eta < 0), 0.0, g_eta)
        g_theta = np.where((theta <= 0) & (g_theta < 0), 0.0, g_theta)
        g_alpha = np.where((alpha <= 0) & (g_alpha < 0), 0.0, g_alpha)
        g_beta = 0.0 if beta <= 0 and g_beta < 0 else g_beta
        g_sigma = 0.0 if sigma <= 0 and g_sigma < 0 else g_sigma
        g_kappa = np.where((kappa <= 0) & (g_kappa < 0), 0.0, g_kappa)
        norm = float(g_y @ (scale * g_y) + g_kappa @ (scale * g_kappa) + g_eta @ g_eta
                     + g_theta @ g_theta + g_beta ** 2
                     + g_alpha @ g_alpha + g_sigma ** 2)
        if norm <= 1e-18 or step < 1e-6:
            break
        if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
            break
        s = step * (target - lag) / norm
        y = y + s * scale * g_y
        eta = np.maximum(0.0, eta + s * g_eta)
        theta = np.maximum(0.0, theta + s * g_theta)
        beta = max(0.0, beta + s * g_beta) if lg.budget is not None else 0.0
        alpha = np.maximum(0.0, alpha + s * g_alpha)
        sigma = max(0.0, sigma + s * g_sigma) if lg.cap_gb is not None else 0.0
        kappa = np.maximum(0.0, kappa + s * scale * g_kappa)
    closing = None
    if close and upper_bound is not None and cg is not None and cg.history:
        # a last closing at the best multipliers, and the forced-open bounds there
        lag, _ = lg.close_at(cg.best, upper_bound)
        best = max(best, lag)
        closing = lg.closing_state()
    best = lg.certified(max(best, start_value, cg.best_value if cg is not None else -math.inf))
    # floating-point sums: shave a relative 1e-9 so the number stays on the safe side
    value = best - 1e-9 * abs(best) if math.isfinite(best) else best
    stats: dict[str, Any] = {
        "best_iteration": best_it, "lp_start_s": lp_s, "polish_s": time.perf_counter() - t_polish,
        "cg_rounds": cg.rounds if cg else 0, "cg_routes": master.n_routes if master else 0,
        "cg_converged": cg.converged if cg else False, "full_cover": full_cover,
        "cg_bound": cg.best_value if cg else None,
        "master_lp": cg.master_value if cg else None,
        "cg_history": cg.history if cg else [],
        "routes": int(idx.n_routes), "configs": int(idx.n_cfg),
        "closed": int(lg.closed.sum()), "capped": int((lg.rbar < idx.rbar).sum() - lg.closed.sum()),
        "cover_rows": master.covers.n if master is not None and master.covers else 0,
        "reduced": dict(idx.reduced.counts) if idx.reduced else {}}
    return BoundResult(value, "lagrangian", time.perf_counter() - t0, it, stats,
                       master if keep_master else None, closing, lg if keep_master else None)


def resume_closing(lb: BoundResult, upper_bound: float, time_limit_s: float, *,
                   per_type: int = 30, smoothing: float = 0.5, wcover_rounds: int = 0,
                   wcover_per_row: int = 1, wcover_gap: float = 0.0,
                   tuning: MasterTuning | None = None) -> BoundResult:
    """Go on with a closing generation (``lb`` from :func:`lagrangian_bound` with ``close``
    and ``keep_master``) with a cheaper known plan's cost ``upper_bound`` (e.g. the support
    MIP's), or the same one with more time: the same master and restricted model, closing
    with *U*, for at most ``time_limit_s``. The value is ``max(lb.value, min(U, L))``: both
    are bounds. ``wcover_rounds`` (``wcover_per_row``, ``wcover_gap``): that many more
    separations of weighted covers (valid for every plan, so *L* stays a bound for any
    number of them: docs/milp.md "Certified bounds"); ``tuning``: the master's
    :class:`milp.colgen.MasterTuning` (None: all off)."""
    t0 = time.perf_counter()
    lg, master = lb.lagrangian, lb.master
    assert lg is not None and master is not None and lb.closing is not None
    cg = column_generation(lg, master, np.zeros(0, dtype=np.int64), per_type=per_type,
                           smoothing=smoothing, deadline=t0 + time_limit_s,
                           close_upper=upper_bound, wcover_rounds=wcover_rounds,
                           wcover_per_row=wcover_per_row, wcover_gap=wcover_gap,
                           tuning=tuning)
    closing = lb.closing
    best = cg.best_value
    if cg.history and math.isfinite(cg.best_value):
        lag, _ = lg.close_at(cg.best, upper_bound)
        best = max(best, lag)
        closing = lg.closing_state()
    best = lg.certified(best)
    value = max(lb.value, best - 1e-9 * abs(best) if math.isfinite(best) else best)
    stats = {**lb.stats, "resume_rounds": cg.rounds, "resume_converged": cg.converged,
             "resume_s": time.perf_counter() - t0, "resume_bound": best,
             "resume_history": cg.history, "closed": int(lg.closed.sum()),
             "cg_converged": cg.converged, "master_lp": cg.master_value}
    return BoundResult(value, "lagrangian", lb.seconds + time.perf_counter() - t0,
                       lb.iterations, stats, master, closing, lg)


def fixed_model_bound(instance: Instance, plan: Solution, *, time_limit_s: float = 240.0,
                      seed: int = 0, threads: int = 1, closing: bool = True,
                      closing_share: float | None = None, support_share: float = 0.4,
                      resume_share: float = 0.4, target_routes: int | None = None,
                      highs_log: str | None = None,
                      highs_options: tuple[tuple[str, Any], ...] = (),
                      target_cutoff: bool = True,
                      wcover_rounds: int = 0,
                      closing_wcover_rounds: int = 8, closing_wcover_per_row: int = 2,
                      closing_wcover_gap: float = 0.01, closing_wcover_more: int = 0,
                      closing_tuning: MasterTuning | None = None,
                      target_sizing: bool | None = None, target_covers: bool = True,
                      concurrent_closing: bool = False
                      ) -> tuple[BoundResult, RunResult]:
    r"""A certified bound beyond the LP: HiGHS's dual bound on the model *fixed* by a known
    plan (docs/milp.md "Certified bounds", the fixed-model bound).

    ``plan`` (e.g. AGH's) has cost *U*. :func:`milp.solve.solve` with it as the start runs
    the column-generation fixing (:func:`milp.fixing.colgen_caps`: drops every
    configuration, and caps every replica count, that no plan of cost ≤ *U* can use,
    docs/milp.md §4), possibly the support MIP (a cheaper plan *U'* ≤ *U*, which fixes
    more), builds the fixed model and runs HiGHS on it in ``time_limit_s`` (the whole
    call's wall limit: the fixing takes at most half). Every plan of the complete model
    cheaper than *U'* is a point of the fixed model, so its cost is at least HiGHS's dual
    bound *B* there; every other plan costs ≥ *U'*. Hence ``min(U', B)`` is a lower bound
    on the optimum, and so is the fixing's own Lagrangian value *L* (weak duality); the
    result is the larger. *L* is recomputed from the multipliers (certified by its
    numbers); *B* is HiGHS's, so it holds to HiGHS's tolerances like every proven
    optimum of the project; a relative 1e-9 is shaved off as for the Lagrangian.

    ``closing`` (default): the caps come from :func:`milp.fixing.closing_caps` (column
    generation that closes configurations by the configuration Lagrangian as it goes, in
    at most ``closing_share`` of the limit), and the fixed model is built over the
    surviving configurations only; the complete model is never built (at 100x40x40 it
    takes 3–4 GB). *L* is then ``min(U, L')`` of the restricted model (the argument is in
    :meth:`_Lagrangian.close`). The support MIP (:func:`milp.solve.support_mip`, at most
    ``support_share`` of the time left) runs before the build, and its cheaper *U'* closes
    more: the generation goes on closing with *U'* (:func:`resume_closing`, at most
    ``resume_share`` of the time left); if more than :data:`FIXED_MODEL_MAX_SURVIVORS`
    routes still survive, the model is fixed for a target cost *V* that keeps about
    ``target_routes`` routes (default :data:`FIXED_MODEL_TARGET_ROUTES`; :func:`_target_cost`)
    and the bound is ``min(V, B_V)``; with no such *V*, HiGHS is not run and the result is
    *L* with the best plan. ``highs_log``: HiGHS's log of the fixed model's solve to that
    file (its bound over time); ``highs_options`` are added to HiGHS's options there;
    ``target_cutoff`` (default): HiGHS's ``objective_bound`` is set to *V* on the target
    model (only plans cheaper than *V* matter there: HiGHS prunes and fixes by reduced cost
    against *V*, and stops once its bound passes *V*; results/milp/large-bound-4/:
    100x40x40 s0 certifies *V* = 1,360.20 in 207 s instead of 1,358.79 in 299 s), and
    HiGHS's primal heuristics are off there (:data:`TARGET_HIGHS_OPTIONS`; ``highs_options``
    override them).
    ``wcover_rounds`` > 0 (closing path only): instead of HiGHS's MIP, the fixed (or target)
    model's LP with that many rounds of weighted error covers (:func:`wcover_lp_bound`);
    the bound is ``min(U', C)`` (``min(V, C)``), *C* its certified value, and ``method``
    ``"fixed-lp-wcover"`` where that beats *L* (docs/milp.md "Certified bounds").
    ``closing_wcover_rounds`` > 0 (closing path, default 8): that many separations of
    weighted covers inside the closing generation (:func:`lagrangian_bound`'s
    ``wcover_rounds``): a higher *L* and larger forced-open bounds, so fewer survivors for a
    given *V* (``closing_wcover_per_row``, ``closing_wcover_gap``: its ``wcover_per_row``,
    ``wcover_gap``); with them ``closing_share`` defaults to 0.7 (a cap: a converged
    generation hands the rest to HiGHS) and ``target_routes`` to
    :data:`FIXED_MODEL_TARGET_ROUTES_COVERS`, else 0.5 and
    :data:`FIXED_MODEL_TARGET_ROUTES` (results/milp/exact-r6-covclose/).
    ``closing_wcover_more``: separations beyond ``closing_wcover_rounds`` while the
    closing's time allows (:func:`lagrangian_bound`'s ``wcover_more``; 0 by default,
    unmeasured end to end).
    ``closing_tuning``: the closing master's :class:`milp.colgen.MasterTuning` (None:
    :data:`CLOSING_TUNING`, the warm simplex after four IPM solves and no solve past the
    deadline; ``MasterTuning()`` for all off).
    ``target_sizing`` (None, the default: on unless ``target_routes`` is given; since round
    9, results/milp/exact-r9-closetime/): the target model is sized from the time left
    instead of ``target_routes`` (:func:`sized_target_routes`: the most routes HiGHS is
    predicted to prove in that time, from a measured rate scaled by the closing's speed
    probe); where that gives no *V* at least :data:`TARGET_SIZING_MIN_GAIN` above *L*, the
    time goes to the closing instead (:func:`resume_closing`, with more separations) and
    the result is its *L*; where HiGHS proves *V* early, a second, larger target with the
    rest (the rate recalibrated from the first solve), and the result is the larger of
    the certified numbers (docs/milp.md "Certified bounds", *a target sized from the time
    left*).
    ``target_covers`` (the default since round 10; results/milp/exact-r10-pairs/: it beat
    the target without them in 5 of 7 pairs at 100x40x40 s0, median 1,386.23 against
    1,384.11): the closing's weighted covers are appended as rows of the target model
    HiGHS solves (:func:`closing_cover_rows`; valid for every plan), and the sizing uses
    :data:`TARGET_COVERS_BASE_S` / :data:`TARGET_COVERS_ROUTES_PER_S`
    (results/milp/exact-r9-closetime/covprobe.jsonl). It acts only where a target model is
    built from a closing with cover rows.
    ``concurrent_closing`` (off by default; :func:`certified_bound` turns it on with two
    threads): where a target model is sized and the closing has not converged, HiGHS
    proves the target on a second thread while the closing goes on here until the deadline
    (:func:`resume_closing`; both with one HiGHS thread, as concurrent HiGHS instances in
    one process need the same thread count). The model is built before the closing resumes,
    so it holds the cover rows of that moment. The result is the larger of the closing's
    final *L* and ``min(V, B_V)``; each is a bound on its own. No second target is tried.
    ``closing=False``:
    ``solve``'s own fixing (:func:`milp.fixing.colgen_caps` on the complete model).

    Returns ``(bound, run)``: ``run`` is the MILP's result on the fixed model, whose plan
    (if any) is no dearer than ``plan`` (HiGHS starts from it) — a by-product.
    ``bound.method`` is ``"fixed-mip"`` where *B* beat *L*, else ``"lagrangian"``."""
    t0 = time.perf_counter()
    covers = closing and closing_wcover_rounds > 0
    if target_sizing is None:
        target_sizing = target_routes is None
    if closing_share is None:
        closing_share = 0.7 if covers else 0.5
    if target_routes is None:
        target_routes = FIXED_MODEL_TARGET_ROUTES_COVERS if covers else FIXED_MODEL_TARGET_ROUTES
    ev = evaluate_arrays(instance, *plan.to_arrays(instance))
    if not ev.feasible:
        raise ValueError("the plan is infeasible: it gives no upper bound to fix with")
    params = MilpParams(threads=threads, time_limit_s=time_limit_s, msg=False)
    caps_fix, target, survivors, sub_stats = None, None, None, None
    closing_stats: dict[str, Any] = {}
    sizing: dict[str, Any] | None = None
    tuning = CLOSING_TUNING if closing_tuning is None else closing_tuning
    if closing:
        _, x0 = plan.to_arrays(instance)
        ti, tc = np.nonzero(x0 > 0)
        idx = make_index(instance, params.tightening, params.reductions, float(ev.objective))
        upper = float(ev.objective)
        lb = lagrangian_bound(instance, upper_bound=upper, index=idx, iterations=0,
                              keep_master=True, seed=seed, close=True, start_routes=(ti, tc),
                              time_limit_s=closing_share * time_limit_s / 0.8,
                              wcover_rounds=closing_wcover_rounds,
                              wcover_per_row=closing_wcover_per_row,
                              wcover_gap=closing_wcover_gap,
                              wcover_more=closing_wcover_more,
                              master_tuning=tuning)
        caps_fix = fixing_from_closing(idx, lb, t0)
        closing_stats = {"closing_s": time.perf_counter() - t0,
                         "closing_converged": lb.stats["cg_converged"],
                         "closing_rounds": lb.stats["cg_rounds"],
                         "closing_cover_rows": lb.stats["cover_rows"],
                         "closing_history": lb.stats["cg_history"]}
        sub_stats = None
        if caps_fix is not None and upper - caps_fix.bound > SUPPORT_MIP_MIN_ROOM * abs(upper):
            # the support MIP before anything is built: a cheaper U' closes more
            left = max(0.1, time_limit_s - (time.perf_counter() - t0))
            sub_params = replace(params, time_limit_s=support_share * left
                                 / SUPPORT_MIP_TIME_SHARE)
            plan, better, sub_stats = support_mip(instance, sub_params, seed, idx, caps_fix,
                                                  upper, plan)
            if better < upper and not lb.stats["cg_converged"]:
                # go on closing with U' (same master, same multipliers); a converged
                # generation has the LP's duals already, and with_upper applies U'
                left = max(0.1, time_limit_s - (time.perf_counter() - t0))
                lb = resume_closing(lb, better, resume_share * left)
                caps_fix = fixing_from_closing(idx, lb, t0)
                if sub_stats is not None:
                    sub_stats = {**sub_stats, "resume_rounds": lb.stats["resume_rounds"],
                                 "resume_s": lb.stats["resume_s"],
                                 "resume_bound": lb.stats["resume_bound"]}
            elif better < upper:
                caps_fix = caps_fix.with_upper(better)
        if caps_fix is not None:
            survivors = int((caps_fix.caps[idx.cfg][idx.rk] >= 1).sum())
            whole = False  # the sizing predicts HiGHS proves the model fixed by U' itself
            if survivors > FIXED_MODEL_MAX_SURVIVORS:  # HiGHS's root would not finish
                if target_sizing:
                    left = 0.99 * time_limit_s - (time.perf_counter() - t0)
                    speed = speed_probe(closing_stats["closing_history"])
                    scale = 1.0 if speed is None else speed / TARGET_SIZING_SPEED
                    base_s, per_s = (TARGET_COVERS_BASE_S, TARGET_COVERS_ROUTES_PER_S) \
                        if target_covers else (TARGET_SIZING_BASE_S, TARGET_SIZING_ROUTES_PER_S)
                    routes_now = sized_target_routes(left, scale, base_s, per_s)
                    whole = routes_now is not None and routes_now >= survivors
                    target = None if routes_now is None or whole else \
                        _target_cost(idx, caps_fix, routes_now)
                    sizing = {"left_s": left, "speed": speed, "scale": scale,
                              "routes": routes_now, "target": target, "whole": whole,
                              "base_s": base_s, "routes_per_s": per_s}
                    if target is not None and target < caps_fix.bound + TARGET_SIZING_MIN_GAIN:
                        target = None  # a V ≤ L bounds nothing beyond L
                    if target is None and not whole:
                        # no target HiGHS can prove usefully: the time goes to the closing
                        u_now = min(float(ev.objective),
                                    float((sub_stats or {}).get("objective", math.inf)))
                        lb, caps_fix = _closing_to_the_end(
                            idx, lb, caps_fix, u_now, t0, 0.97 * time_limit_s, tuning,
                            closing_wcover_rounds, closing_wcover_per_row, closing_wcover_gap,
                            sizing)
                        return _lagrangian_only(instance, plan, caps_fix, sub_stats, survivors,
                                                float(ev.objective), t0, seed,
                                                {"target_sizing": sizing, **closing_stats})
                else:
                    target = _target_cost(idx, caps_fix, target_routes)
            if survivors > FIXED_MODEL_MAX_SURVIVORS and not whole:
                if target is None:  # L only
                    return _lagrangian_only(instance, plan, caps_fix, sub_stats, survivors,
                                            float(ev.objective), t0, seed)
                first_caps = caps_fix
                caps_fix = caps_fix.with_upper(target)
                if target_cutoff:
                    # options given by the caller come last, so they override these
                    highs_options = (("objective_bound", target), *TARGET_HIGHS_OPTIONS,
                                     *highs_options)
        params = replace(params, support_mip=False, log_file=highs_log,
                         highs_options=params.highs_options + tuple(highs_options),
                         # 1 % of the limit kept for what follows HiGHS (evaluation, stats;
                         # ≈ 1 s at 100x40x40)
                         time_limit_s=max(1.0, 0.99 * time_limit_s - (time.perf_counter() - t0)))
    if wcover_rounds > 0 and caps_fix is not None:
        return _wcover_fixed_bound(instance, plan, float(ev.objective), params, caps_fix,
                                   target, survivors, sub_stats, wcover_rounds, t0, seed)
    # with a target V the known plan may lie outside the fixed model: HiGHS starts cold
    t_highs = time.perf_counter()
    covers_now = lb.master.covers if (closing and target_covers and target is not None
                                      and lb.master is not None) else None
    rows = covers_now if covers_now is not None and covers_now.n > 0 else None
    more_l = -math.inf
    concurrent = False
    if (concurrent_closing and closing and sizing is not None and caps_fix is not None
            and target is not None and lb.master is not None
            and not lb.stats.get("cg_converged")):
        # HiGHS on the target model on a second thread, the closing on here (both one
        # HiGHS thread); the model is built first, with the cover rows of this moment
        concurrent, params = True, replace(params, threads=1)
        caps_now, sizing_now = caps_fix, sizing
        if rows is not None:
            built = _target_model_with_covers(instance, params, seed, caps_now, rows, idx)

            def prove() -> RunResult:
                return _run_target_model(params, seed, caps_now, *built)
        else:
            def prove() -> RunResult:
                return solve(instance, params, seed=seed, warm_start=None, fixing=caps_now)
        u_now = min(float(ev.objective), float((sub_stats or {}).get("objective", math.inf)))
        with ThreadPoolExecutor(max_workers=1) as pool:
            job = pool.submit(prove)
            more, _ = _closing_to_the_end(
                idx, lb, caps_now, u_now, t0, 0.97 * time_limit_s, tuning,
                closing_wcover_rounds, closing_wcover_per_row, closing_wcover_gap, sizing_now)
            run = job.result()
        more_l = float(more.value)
        sizing_now["concurrent"] = {"closing_bound": more_l}
    elif rows is not None and caps_fix is not None:
        run = _target_with_covers(instance, params, seed, caps_fix, rows, idx)
    else:
        run = solve(instance, params, seed=seed, warm_start=plan if target is None else None,
                    fixing=caps_fix)
    st = run.stats
    fixing = st.get("fixing") or {}
    lag = max(float(fixing.get("bound", -math.inf)), more_l)
    sub = st.get("support_mip") or (sub_stats if closing else None) or {}
    upper = min(float(ev.objective), float(sub.get("objective", math.inf)))
    cut = upper if target is None else target  # every plan cheaper than this is in the model
    if run.status is Status.INFEASIBLE:
        highs = cut  # no plan cheaper than the cut exists in the fixed model, so none at all
    else:
        highs = min(cut, run.bound) if run.bound is not None else -math.inf
    highs_bound = run.bound
    if sizing is not None and target is not None and highs >= target and not concurrent:
        # V proven: a second, larger target with the time left (min(V2, B_V2) is a bound
        # on its own, so the result is the larger of the certified numbers)
        second = _second_target(instance, params, seed, idx, first_caps, target, sizing,
                                time.perf_counter() - t_highs,
                                0.99 * time_limit_s - (time.perf_counter() - t0), covers_now)
        if second is not None and second[0] > highs:
            highs, run2 = second
            if run2.feasible and run2.objective is not None and run2.objective < upper:
                run = run2
    if target is not None and not (run.feasible and run.objective is not None
                                   and run.objective < upper):
        run = _plan_run(instance, plan, time.perf_counter() - t0, seed, st)
    best = max(lag, highs)
    value = best - 1e-9 * abs(best) if math.isfinite(best) else best
    stats: dict[str, Any] = {
        "upper": upper, "agh_upper": float(ev.objective), "lagrangian": lag,
        "highs_bound": highs_bound,
        "root_bound": st.get("root_bound"), "highs_status": st.get("highs_status"),
        "fixing_dropped": fixing.get("dropped"), "fixing_lowered": fixing.get("lowered"),
        "fixing_s": fixing.get("seconds"), "fixing_method": fixing.get("method"),
        "lp_value": fixing.get("lp_value"), "build_s": st.get("build_s"),
        "solve_s": st.get("solve_s"), "solve_cpu_s": st.get("solve_cpu_s"),
        "n_vars": st.get("n_vars"), "n_int": st.get("n_int"), "n_rows": st.get("n_rows"),
        "nodes": st.get("nodes"), "support_mip": sub or None, "target": target,
        "surviving_routes": survivors, "plan": run.objective if run.feasible else None,
        "target_sizing": sizing, "target_cover_rows": st.get("cover_rows"), **closing_stats}
    method = "fixed-mip" if highs > lag else "lagrangian"
    return BoundResult(value, method, time.perf_counter() - t0, 0, stats), run


def speed_probe(history: list[dict[str, Any]] | None) -> float | None:
    """CPU seconds of a closing's first :data:`SPEED_SOLVES` master solves (the same LPs
    whatever the tuning: results/milp/exact-r8-bprime/), a probe of the machine's speed
    during the run; None with fewer solves."""
    cpu = [h["master_cpu_s"] for h in history or () if "master_cpu_s" in h]
    return float(sum(cpu[:SPEED_SOLVES])) if len(cpu) >= SPEED_SOLVES else None


def sized_target_routes(left_s: float, scale: float = 1.0, base_s: float | None = None,
                        routes_per_s: float | None = None) -> int | None:
    r"""The most routes of a target-cost model HiGHS is predicted to prove in ``left_s``
    wall seconds: HiGHS's time there is modelled as ``scale`` × (:data:`TARGET_SIZING_BASE_S`
    + routes / :data:`TARGET_SIZING_ROUTES_PER_S`) (presolve and the root LP over the
    rows every target model has, then the part that grows with its routes), of which
    :data:`TARGET_SIZING_SAFETY` of ``left_s`` may be spent. ``scale``: the machine's
    speed against the measurement's (a speed probe's ratio, or a first solve's actual
    over predicted time). None below :data:`TARGET_SIZING_MIN_ROUTES` (*V* would be
    within ≈ 0.1 of *L*: results/milp/exact-r9-closetime/) and at most
    :data:`TARGET_SIZING_MAX_ROUTES` (the lines are measured up to 14k routes).
    Non-decreasing in ``left_s``, non-increasing in ``scale``. ``base_s``,
    ``routes_per_s``: another time model (None: the constants above; ``target_covers``
    uses :data:`TARGET_COVERS_BASE_S` and :data:`TARGET_COVERS_ROUTES_PER_S`)."""
    if not (left_s > 0 and scale > 0):
        return None
    base = TARGET_SIZING_BASE_S if base_s is None else base_s
    rate = TARGET_SIZING_ROUTES_PER_S if routes_per_s is None else routes_per_s
    routes = min(rate * (TARGET_SIZING_SAFETY * left_s / scale - base),
                 TARGET_SIZING_MAX_ROUTES)
    return int(routes) if routes >= TARGET_SIZING_MIN_ROUTES else None


def _closing_to_the_end(idx: ModelIndex, lb: BoundResult, caps_fix: Fixing, upper: float,
                        t0: float, until_s: float, tuning: MasterTuning, wcover_rounds: int,
                        wcover_per_row: int, wcover_gap: float, sizing: dict[str, Any]
                        ) -> tuple[BoundResult, Fixing]:
    """:func:`fixed_model_bound` with ``target_sizing`` when no target model can be proven
    usefully in the time left: the closing goes on (:func:`resume_closing`, ``wcover_rounds``
    more separations) until ``until_s`` after ``t0``; its *L* (≥ the first one's) and caps.
    Unchanged where the generation converged (its master is the LP with all its rows)."""
    left = until_s - (time.perf_counter() - t0)
    if lb.stats.get("cg_converged") or lb.master is None or lb.closing is None or left <= 1.0:
        sizing["closing_more"] = None
        return lb, caps_fix
    more = resume_closing(lb, upper, left, wcover_rounds=wcover_rounds,
                          wcover_per_row=wcover_per_row, wcover_gap=wcover_gap, tuning=tuning)
    fix = fixing_from_closing(idx, more, t0)
    sizing["closing_more"] = {"rounds": more.stats["resume_rounds"],
                              "s": more.stats["resume_s"], "bound": more.value,
                              "history": more.stats["resume_history"]}
    return (more, fix) if fix is not None else (lb, caps_fix)


def _second_target(instance: Instance, params: MilpParams, seed: int, idx: ModelIndex,
                   caps: Fixing, first: float, sizing: dict[str, Any], first_s: float,
                   left_s: float, covers: CoverRows | None = None
                   ) -> tuple[float, RunResult] | None:
    """After HiGHS proved the first target *V₁* in ``first_s``: the first one's time model
    (``sizing``'s) recalibrated from that solve (``scale`` = its actual over its predicted
    seconds) sizes a second target for the ``left_s`` left; only a *V₂* above *V₁* is
    tried, solved as the first was (with the closing's cover rows where ``covers`` has
    any). Returns ``(min(V₂, B_V₂), run)``, a lower bound on its own (every plan cheaper
    than *V₂* is a point of that model), or None."""
    base_s, per_s = sizing["base_s"], sizing["routes_per_s"]
    scale = max(first_s, 1e-3) / (base_s + sizing["routes"] / per_s)
    routes = sized_target_routes(left_s, scale, base_s, per_s)
    sizing["second"] = {"first_s": first_s, "scale": scale, "left_s": left_s,
                        "routes": routes}
    if routes is None or routes <= sizing["routes"]:
        return None
    target = _target_cost(idx, caps, routes)
    sizing["second"]["target"] = target
    if target is None or target <= first + TARGET_SIZING_MIN_GAIN:
        return None
    opts = tuple((k, v) for k, v in params.highs_options if k != "objective_bound")
    p = replace(params, time_limit_s=max(1.0, left_s),
                highs_options=(("objective_bound", target), *opts))
    if covers is not None and covers.n > 0:
        run = _target_with_covers(instance, p, seed, caps.with_upper(target), covers, idx)
    else:
        run = solve(instance, p, seed=seed, warm_start=None, fixing=caps.with_upper(target))
    if run.status is Status.INFEASIBLE:
        value = target
    else:
        value = min(target, run.bound) if run.bound is not None else -math.inf
    sizing["second"].update(status=run.stats.get("highs_status"), value=value,
                            s=run.stats.get("solve_s"))
    return value, run


def closing_cover_rows(am: ArrayModel, covers: CoverRows, closing_idx: ModelIndex
                       ) -> tuple[Any, np.ndarray]:
    r"""The closing's weighted covers (:class:`milp.colgen.CoverRows`, over the routes of
    ``closing_idx``) as rows ``A v ≥ lo`` over ``am``'s columns (a fixed or target-cost
    model of the same instance): row *r* is
    :math:`\sum_{c \notin S_r} a^+_{rc} x_{i_r c} + \sum_{c \in S_r} \min(1, a^+_{rc}) w_c
    + u_{i_r} \ge 1` with :math:`a_{rc} = 1 - t_r d_{i_r c}` over the routes of type
    :math:`i_r` that ``am`` has. *Valid*: the row holds for every plan of the complete
    model (docs/milp.md "Tightenings", weighted error cover), and a plan of ``am`` is one of
    the complete model with the other columns at 0, where the missing terms vanish.
    Coefficients below :data:`COVER_ROW_TINY` (HiGHS would drop them) are left out and the
    row's side lowered by what they can add: the largest ``x`` coefficient left out (the
    type's ``x`` sum to at most 1, its demand row) plus the ``w`` coefficients left out
    (each ``w ≤ 1``)."""
    import scipy.sparse as sp

    inst = am.index.instance
    tidx = am.index
    t = inst.routes
    eps = np.array([q.error_slo for q in inst.query_types])
    slo = np.array([q.delay_slo_s for q in inst.query_types])
    rc = tidx.route_cfg()
    dev = (t.error[tidx.ri, rc] - eps[tidx.ri], t.delay[tidx.ri, rc] - slo[tidx.ri])
    x0, w0, u0 = am.cols["x"].start, am.cols["w"].start, am.cols["u"].start
    s_cfg = closing_idx.cfg[closing_idx.rk[covers.s_route]]  # instance configuration ids
    start = np.searchsorted(tidx.ri, np.arange(len(inst.query_types) + 1), side="left")
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lo = np.ones(covers.n)
    for r in range(covers.n):
        i = int(covers.types[r])
        sel = np.arange(start[i], start[i + 1])
        a = np.maximum(0.0, 1.0 - covers.t[r] * dev[int(covers.kind[r])][sel])
        in_s = np.isin(rc[sel], s_cfg[covers.s_row == r])
        coef = np.where(in_s, np.minimum(1.0, a), a)
        tiny = (coef > 0) & (coef < COVER_ROW_TINY)
        if tiny.any():
            lo[r] -= float(coef[tiny & ~in_s].max(initial=0.0)) + float(coef[tiny & in_s].sum())
        keep = coef >= COVER_ROW_TINY
        col = np.where(in_s, w0 + tidx.rk[sel], x0 + sel)[keep]
        rows += [np.full(int(keep.sum()) + 1, r)]
        cols += [np.append(col, u0 + i)]
        vals += [np.append(coef[keep], 1.0)]
    A = sp.csr_matrix((np.concatenate(vals) if vals else np.zeros(0),
                       (np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64),
                        np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64))),
                      shape=(covers.n, am.n_cols))
    A.sum_duplicates()  # a route's x and its configuration's w never share a column
    return A, lo


COVER_ROW_TINY = 1e-9
""":func:`closing_cover_rows` leaves out coefficients below this (HiGHS's small-matrix-value
tolerance) and lowers the row's side instead."""


def _target_with_covers(instance: Instance, params: MilpParams, seed: int, caps: Fixing,
                        covers: CoverRows, closing_idx: ModelIndex) -> RunResult:
    """HiGHS on the target-cost model fixed by ``caps`` with the closing's cover rows
    (:func:`closing_cover_rows`), ``params``' options (the cutoff at *V* among them) and
    time limit. A :class:`RunResult` without a plan: status INFEASIBLE when HiGHS proves no
    plan below the cutoff, else its dual bound as ``bound``; the stats
    :func:`fixed_model_bound` reads."""
    return _run_target_model(params, seed, caps,
                             *_target_model_with_covers(instance, params, seed, caps, covers,
                                                        closing_idx))


def _target_model_with_covers(instance: Instance, params: MilpParams, seed: int, caps: Fixing,
                              covers: CoverRows, closing_idx: ModelIndex
                              ) -> tuple[ArrayModel, int, float, float]:
    """The model :func:`_target_with_covers` solves: ``(model, cover rows, build s, t0)``."""
    from hetserve.milp.cutpool import with_cuts
    from hetserve.milp.solve import fixed_model

    t0 = time.perf_counter()
    am = fixed_model(instance, params, seed, None, None, t0, fixing=caps).am
    A, lo = closing_cover_rows(am, covers, closing_idx)
    model = with_cuts(am, A, lo, np.full(len(lo), np.inf))
    return model, int(A.shape[0]), time.perf_counter() - t0, t0


def _run_target_model(params: MilpParams, seed: int, caps: Fixing, model: ArrayModel,
                      cover_rows: int, build_s: float, t0: float) -> RunResult:
    """HiGHS on a model of :func:`_target_model_with_covers` (:func:`_target_with_covers`'s
    result and stats)."""
    import highspy

    from hetserve.instances.solver_log import SolverLog, new_highs
    from hetserve.milp.highs_run import configure

    h = new_highs()
    configure(h, time_limit_s=max(0.1, params.time_limit_s - build_s),
              mip_rel_gap=params.mip_rel_gap, threads=params.threads, seed=seed,
              log=SolverLog(to_stderr=False, file=params.log_file),
              options=tuple(params.highs_options))
    h.passModel(model.to_highs_lp())
    c0, w0 = time.process_time(), time.perf_counter()
    h.run()
    info = h.getInfo()
    status = h.getModelStatus()
    infeasible = status == highspy.HighsModelStatus.kInfeasible
    dual = float(info.mip_dual_bound)
    stats: dict[str, Any] = {
        "fixing": {"bound": caps.bound, "dropped": caps.dropped, "lowered": caps.lowered,
                   "seconds": caps.seconds, "method": caps.method, "lp_value": caps.lp_value},
        "highs_status": h.modelStatusToString(status), "build_s": build_s,
        "solve_s": time.perf_counter() - w0, "solve_cpu_s": time.process_time() - c0,
        "n_vars": model.n_cols, "n_int": model.n_int, "n_rows": model.n_rows,
        "nodes": int(info.mip_node_count), "cover_rows": cover_rows}
    return RunResult("milp", Status.INFEASIBLE if infeasible else Status.NO_SOLUTION, None,
                     None, time.perf_counter() - t0,
                     bound=None if infeasible or not math.isfinite(dual) else dual,
                     seed=seed, stats=stats)


WCOVER_PRESOLVE = False
""":func:`wcover_lp_bound`'s first LP with HiGHS's presolve (benchmark toggle)."""


def _wcover_fixed_bound(instance: Instance, plan: Solution, agh_upper: float,
                        params: MilpParams, fixing: Fixing, target: float | None,
                        survivors: int | None, sub: dict[str, Any] | None, rounds: int,
                        t0: float, seed: int) -> tuple[BoundResult, RunResult]:
    """:func:`fixed_model_bound` with ``wcover_rounds``: the fixed (or target-cost) model's
    LP with weighted error covers instead of HiGHS's MIP; ``min(cut, C)`` with *C* the
    certified value of :func:`wcover_lp_bound` and *cut* = *U'* (or *V*)."""
    from hetserve.milp.solve import fixed_model

    am = fixed_model(instance, params, seed, None, None, t0, fixing=fixing).am
    upper = min(agh_upper, float((sub or {}).get("objective", math.inf)))
    cut = upper if target is None else target  # every plan cheaper than this is in the model
    left = params.time_limit_s - (time.perf_counter() - t0)
    cert, wst = wcover_lp_bound(am, rounds, time_limit_s=max(1e-3, left), seed=seed,
                                stop_at=cut, presolve=WCOVER_PRESOLVE)
    lp_bound = min(cut, cert)
    best = max(fixing.bound, lp_bound)
    value = best - 1e-9 * abs(best) if math.isfinite(best) else best
    seconds = time.perf_counter() - t0
    stats: dict[str, Any] = {
        "upper": upper, "agh_upper": agh_upper, "lagrangian": fixing.bound,
        "highs_bound": None, "root_bound": None, "highs_status": "not run",
        "fixing_dropped": fixing.dropped, "fixing_lowered": fixing.lowered,
        "fixing_s": fixing.seconds, "fixing_method": fixing.method,
        "lp_value": fixing.lp_value, "build_s": None, "solve_s": None, "solve_cpu_s": None,
        "n_vars": am.n_cols, "n_int": am.n_int, "n_rows": am.n_rows, "nodes": None,
        "support_mip": sub or None, "target": target, "surviving_routes": survivors,
        "wcover_bound": cert, **wst}
    run = _plan_run(instance, plan, seconds, seed, {"fixing": {"method": fixing.method},
                                                    "support_mip": sub})
    stats["plan"] = run.objective
    method = "fixed-lp-wcover" if lp_bound > fixing.bound else "lagrangian"
    return BoundResult(value, method, seconds, 0, stats), run


def wcover_lp_bound(am: ArrayModel, rounds: int, *, time_limit_s: float, seed: int = 0,
                    stop_at: float = math.inf, presolve: bool = False
                    ) -> tuple[float, dict[str, Any]]:
    """A certified lower bound on every plan of ``am`` from its LP relaxation with
    ``rounds`` rounds of weighted error covers (:func:`milp.cuts.weighted_cover_cuts`,
    valid for every plan: docs/milp.md "Tightenings"; dual simplex, warm between rounds,
    stopping early when a round finds no violated row or the time is up). The number is
    :func:`milp.fixing.lagrangian_value` at the last LP's row duals over ``am`` with the
    rows (weak duality: any multipliers of the right signs, so it holds whatever the
    simplex did, also when it stopped at the limit); the best over the rounds is
    returned with the stats (LP value, certified value, rows and seconds per round).
    ``stop_at``: no further round once the certified value reaches it (the target *V*,
    above which the number is not used); ``presolve``: HiGHS's presolve on the first LP
    (the re-solves start from its postsolved basis)."""
    import highspy
    import scipy.sparse as sp

    from hetserve.milp.cutpool import with_cuts
    from hetserve.milp.cuts import cover_rounds
    from hetserve.milp.fixing import lagrangian_value

    t0, c0 = time.perf_counter(), time.process_time()
    history: list[dict[str, Any]] = []
    best = -math.inf
    for h, blocks in cover_rounds(am, rounds, time_limit_s=time_limit_s, seed=seed,
                                  presolve=presolve):
        sol = h.getSolution()
        if not sol.dual_valid:
            break
        n = sum(b.shape[0] for b in blocks)
        am_cut = am if not blocks else with_cuts(am, sp.vstack(blocks).tocsr(), np.ones(n),
                                                  np.full(n, np.inf))
        cert, _ = lagrangian_value(am_cut, np.asarray(sol.row_dual))
        best = max(best, cert)
        optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        history.append({"round": len(history), "rows": n, "certified": cert,
                        "lp": float(h.getInfo().objective_function_value) if optimal else None,
                        "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0})
        if not optimal or best >= stop_at:
            break
    return best, {"wcover_history": history, "wcover_rows": history[-1]["rows"] if history
                  else 0, "wcover_s": time.perf_counter() - t0}


def _target_cost(idx: ModelIndex, fixing: Fixing, max_routes: int) -> float | None:
    """A target cost *V* (above the fixing's bound) whose fixed model keeps at most about
    ``max_routes`` routes: configurations sorted by their forced-open Lagrangian
    ``bound + d_w``, *V* between the last that fits and the next. Every plan cheaper than
    *V* opens only configurations with forced-open Lagrangian < *V*, so it is a point of
    ``fixing.with_upper(V)``; hence ``min(V, B_V)`` is a lower bound on the optimum with
    ``B_V`` HiGHS's bound on that model (docs/milp.md "Certified bounds"). None if no such
    *V* is above the bound."""
    if fixing.d_w is None:
        return None
    open_c = fixing.bound + fixing.d_w[idx.cfg]
    alive = (fixing.caps[idx.cfg] >= 1) & np.isfinite(open_c)
    routes = np.bincount(idx.rk, minlength=idx.n_cfg)
    order = np.argsort(np.where(alive, open_c, np.inf), kind="stable")
    order = order[: int(alive.sum())]
    cum = np.cumsum(routes[order])
    k = int(np.searchsorted(cum, max_routes, side="right"))
    if k == 0 or k >= len(order):
        return None
    lo, hi = float(open_c[order[k - 1]]), float(open_c[order[k]])
    target = 0.5 * (lo + hi) if hi > lo else lo
    return target if target > fixing.bound else None


def _plan_run(instance: Instance, plan: Solution, seconds: float, seed: int,
              stats: dict[str, Any]) -> RunResult:
    """``plan`` as a feasible :class:`RunResult` (evaluated by the one evaluator)."""
    ev = evaluate_arrays(instance, *plan.to_arrays(instance))
    return RunResult("milp", Status.FEASIBLE, plan, ev, seconds, seed=seed, stats=stats)


def _lagrangian_only(instance: Instance, plan: Solution, fixing: Fixing,
                     sub: dict[str, Any] | None, survivors: int, agh_upper: float, t0: float,
                     seed: int, extra: dict[str, Any] | None = None
                     ) -> tuple[BoundResult, RunResult]:
    """:func:`fixed_model_bound` when the fixed model would still be too large for HiGHS:
    the closing's certified ``min(U, L)`` and the best plan (``plan``, the support MIP's
    when it found a cheaper one); nothing is built."""
    ev = evaluate_arrays(instance, *plan.to_arrays(instance))
    best = fixing.bound
    value = best - 1e-9 * abs(best) if math.isfinite(best) else best
    stats: dict[str, Any] = {
        "upper": float(ev.objective), "agh_upper": agh_upper, "lagrangian": fixing.bound,
        "highs_bound": None, "root_bound": None, "highs_status": "not run",
        "fixing_dropped": fixing.dropped, "fixing_lowered": fixing.lowered,
        "fixing_s": fixing.seconds, "fixing_method": fixing.method,
        "lp_value": fixing.lp_value, "build_s": None, "solve_s": None, "solve_cpu_s": None,
        "n_vars": None, "n_int": None, "n_rows": None, "surviving_routes": survivors,
        "nodes": None, "support_mip": sub, "plan": float(ev.objective), **(extra or {})}
    seconds = time.perf_counter() - t0
    run = _plan_run(instance, plan, seconds, seed,
                    {"fixing": {"method": fixing.method}, "support_mip": sub})
    return BoundResult(value, "lagrangian", seconds, 0, stats), run


FIXED_MODEL_MAX_SURVIVORS = 150_000
""":func:`fixed_model_bound` (closing path) runs HiGHS on the fixed model only when at most
this many routes survive the closing; above it the result is the closing's Lagrangian.
Measured (results/milp/large-bound-2/, -3/): HiGHS's root on 88.8k columns (50x30x30 s0)
finishes with cuts within ≈ 160 s wall; on 184.8k (50x30x30, 60 s) and 485.6k columns
(100x40x40 s0 after closing with U' = 1,414.78) it does not finish (bound 0)."""


FIXED_MODEL_TARGET_ROUTES = 110_000
"""Above :data:`FIXED_MODEL_MAX_SURVIVORS` :func:`fixed_model_bound` builds the fixed model
for a target cost *V* that keeps about this many routes (:func:`_target_cost`). A larger
*V* certifies more as long as HiGHS's root on the larger model still reaches it. Measured
at 100x40x40 s0, 300 s limit, load ≈ 1 (results/milp/large-bound-4/; 40k from -3/),
without the cutoff: 40k routes *V* = 1,353.35, root 1,361.62 (certified *V*); 60k *V* =
1,356.96, root 1,362.20 (certified *V*); 80k *V* = 1,360.20, root 1,358.79 at the limit
(certified 1,358.79), peak RSS 1.99 GB. With HiGHS's cutoff at *V* (``target_cutoff``)
80k certifies *V* = 1,360.20 in 207 s wall, peak RSS 1.46 GB; with the cutoff and
:data:`TARGET_HIGHS_OPTIONS` (results/milp/large-bound-5/, load ≈ 1.5–2) 110k certifies
*V* = 1,363.56, HiGHS's part 173 s of the 300 s limit."""


FIXED_MODEL_TARGET_ROUTES_COVERS = 10_000
""":data:`FIXED_MODEL_TARGET_ROUTES` when the closing carries weighted covers
(``closing_wcover_rounds``), where ``target_sizing`` is off (by default the route count is
sized from the time left instead, :func:`sized_target_routes`; results/milp/exact-r9-closetime/:
on the slow machine state 10k routes were not proven in 82–102 s, 6.7k–7.1k in 58–68 s): its
*L* is then close to the optimum and *V* only a little above it, so a small model suffices
and HiGHS finishes there. Measured at 100x40x40 s0
(results/milp/exact-r6-covclose/, 300 s, closing share 0.7, load ≈ 2): *L* 1,386.60, *V* =
1,390.08 on 30.5k columns, proven (no plan below *V*) — 1,390.08 in 282 s; with 20k routes
(400 s) *V* = 1,393.17 on 40.9k columns did not finish its root."""


CLOSING_TUNING = MasterTuning(skip_late=True, simplex_after=4, primal_after_columns=True)
""":func:`fixed_model_bound`'s closing master tuning by default (``closing_tuning=None``;
:class:`milp.colgen.MasterTuning` itself stays all off): after four interior-point solves
one with crossover, then the warm simplex (the primal one after new columns only, the
dual one after new cover rows), and no master solve that would end after the closing's
deadline. Below :data:`IPM_MASTER_MIN_ROUTES` the master is the full-cover simplex's
already and only ``skip_late`` acts. Measured side by side against all off (docs/milp.md
"Certified bounds", *a faster closing master*; results/milp/exact-r7-masterfast/,
results/milp/exact-r8-bprime/) and, for ``primal_after_columns``, against the same without
it (results/milp/exact-r11-primal/)."""


SPEED_SOLVES = 5
""":func:`speed_probe` sums the CPU seconds of this many first master solves."""


TARGET_SIZING_BASE_S = 18.0
TARGET_SIZING_ROUTES_PER_S = 116.0
TARGET_SIZING_SPEED = 63.0
TARGET_SIZING_SAFETY = 0.85
TARGET_SIZING_MIN_ROUTES = 3_000
TARGET_SIZING_MIN_GAIN = 0.5
""":func:`sized_target_routes`'s time model of HiGHS on a target-cost model, measured at
100x40x40 s0 (results/milp/exact-r9-closetime/rateprobe*.jsonl): base seconds, routes per
second beyond it, the speed probe (:func:`speed_probe`) of that measurement, the share of
the time left that may be spent, the fewest routes worth a model, and the least
*V* − *L* worth proving (below it the time goes to the closing)."""


TARGET_SIZING_MAX_ROUTES = 28_000
"""At most this many routes whatever the time left: twice the largest target model the time
models were measured on (14k routes). Beyond it the lines extrapolate: round 12, on a
machine twice as fast (speed probe 28–30), they sized 50–57k routes (71–79k columns) for
the 127–137 s left and HiGHS proved none of them; capped, it proved 1,394.82 once and
reached 1,392.74–1,394.67 twice, against 1,387.65–1,391.75 uncapped beside them
(results/milp/exact-r12-bound/, docs/milp.md "Certified bounds")."""


TARGET_COVERS_BASE_S = 42.0
TARGET_COVERS_ROUTES_PER_S = 270.0
""":func:`sized_target_routes`'s time model with ``target_covers`` (the closing's cover rows
in the target model: HiGHS's root LP then starts near *L*, so no climb by cut rounds),
at the speed :data:`TARGET_SIZING_SPEED`, a least-squares line through three proven
target models scaled to speed 63 (results/milp/exact-r9-closetime/): covprobe.jsonl
(speed 52.8) 7k routes in 58.6 s and 14k in 85.7 s wall, e2e-100x40x40-covers.jsonl
(speed 58.6) 12.6k in 72.6 s. Its first version (38 s, 216 per s: the two covprobe
points) sized that 12.6k model and left 33 s unused."""


FIXED_MODEL_MAX_ROUTES = 1_500_000
""":func:`certified_bound` uses the fixed-model bound up to this many routes (after the
reductions), the Lagrangian alone above. The closing path of :func:`fixed_model_bound`
builds only what survives and falls back to its own Lagrangian, so the cap is only the
largest size measured: 100x40x40 s0 (1.47M routes, results/milp/large-bound-4/, load
≈ 1): 1,358.79 (target-cost model, 80k routes; LP 1,342.37) in 299 s wall, 303 s CPU,
1.99 GB with AGH, 1,360.20 in 207 s with the cutoff at *V*, and 1,363.56 in 251 s with
110k target routes and :data:`TARGET_HIGHS_OPTIONS` (results/milp/large-bound-5/; AGH's
1,414.78 is 3.76 % above; results/milp/large-bound-3/ with 40k target routes: 1,353.35).
Before the closing path (results/milp/large-bound-2/) the complete model took 4.4 GB
there and HiGHS's root bound was 0."""


TARGET_HIGHS_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("mip_heuristic_effort", 0.0), ("mip_heuristic_run_rins", False),
    ("mip_heuristic_run_rens", False), ("mip_heuristic_run_feasibility_jump", False),
    ("mip_heuristic_run_root_reduced_cost", False))
"""HiGHS's primal heuristics off on the target-cost model with the cutoff at *V*
(``target_cutoff``): they look for a plan below *V*, and where the bound is what matters
there is none, so their time only delays the root's restarts (reduced-cost fixing against
the cutoff), which are what lift the bound to *V*. Measured at 100x40x40 s0 on 110k target
routes (results/milp/large-bound-5/, load ≈ 1.5–2): with ``mip_heuristic_effort = 0`` alone
RINS/RENS still ran (77 s of sub-MIPs) and the root ended at 1,356.77 < *V* = 1,363.56 at
the limit; with all five off HiGHS proved no plan below *V* in 173 s (1 node). On the
V = 1,370 model (157k routes, results/milp/agh100-r4/) the heuristics took 206 s of 684 s."""


FIXED_MODEL_ROUTES_PER_S = 5_000.0
""":func:`certified_bound` takes the fixed path only with at least ``routes / this``
seconds: its generation gets half of the limit and must get near convergence. Measured
(results/milp/large-bound-3/): 100x40x40 s0 (1.47M routes) in a 300 s limit reaches the
LP bound in 121 s (load ≈ 3; 150–180 s at load ≈ 5) and certifies 1,353.35; results/milp/large-bound-2/
(the former path, load ≈ 3): 50x30x30 s0 (372k routes) with 60 s had an unconverged
generation (L < 0) and HiGHS's bound 0, where the Lagrangian alone gives the LP's 859.62
in ≈ 42 s."""


def certified_bound(instance: Instance, plan: Solution | None, *, time_limit_s: float = 240.0,
                    seed: int = 0, threads: int = 1) -> tuple[BoundResult, RunResult | None]:
    """The certified lower bound to report with a heuristic's ``plan`` (the one entry point
    of ``agh-bound``): :func:`fixed_model_bound` from a feasible plan up to
    :data:`FIXED_MODEL_MAX_ROUTES` routes, else :func:`lagrangian_bound` (the plan's
    cost as its incumbent, its routes in the first master). Returns ``(bound, run)``,
    ``run`` the fixed model's MILP result (``None`` on the Lagrangian path).

    The fixed path also needs ``time_limit_s ≥ routes /`` :data:`FIXED_MODEL_ROUTES_PER_S`:
    its fixing's column generation must converge within half of the limit, or the
    multipliers are weak and HiGHS's bound on a barely fixed model may be 0. With
    ``threads`` ≥ 2 the fixed path proves its target model on a second thread while the
    closing goes on (``concurrent_closing``); the Lagrangian path uses one thread."""
    upper, routes = None, None
    if plan is not None:
        r0, x0 = plan.to_arrays(instance)
        ev = evaluate_arrays(instance, r0, x0)
        if ev.feasible:
            upper = float(ev.objective)
            ti, tc = np.nonzero(x0 > 0)
            routes = (ti, tc)
    idx = make_index(instance, None, Reductions(), upper)
    if (plan is not None and upper is not None and idx.n_routes <= FIXED_MODEL_MAX_ROUTES
            and idx.n_routes <= FIXED_MODEL_ROUTES_PER_S * time_limit_s):
        return fixed_model_bound(instance, plan, time_limit_s=time_limit_s, seed=seed,
                                 concurrent_closing=threads >= 2)
    lb = lagrangian_bound(instance, upper_bound=upper, time_limit_s=time_limit_s,
                          start_routes=routes, index=idx, seed=seed)
    return lb, None


def _route_positions(instance: Instance, idx: ModelIndex, types: np.ndarray,
                     configs: np.ndarray) -> np.ndarray:
    """Index positions of the routes ``(types[k], configs[k])`` that the index has."""
    pos = -np.ones(len(instance.routes), dtype=np.int64)
    pos[idx.cfg] = np.arange(idx.n_cfg)
    key = idx.ri * idx.n_cfg + idx.rk  # sorted: routes are ordered by (i, k)
    k = pos[np.asarray(configs, dtype=np.int64)]
    ok = k >= 0
    want = np.asarray(types, dtype=np.int64)[ok] * idx.n_cfg + k[ok]
    at = np.searchsorted(key, want)
    at = np.minimum(at, len(key) - 1)
    return at[key[at] == want]


def price_and_branch(instance: Instance, *, time_limit_s: float = 120.0,
                     start: Solution | None = None, seed: int = 0,
                     bound_share: float = 0.6, **bound_args: Any) -> RunResult:
    """Price-and-branch: generate columns for the LP (certified bound, as
    :func:`lagrangian_bound`, in ``bound_share`` of the time), then solve the restricted
    master as a MIP over the generated routes (:meth:`milp.colgen.RestrictedMaster.solve_mip`)
    in the rest. The MIP is a restriction of the MILP, so its plan is feasible (the one
    evaluator prices it) and its cost an upper bound; ``bound`` is the certified
    Lagrangian number. ``start`` (e.g. AGH's plan): its routes enter the master and it is
    the MIP start (mapped onto undominated configurations), so the plan is no dearer than
    it. Status is FEASIBLE (never OPTIMAL: missing routes are not proven useless)."""
    t0 = time.perf_counter()
    upper, start_arrays = None, None
    reductions = Reductions()
    if start is not None:
        r0, x0 = start.to_arrays(instance)
        ev = evaluate_arrays(instance, r0, x0)
        if ev.feasible:
            upper = ev.objective
            start_arrays = (r0, x0)
    lb = lagrangian_bound(instance, upper_bound=upper, time_limit_s=bound_share * time_limit_s,
                          reductions=reductions, keep_master=True, seed=seed,
                          start_routes=None, **bound_args)
    bound = lb.value if math.isfinite(lb.value) else None
    stats: dict[str, Any] = {"bound_method": lb.method, "bound_s": lb.seconds,
                             **{f"bound_{k}": v for k, v in lb.stats.items()}}
    master = lb.master
    plan = None
    if master is not None:
        if start_arrays is not None:
            red = master.idx.reduced
            if red is not None:
                start_arrays = map_plan(red, *start_arrays)
            ti, tc = np.nonzero(start_arrays[1] > 0)
            master.add(_route_positions(instance, master.idx, ti, tc))
        left = time_limit_s - (time.perf_counter() - t0)
        plan = master.solve_mip(max(1.0, left), start_arrays, seed=seed)
    if plan is None:
        return RunResult("price-and-branch", Status.NO_SOLUTION, None, None,
                         time.perf_counter() - t0, bound=bound, seed=seed, stats=stats)
    r, x, mip_stats = plan
    stats.update({f"mip_{k}": v for k, v in mip_stats.items()})
    r_int, x_fix, repaired = extract(instance, r, x)
    stats["capacity_repair"] = repaired
    solution = Solution.from_arrays(instance, r_int, x_fix)
    evaluation = evaluate_arrays(instance, *solution.to_arrays(instance))
    return RunResult("price-and-branch", Status.FEASIBLE, solution, evaluation,
                     time.perf_counter() - t0, bound=bound, seed=seed, stats=stats)
