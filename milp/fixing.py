r"""Reduced-cost fixing from LP duals and a known plan's cost (docs/milp.md §Reductions, 4).

Given row multipliers :math:`y` of the right signs (``≥`` rows :math:`y \ge 0`, ``≤``
rows :math:`y \le 0`, equalities free) the Lagrangian

.. math::
   L(y) = \sum_r y_r b_r + \sum_j \min(d_j l_j,\ d_j u_j),\qquad d = c - A^\top y,

(:math:`b_r` the active side of row *r*) is a lower bound on every point of the box
:math:`l \le v \le u` that satisfies the rows, by weak duality, however *y* was found.
Forcing column *j* away from the bound where its minimum is taken raises the bound by
:math:`|d_j|` per unit. So with a plan of cost *U* known:

* :math:`w_c = 1` implies cost :math:`\ge L + d_{w_c}`; if that exceeds *U*, no plan
  with configuration *c* open beats the known one, and *c* is dropped;
* :math:`r_c \ge k` implies cost :math:`\ge L + k\,d_{r_c}` (:math:`d_{r_c} > 0`), so
  :math:`\bar R_c \le \lfloor (U - L)/d_{r_c} \rfloor`.

Every plan of cost ≤ *U*, in particular every optimal one (and the known plan itself),
satisfies both, so the optimum is kept. The multipliers are LP duals of the (already
reduced) model: from column generation (:func:`colgen_caps`, what ``solve`` uses) or
from the full LP relaxation (:func:`reduced_cost_caps`); either way *L* is recomputed here
from them over the full model, independently of the LP solver's tolerances (signs
clipped, reduced costs recomputed from *A*), so the fixing is certified by the numbers
it uses, not by the LP solve's accuracy. A relative slack of 1e-9 on *U* (floating-point sums) keeps
the known plan's own configurations.

On the column-generation path the same multipliers also enter the configuration-decomposed
Lagrangian of :mod:`milp.bound`, which gives, for each *c*, a bound on every plan that
opens it (:meth:`milp.bound._Lagrangian.open_bounds`, *c*'s subproblem solved exactly
with integer replicas); *c* is dropped where that exceeds *U* too.

HiGHS fixes by reduced costs too, but only after its root cuts and without rebuilding
the model; fixing before the solve gives HiGHS a smaller model to cut on (measured in
docs/milp.md).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any

import highspy
import numpy as np

from hetserve.instances.solver_log import new_highs
from hetserve.milp.highs_model import ArrayModel
from hetserve.milp.highs_run import configure, run_checked
from hetserve.milp.index import ModelIndex

REL_EPS = 1e-9
INT_EPS = 1e-9
LAGRANGIAN_OPEN_FIXING = True
""":func:`colgen_caps` also drops *c* where the configuration-decomposed Lagrangian of
:mod:`milp.bound` with ``w_c = 1`` forced exceeds *U* (``False``: the LP rule alone; kept so
a benchmark can compare both)."""


@dataclass(frozen=True)
class Fixing:
    """What :func:`reduced_cost_caps` found: ``caps`` (a replica cap per configuration of
    ``instance.routes``, ``inf`` where none; 0 = dropped), the certified Lagrangian
    value ``bound`` at the LP's duals, and counts."""

    caps: np.ndarray
    bound: float
    lp_value: float
    dropped: int
    lowered: int
    seconds: float
    method: str = "lp"
    d_w: np.ndarray | None = None
    """Reduced cost of ``w_c`` per configuration of ``instance.routes`` (NaN without a
    column); with ``d_r`` and ``bound`` it re-applies the rule for a better plan
    (:meth:`with_upper`) without solving the LP again."""
    d_r: np.ndarray | None = None
    lp_w: np.ndarray | None = None
    """The LP's value of ``w_c`` per configuration (0 without a column): its support."""

    def with_upper(self, upper_bound: float) -> Fixing:
        """The caps for a cheaper known plan (cost ``upper_bound``), from the same
        multipliers: the rule of the module docstring with a smaller room ``U − L``, so
        every cap is at most the old one (``dropped`` counts all dropped configurations,
        ``lowered`` those capped below their cap in ``self``)."""
        if self.d_w is None or self.d_r is None:
            raise ValueError("this Fixing holds no reduced costs")
        have = ~np.isnan(self.d_w)
        caps, dropped, lowered = _cap_rule(self.caps[have], self.d_w[have], self.d_r[have],
                                           _room(upper_bound, self.bound))
        out = self.caps.copy()
        out[have] = caps
        return replace(self, caps=out, dropped=dropped, lowered=lowered)


