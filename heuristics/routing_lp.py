r"""Exact routing on a fixed set of configurations: one LP, solved with HiGHS (highspy).

Given a set S of configurations (the open fleet, possibly with a candidate added or an
open configuration removed), the LP chooses the shares :math:`x_{ic}` (usable routes of
S only), the unmet shares :math:`u_i` and the fluid replicas :math:`y_c`:

.. math::

    \min\; \sum_{i,c} \mathrm{dcost}_{ic} x_{ic} + w \sum_c \mathrm{rent}_c\, y_c
          + \sum_i \mathrm{unmet}_i\, u_i

    \text{s.t.}\quad \sum_c x_{ic} + u_i = 1,\quad 0 \le u_i \le \zeta_i
    \qquad \sum_i a_{ic} x_{ic} \le \rho_{\max}\, y_c,\quad 0 \le y_c \le \bar y_c

    \sum_c (e_{ic} - \varepsilon_i) x_{ic} \le 0
    \qquad \sum_c (D_{ic} - \Delta_i) x_{ic} \le 0 \text{ (mean-delay rule only)}

* **Fixed fleet** (``fluid=False``): :math:`w = 0` and :math:`\bar y = r`, i.e. the
  capacity row is :math:`\sum_i a_{ic}x_{ic} \le \rho_{\max} r_c`. The LP gives the
  exact optimal routing (delay + unmet penalty) of the integer fleet ``r``; the rental
  and storage are constants of the fleet.
* **Fluid fleet** (``fluid=True``): :math:`w = 1`, and :math:`\bar y_c` is ``r_c`` (the
  configuration may only shrink), ``inf`` (it may grow) or 0. The GPU availability and
  the budget are added as rows on :math:`y`. Rounding :math:`y` up gives a whole-replica
  fleet on which the fixed LP is feasible; the duals price capacity for the ``add``
  candidate scoring (:func:`reduced_savings`).

Single placement is not expressible in the LP (the callers skip it). Small margins keep
the returned point strictly inside the evaluator's tolerances: capacity rows use
:math:`\rho_{\max}(1-10^{-7})` and ``u_i ≤ ζ_i − 10^{-7}`` (when ζ_i > 10^{-6}). The
shares are then cleaned: clipped to [0, 1], tiny ones dropped, each type re-scaled so
that its unmet share is within [0, ζ_i] (the error and mean-delay rows are homogeneous,
so this keeps their sign), and a round-off excess on an error (mean-delay) row is
removed by scaling that type's routes above its SLO down (the lost share becomes unmet,
within the ζ_i margin).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import highspy
import numpy as np

from hetserve.instances.solver_log import new_highs

if TYPE_CHECKING:
    from hetserve.heuristics.state import HeuristicData

CAP_MARGIN = 1e-7
"""Relative margin on the capacity rows (the evaluator allows 1e-6 absolute)."""
ELASTIC_PRICE = 10.0
"""Price multiplier of the elastic unmet share (see :func:`solve_routing`)."""
_INF = highspy.kHighsInf


def _dearest(d: HeuristicData) -> np.ndarray:
    """Per type: an upper bound on the cost of serving a full share (the unmet penalty,
    or the dearest usable route with its capacity at the fluid rental)."""
    cached = getattr(d, "_dearest", None)
    if cached is None:
        with np.errstate(invalid="ignore"):
            full = np.where(d.usable & np.isfinite(d.a),
                            d.dcost + d.a * d.rent[None, :] / d.rho_max, 0.0)
        cached = np.maximum(d.unmet_cost, full.max(axis=1, initial=0.0)) + 1.0
        d._dearest = cached  # type: ignore[attr-defined]
    return cached


@dataclass
class LpSolution:
    """An optimal LP point on the configurations ``cfgs``."""

    cfgs: np.ndarray  # (S,) configuration indices
    x: np.ndarray  # (I, S) shares on cfgs
    y: np.ndarray  # (S,) fluid replicas (load / ρ_max for the fixed LP)
    objective: float  # LP objective (delay + unmet, + fluid rental if fluid)
    demand_dual: np.ndarray  # (I,) dual of Σ_c x_ic + u_i = 1
    error_dual: np.ndarray  # (I,) dual of the error row (≤ 0)
    delay_dual: np.ndarray  # (I,) dual of the mean-delay row (≤ 0; zeros if off)


def _highs() -> highspy.Highs:
    h = new_highs()
    h.setOptionValue("presolve", "off")
    h.setOptionValue("primal_feasibility_tolerance", 1e-9)
    h.setOptionValue("dual_feasibility_tolerance", 1e-9)
    return h


@dataclass
class _Layout:
    """Column and row positions of one built LP."""

    cfgs: np.ndarray
    ii: np.ndarray  # type of each x column
    kk: np.ndarray  # position in cfgs of each x column
    n_x: int
    n_s: int
    n_i: int


def _build(data: HeuristicData, cfgs: np.ndarray, y_upper: np.ndarray, *, fluid: bool,
           gpu_room: np.ndarray | None, money_room: float | None,
           elastic: bool, y_cost: np.ndarray | None = None) -> tuple[highspy.Highs, _Layout]:
    d = data
    cfgs = np.asarray(cfgs, dtype=np.int64)
    n_i, n_s = d.n_types, len(cfgs)
    ii, kk = np.nonzero(d.usable[:, cfgs] & np.isfinite(d.a[:, cfgs]))
    cc = cfgs[kk]
    n_x = len(ii)
    n_v = n_i if elastic else 0
    # columns: x (n_x), y (n_s), u (n_i), [v (n_i): unmet beyond ζ]
    n_col = n_x + n_s + n_i + n_v
    if y_cost is None:
        y_cost = d.rent[cfgs] if fluid else np.zeros(n_s)
    cost = [d.dcost[ii, cc], np.asarray(y_cost, dtype=float), d.unmet_cost]
    y_up = np.asarray(y_upper, dtype=float)
    u_up = np.where(d.zeta > 10 * CAP_MARGIN, d.zeta - CAP_MARGIN, 0.0)
    lower = np.zeros(n_col)
    upper = [np.ones(n_x), np.where(np.isfinite(y_up), y_up, _INF), u_up]
    if elastic:
        cost.append(ELASTIC_PRICE * _dearest(d))
        upper.append(np.ones(n_i))
    cost_a, upper_a = np.concatenate(cost), np.concatenate(upper)
    # rows: demand (I), capacity (S), error (I), [delay (I)], [gpu (G)], [money (1)]
    rows, cols, vals = [ii], [np.arange(n_x)], [np.ones(n_x)]
    rows.append(np.arange(n_i))
    cols.append(n_x + n_s + np.arange(n_i))
    vals.append(np.ones(n_i))
    if elastic:
        rows.append(np.arange(n_i))
        cols.append(n_x + n_s + n_i + np.arange(n_i))
        vals.append(np.ones(n_i))
    r0 = n_i
    rows.append(r0 + kk)
    cols.append(np.arange(n_x))
    vals.append(d.a[ii, cc])
    rows.append(r0 + np.arange(n_s))
    cols.append(n_x + np.arange(n_s))
    vals.append(np.full(n_s, -d.rho_max * (1 - CAP_MARGIN)))
    r0 += n_s
    rows.append(r0 + ii)
    cols.append(np.arange(n_x))
    vals.append(d.err_ex[ii, cc])
    r0 += n_i
    row_lo = [np.ones(n_i), np.full(n_s, -_INF), np.full(n_i, -_INF)]
    row_up = [np.ones(n_i), np.zeros(n_s), np.zeros(n_i)]
    if d.avg_delay:
        rows.append(r0 + ii)
        cols.append(np.arange(n_x))
        vals.append(d.dly_ex[ii, cc])
        r0 += n_i
        row_lo.append(np.full(n_i, -_INF))
        row_up.append(np.zeros(n_i))
    if fluid and gpu_room is not None:
        gs = np.unique(d.cfg_gpu[cfgs])
        pos = np.searchsorted(gs, d.cfg_gpu[cfgs])
        rows.append(r0 + pos)
        cols.append(n_x + np.arange(n_s))
        vals.append(d.gpus[cfgs].astype(float))
        r0 += len(gs)
        row_lo.append(np.full(len(gs), -_INF))
        row_up.append(np.asarray(gpu_room, dtype=float)[gs])
    if fluid and money_room is not None and np.isfinite(money_room):
        rows.append(np.full(n_s, r0))
        cols.append(n_x + np.arange(n_s))
        vals.append(d.rent[cfgs])
        r0 += 1
        row_lo.append(np.array([-_INF]))
        row_up.append(np.array([money_room]))
    n_row = r0
    rows_a, cols_a, vals_a = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    order = np.lexsort((rows_a, cols_a))
    rows_a, cols_a, vals_a = rows_a[order], cols_a[order], vals_a[order]
    start = np.searchsorted(cols_a, np.arange(n_col + 1))
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.col_cost_ = cost_a
    lp.col_lower_ = lower
    lp.col_upper_ = upper_a
    lp.row_lower_ = np.concatenate(row_lo)
    lp.row_upper_ = np.concatenate(row_up)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start.astype(np.int32)
    lp.a_matrix_.index_ = rows_a.astype(np.int32)
    lp.a_matrix_.value_ = vals_a
    lp.a_matrix_.num_col_ = n_col
    lp.a_matrix_.num_row_ = n_row
    h = _highs()
    h.passModel(lp)
    return h, _Layout(cfgs=cfgs, ii=ii, kk=kk, n_x=n_x, n_s=n_s, n_i=n_i)


def _optimal(h: highspy.Highs) -> bool:
    return h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def solve_routing(data: HeuristicData, cfgs: np.ndarray, y_upper: np.ndarray, *,
                  fluid: bool, gpu_room: np.ndarray | None = None,
                  money_room: float | None = None, elastic: bool = False,
                  y_cost: np.ndarray | None = None) -> LpSolution | None:
    """Solve the routing LP (module docstring) on the configurations ``cfgs``.

    ``y_upper[k]`` bounds the replicas of ``cfgs[k]`` (``np.inf``: unbounded, fluid
    only). With ``fluid=True``, ``gpu_room[g]`` bounds Σ gpus_c y_c per GPU type and
    ``money_room`` bounds Σ rent_c y_c (both optional). ``elastic=True`` adds, per type,
    an unmet share beyond ζ_i at a prohibitive price (:data:`ELASTIC_PRICE` × the type's
    dearest way to be served), so the LP is always feasible and its duals say which
    types S cannot serve (used to score the configurations to add; the returned shares
    are then not cleaned and may leave more than ζ_i unserved). Returns ``None`` if the
    LP is infeasible (or HiGHS fails)."""
    h, lay = _build(data, cfgs, y_upper, fluid=fluid, gpu_room=gpu_room,
                    money_room=money_room, elastic=elastic, y_cost=y_cost)
    h.run()
    if not _optimal(h):
        return None
    return _extract(data, h, lay, fluid=fluid, clean=not elastic)


def _extract(data: HeuristicData, h: highspy.Highs, lay: _Layout, *, fluid: bool,
             clean: bool) -> LpSolution:
    d = data
    n_i, n_s, n_x, cfgs = lay.n_i, lay.n_s, lay.n_x, lay.cfgs
    sol = h.getSolution()
    val = np.asarray(sol.col_value)
    dual = np.asarray(sol.row_dual)
    x = np.zeros((n_i, n_s))
    x[lay.ii, lay.kk] = np.clip(val[:n_x], 0.0, 1.0)
    x[x < 1e-12] = 0.0
    if clean:
        x = _clean(d, cfgs, x)
    y = np.asarray(val[n_x:n_x + n_s])
    if not fluid:
        y = (x * np.where(x > 0, d.a[:, cfgs], 0.0)).sum(axis=0) / d.rho_max
    off = n_i + n_s
    return LpSolution(
        cfgs=cfgs, x=x, y=y, objective=float(h.getInfo().objective_function_value),
        demand_dual=dual[:n_i].copy(), error_dual=dual[off:off + n_i].copy(),
        delay_dual=(dual[off + n_i:off + 2 * n_i].copy() if d.avg_delay else np.zeros(n_i)))


def _clean(d: HeuristicData, cfgs: np.ndarray, x: np.ndarray) -> np.ndarray:
    # each type's unmet share within [0, ζ_i]: rescale (keeps error/delay row signs)
    s = x.sum(axis=1)
    target = np.clip(s, 1.0 - d.zeta, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(s > 0, target / np.where(s > 0, s, 1.0), 1.0)
    x = x * scale[:, None]
    # round-off on the error (mean-delay) rows: scale the routes above the SLO down
    for ex in (d.err_ex, d.dly_ex) if d.avg_delay else (d.err_ex,):
        e = ex[:, cfgs]
        pos = np.where(e > 0, e * x, 0.0).sum(axis=1)
        neg = -np.where(e < 0, e * x, 0.0).sum(axis=1)
        fix = pos > neg
        if fix.any():
            f = np.where(fix, neg / np.where(pos > 0, pos, 1.0), 1.0)
            x = np.where(e > 0, x * f[:, None], x)
    return x


class PoolLP:
    """The fluid LP on ``base`` plus a pool of closed candidates, built once.

    Candidates start with y ≤ 0 (closed). :meth:`probe` opens some of them (y unbounded),
    re-solves from the previous basis (a few dual simplex iterations) and closes them
    again, so ranking many candidates by their exact fluid objective is cheap."""

    def __init__(self, data: HeuristicData, base: np.ndarray, base_upper: np.ndarray,
                 pool: np.ndarray, *, gpu_room: np.ndarray | None, money_room: float | None,
                 elastic: bool) -> None:
        self.data = data
        self.n_base = len(base)
        cfgs = np.concatenate([np.asarray(base, dtype=np.int64), np.asarray(pool, dtype=np.int64)])
        upper = np.concatenate([np.asarray(base_upper, dtype=float), np.zeros(len(pool))])
        self.h, self.lay = _build(data, cfgs, upper, fluid=True, gpu_room=gpu_room,
                                  money_room=money_room, elastic=elastic)
        self.h.run()
        self.ok = _optimal(self.h)

    def probe(self, k: int) -> float:
        """Fluid objective with pool candidate ``k`` open (inf if infeasible)."""
        col = np.array([self.lay.n_x + self.n_base + k], dtype=np.int32)
        self.h.changeColsBounds(1, col, np.zeros(1), np.array([_INF]))
        self.h.run()
        obj = float(self.h.getInfo().objective_function_value) if _optimal(self.h) else np.inf
        self.h.changeColsBounds(1, col, np.zeros(1), np.zeros(1))
        return obj


def fixed_routing(data: HeuristicData, r: np.ndarray) -> LpSolution | None:
    """Optimal routing (delay + unmet penalty) on the integer fleet ``r`` (configurations
    with r_c > 0), or ``None`` if no routing meets the demand, error and delay rows."""
    cfgs = np.nonzero(r > 0)[0]
    return solve_routing(data, cfgs, r[cfgs].astype(float), fluid=False)


def reduced_savings(data: HeuristicData, sol: LpSolution) -> np.ndarray:
    """Per (type, configuration): the LP's saving per unit share from routing the type
    to the configuration, before paying the configuration's own capacity:
    :math:`s_{ic} = \\pi_i + \\nu_i (e_{ic}-\\varepsilon_i) + \\delta_i (D_{ic}-\\Delta_i)
    - \\mathrm{dcost}_{ic}` with the duals of ``sol`` (−inf on unusable routes)."""
    d = data
    s = (sol.demand_dual[:, None] + sol.error_dual[:, None] * d.err_ex
         + sol.delay_dual[:, None] * d.dly_ex - d.dcost)
    return np.where(d.usable & np.isfinite(d.a), s, -np.inf)