def _room(upper_bound: float, bound: float) -> float:
    return upper_bound * (1 + REL_EPS) + REL_EPS - bound


def _cap_rule(rbar: np.ndarray, dw: np.ndarray, dr: np.ndarray,
              room: float) -> tuple[np.ndarray, int, int]:
    """``(caps, dropped, lowered)``: drop c where ``d_w > room``, cap R̄_c at
    ``⌊room/d_r⌋`` where ``d_r > 0`` (module docstring)."""
    cap = rbar.astype(float).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        by_r = np.where(dr > 0, np.floor(room / dr + INT_EPS), np.inf)
    cap = np.minimum(cap, by_r)
    cap[dw > room] = 0.0
    return cap, int((cap < 1).sum()), int(((cap < rbar) & (cap >= 1)).sum())


def _finite_sides(am: ArrayModel) -> tuple[np.ndarray, np.ndarray]:
    """Which rows have a finite lower and a finite upper side."""
    return (np.isfinite(am.row_lo) & (am.row_lo > -highspy.kHighsInf),
            np.isfinite(am.row_hi) & (am.row_hi < highspy.kHighsInf))


def _signed(am: ArrayModel, row_dual: np.ndarray) -> np.ndarray:
    """``row_dual`` with its signs clipped to the valid ones (a positive multiplier needs a
    finite lower side, a negative one a finite upper side)."""
    y = np.asarray(row_dual, dtype=float).copy()
    lo_fin, hi_fin = _finite_sides(am)
    y[(y > 0) & ~lo_fin] = 0.0
    y[(y < 0) & ~hi_fin] = 0.0
    return y


def lagrangian_value(am: ArrayModel, row_dual: np.ndarray) -> tuple[float, np.ndarray]:
    """``(L(y), d)`` of the module docstring for multipliers ``row_dual`` (signs clipped to
    the valid ones, so the value is a lower bound for any input)."""
    y = _signed(am, row_dual)
    lo_fin, hi_fin = _finite_sides(am)
    d = am.cost - am.A.T @ y
    rows = np.where(y > 0, y * np.where(lo_fin, am.row_lo, 0.0),
                    y * np.where(hi_fin, am.row_hi, 0.0))
    cols = np.minimum(d * am.lb, d * am.ub)
    return float(rows.sum() + cols.sum()), d


def complete_link_duals(am: ArrayModel, row_dual: np.ndarray) -> np.ndarray:
    r"""Move each route's negative reduced cost onto its linking row ``x_ic − v_ic w_c ≤ 0``:
    its multiplier becomes :math:`y_l + \min(0, d_{x_{ic}})` (still ≤ 0, so still valid),
    which makes :math:`d_{x_{ic}} \ge 0` and lowers :math:`d_{w_c}` by
    :math:`v_{ic}|d_{x_{ic}}|`. With :math:`0 < v_{ic} \le 1` and :math:`0 \le w_c \le 1`
    this never lowers :math:`L` nor any :math:`L + d_{w_c}` or :math:`L + k\,d_{r_c}` (it
    adds :math:`(1 - v)|d_x| \ge 0`), so the fixing can only gain. Column generation
    needs it: a route it never generated has no linking-row dual in the master, and its
    negative reduced cost would otherwise count in full against :math:`L`. For optimal
    duals of the full LP it changes nothing (complementary slackness)."""
    y = _signed(am, row_dual)
    if "link" not in am.row_blocks:
        return y
    _, d = lagrangian_value(am, y)
    y[am.row_blocks["link"]] += np.minimum(0.0, d[am.cols["x"]])  # link row k ↔ route k
    return y


def fix_from_duals(am: ArrayModel, row_dual: np.ndarray, upper_bound: float, *,
                   lp_value: float = math.nan, started: float | None = None,
                   method: str = "lp", lp_w: np.ndarray | None = None) -> Fixing:
    """The caps of the module docstring from multipliers ``row_dual`` of ``am``'s rows
    (any values: signs are clipped, linking rows completed by :func:`complete_link_duals`,
    and *L* recomputed here, so the caps are valid whatever produced them). ``lp_w``: the
    LP's ``w`` per active configuration of ``am``, kept for the support MIP."""
    t0 = time.perf_counter() if started is None else started
    bound, d = lagrangian_value(am, complete_link_duals(am, row_dual))
    room = _room(upper_bound, bound)
    idx = am.index
    caps = np.full(len(idx.instance.routes), np.inf)
    if not (math.isfinite(room) and room >= 0):
        return Fixing(caps, bound, lp_value, 0, 0, time.perf_counter() - t0, method)
    dw = d[am.cols["w"]]
    dr = d[am.cols["r"]]
    cap, dropped, lowered = _cap_rule(idx.rbar, dw, dr, room)
    caps[idx.cfg] = cap
    n = len(idx.instance.routes)
    d_w, d_r = np.full(n, np.nan), np.full(n, np.nan)
    d_w[idx.cfg], d_r[idx.cfg] = dw, dr
    per_cfg_w = None
    if lp_w is not None:
        per_cfg_w = np.zeros(n)
        per_cfg_w[idx.cfg] = lp_w
    return Fixing(caps, bound, lp_value, dropped, lowered, time.perf_counter() - t0, method,
                  d_w, d_r, per_cfg_w)


def reduced_cost_caps(am: ArrayModel, upper_bound: float, *, threads: int = 1,
                      seed: int = 0, time_limit_s: float = 60.0) -> Fixing | None:
    """Solve the LP relaxation of ``am`` and return the caps of the module docstring
    (``None`` if HiGHS has no duals; if the LP stops at ``time_limit_s`` its duals are
    used as they are, ``lp_value`` is then NaN)."""
    t0 = time.perf_counter()
    lp = replace(am, integer=np.zeros_like(am.integer)).to_highs_lp()
    h = new_highs()
    configure(h, time_limit_s=time_limit_s, mip_rel_gap=0.0, threads=threads, seed=seed)
    h.passModel(lp)
    run_checked(h)
    solution = h.getSolution()
    if not solution.dual_valid:
        return None
    # L(y) is a bound for any multipliers, so a time-limited LP's duals still fix soundly
    # (dual simplex keeps them dual feasible; they are only weaker)
    optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    lp_value = float(h.getInfo().objective_function_value) if optimal else math.nan
    return fix_from_duals(am, np.asarray(solution.row_dual), upper_bound, lp_value=lp_value,
                          started=t0, method="lp",
                          lp_w=np.asarray(solution.col_value)[am.cols["w"]])


def colgen_caps(am: ArrayModel, upper_bound: float, *, seed: int = 0,
                time_limit_s: float = 60.0) -> Fixing | None:
    """The same caps from the duals of column generation (:mod:`milp.colgen`) instead of
    the full LP: the restricted master over the generated routes, solved to (near)
    convergence, gives multipliers for the rows it holds; the others get 0 and the
    linking rows of routes never generated are completed by :func:`complete_link_duals`.
    *L* and the reduced costs are then computed over the *full* model ``am``, so the
    fixing is as certified as the LP path (weak duality holds for any sign-valid
    multipliers); it is only weaker where the generation stopped early. ``None`` if the
    master has no optimal solve. ``lp_value`` is the master's LP value when the
    generation converged (then the full LP's), NaN otherwise."""
    from hetserve.milp.bound import _Lagrangian, lagrangian_bound  # bound → solve → here

    t0 = time.perf_counter()
    lb = lagrangian_bound(am.index.instance, upper_bound=upper_bound, index=am.index,
                          iterations=0, keep_master=True, seed=seed, time_limit_s=time_limit_s,
                          cg_until_lp=True)
    master = lb.master
    if master is None:
        return None
    # the loop may have added routes after its last solve: re-solve (warm) for fresh duals
    solved = master.solve(max(1e-3, t0 + time_limit_s - time.perf_counter()))
    if solved is None:
        return None
    lp_value = solved[0] if lb.stats["cg_converged"] else math.nan
    # the master's w: an absent configuration is at 0 (RestrictedMaster's docstring)
    values = np.asarray(master.h.getSolution().col_value)
    lp_w = np.zeros(am.index.n_cfg)
    present = master.col_w >= 0
    lp_w[present] = values[master.col_w[present]]
    fix = fix_from_duals(am, master.row_duals(am), upper_bound, lp_value=lp_value,
                         started=t0, method="colgen", lp_w=lp_w)
    if not LAGRANGIAN_OPEN_FIXING:
        return fix
    # the same multipliers in the configuration-decomposed Lagrangian of milp.bound: the
    # bound on plans that open c solves c's subproblem exactly (integer r ≥ 1, its own
    # capacity), which the LP's single d_w only bounds from below
    _, open_c = _Lagrangian(am.index.instance, am.index).open_bounds(*solved[1].multipliers)
    caps = fix.caps.copy()
    idx = am.index
    over = open_c > upper_bound * (1 + REL_EPS) + REL_EPS
    caps[idx.cfg[over]] = 0.0
    cap = caps[idx.cfg]
    return replace(fix, caps=caps, dropped=int((cap < 1).sum()),
                   lowered=int(((cap < idx.rbar) & (cap >= 1)).sum()),
                   seconds=time.perf_counter() - t0, method="colgen+lagrangian")


def closing_caps(index: ModelIndex, upper_bound: float, *, seed: int = 0,
                 time_limit_s: float = 60.0,
                 start_routes: tuple[np.ndarray, np.ndarray] | None = None) -> Fixing | None:
    """Caps without the complete model: column generation that closes configurations
    and caps replica counts as it goes (:func:`milp.bound.lagrangian_bound` with
    ``close``; :meth:`milp.bound._Lagrangian.close`), so nothing of size "all routes" is
    built but the index and the route arrays. ``index``: the solve's index (reductions
    with ``upper_bound``). See :func:`fixing_from_closing` for what the result holds;
    ``None`` if no master solve finished."""
    from hetserve.milp.bound import lagrangian_bound  # bound → solve → here

    t0 = time.perf_counter()
    # no polish (iterations=0), so the generation may take the whole limit (it stops at 80 %)
    lb = lagrangian_bound(index.instance, upper_bound=upper_bound, index=index, iterations=0,
                          keep_master=True, seed=seed, time_limit_s=time_limit_s / 0.8,
                          close=True, start_routes=start_routes)
    return fixing_from_closing(index, lb, t0)


def fixing_from_closing(index: ModelIndex, lb: Any, started: float) -> Fixing | None:
    """The caps of a closing generation's :class:`milp.bound.BoundResult` ``lb`` (over
    ``index``): ``caps`` = its R̄ (0 = closed); ``bound`` = its value, ``min(U, L)`` of the
    restricted model, a lower bound on the complete model; ``d_w`` = forced-open
    Lagrangian − ``bound`` (so :meth:`Fixing.with_upper` drops what a cheaper plan
    excludes), ``d_r`` = 0 (the replica caps stay those for *U*); ``lp_w`` = the
    master's ``w``. ``None`` without a finished master solve."""
    if lb.closing is None or lb.master is None or not math.isfinite(lb.value):
        return None
    master = lb.master
    n = len(index.instance.routes)
    caps = np.full(n, np.inf)
    caps[index.cfg] = lb.closing["rbar"]
    d_w, d_r, lp_w = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n)
    d_w[index.cfg] = np.maximum(0.0, lb.closing["open"] - lb.value)
    d_r[index.cfg] = 0.0
    # an interior master's w is positive on its whole optimal face: read tiny values as 0
    # (the support MIP takes w > 0 as its support; any subset keeps it a restriction)
    lp_w[index.cfg] = np.where(master.last_w > (1e-3 if master.ipm else 0.0), master.last_w, 0.0)
    cap = caps[index.cfg]
    return Fixing(caps, lb.value, lb.stats["master_lp"] if lb.stats["cg_converged"] else math.nan,
                  int((cap < 1).sum()), int(((cap < index.rbar) & (cap >= 1)).sum()),
                  time.perf_counter() - started, "colgen+closing", d_w, d_r, lp_w)


__all__ = ["Fixing", "closing_caps", "colgen_caps", "complete_link_duals", "fix_from_duals",
           "fixing_from_closing", "lagrangian_value", "reduced_cost_caps"]
