r"""The routing LP over a fixed fleet (docs/semantics.md#routing-over-a-fixed-fleet).

Every method that holds the replicas fixed and only routes (AGH's fleet moves, the DVR and
LPR baselines, the stress tests' re-routing recourse) solves this one LP, so a fleet has
one optimal routing cost whoever asks. On the configurations ``cfgs`` (S of them) it
chooses the shares :math:`x_{ic}` on usable routes, the unmet shares :math:`u_i` and the
replicas :math:`y_c`:

.. math::

    \min\; \sum_{i,c} \mathrm{dcost}_{ic} x_{ic} + \sum_c \mathrm{rent}_c\, y_c
          + \sum_i \mathrm{unmet}_i\, u_i \;[+ \sum_i p_i v_i]

    \text{s.t.}\quad \sum_c x_{ic} + u_i\, [+ v_i] = 1,
    \quad 0 \le u_i \le \bar u_i\; [0 \le v_i \le 1]

    \sum_i a_{ic} x_{ic} \le \rho\, y_c, \quad 0 \le y_c \le \bar y_c

    \sum_c (e_{ic} - \varepsilon_i) x_{ic} \le 0,
    \qquad \sum_c (D_{ic} - \Delta_i) x_{ic} \le 0 \text{ (mean-delay rule only)}

    \sum_c g_{kc}\, y_c \le b_k \quad\text{(optional resource rows)}

with :math:`a_{ic} = \lambda_i/\mu_{ic}` the replicas a full share loads,
:math:`\mathrm{dcost}_{ic} = 3600T\rho_i\lambda_i D_{ic}` and
:math:`\mathrm{unmet}_i = 3600T\phi_i\lambda_i` (:class:`RoutingData`).

* **Fixed fleet**: ``rent`` is zero and :math:`\bar y = r`, so the capacity row is
  :math:`\sum_i a_{ic}x_{ic} \le \rho\, r_c`. The optimum is the exact routing cost
  (delay + unmet penalty) of the integer fleet ``r``; rental and storage are constants of
  the fleet. Its optimal *value* is unique, so every caller prices a fleet alike.
* **Fluid fleet**: ``rent`` is the rental per replica and :math:`\bar y` the largest
  replicas allowed (``inf``: unbounded); resource rows (GPUs per type, money) bound
  :math:`y`. Used by AGH to size and to price fleets with continuous replicas.
* **Elastic** (``elastic_cost`` given): the column :math:`v_i` lets a type go unserved
  beyond :math:`\bar u_i` at a prohibitive price, so the LP is always feasible and its
  duals still say which types the fleet cannot serve.

Callers choose the tolerances (the utilisation ρ, the unmet caps :math:`\bar u`, and the
slack folded into :class:`RoutingData`) so that the returned point passes the
evaluator's checks (``instances.evaluate.FEAS_TOL``). Solved with HiGHS (highspy) with
presolve off and 1e-9 feasibility tolerances, from one column-wise array build.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import highspy
import numpy as np

from hetserve.instances.solver_log import new_highs

if TYPE_CHECKING:
    from hetserve.instances.model import Instance

_INF = highspy.kHighsInf


@dataclass(frozen=True, eq=False)
class RoutingData:
    """Route-level coefficients of the routing LP, indexed ``[i, c]`` or ``[i]``.

    Built by :meth:`from_instance`; ``slack`` tightens the error and mean-delay rows so a
    solution stays inside the evaluator's tolerance (``e − ε − slack``,
    ``D − Δ·(1 + slack)``).
    """

    load: np.ndarray  # (I, C) replicas loaded by a full share, λ_i/μ_ic (inf if μ = 0)
    usable: np.ndarray  # (I, C) the route may carry traffic
    dcost: np.ndarray  # (I, C) delay penalty of a full share over the horizon, $
    unmet_cost: np.ndarray  # (I,) unmet penalty of a full share over the horizon, $
    err_ex: np.ndarray  # (I, C) e_ic − ε_i (− slack)
    dly_ex: np.ndarray  # (I, C) D_ic − Δ_i (·(1 + slack))
    avg_delay: bool  # the mean-delay row is part of the LP
    zeta: np.ndarray  # (I,) largest unmet share ζ_i

    @classmethod
    def from_instance(cls, instance: Instance, *, slack: float = 0.0) -> RoutingData:
        t = instance.routes
        q = instance.query_types
        lam = t.rates
        rho = np.array([x.delay_penalty for x in q])
        phi = np.array([x.unmet_penalty for x in q])
        slo = np.array([x.delay_slo_s for x in q])
        eps = np.array([x.error_slo for x in q])
        secs = 3600.0 * instance.horizon_h
        return cls(
            load=t.load_per_share, usable=np.asarray(t.usable, dtype=bool),
            dcost=secs * (rho * lam)[:, None] * t.delay,
            unmet_cost=secs * phi * lam,
            err_ex=t.error - eps[:, None] - slack if slack else t.error - eps[:, None],
            dly_ex=t.delay - slo[:, None] * (1 + slack) if slack else t.delay - slo[:, None],
            avg_delay=instance.delay_constraint in ("average", "both"),
            zeta=np.array([x.max_unmet for x in q]))

    @property
    def n_types(self) -> int:
        return int(self.load.shape[0])


@dataclass(frozen=True, eq=False)
class Routing:
    """An optimal point of the routing LP on the configurations ``cfgs``."""

    cfgs: np.ndarray  # (S,) configuration indices
    x: np.ndarray  # (I, S) shares on cfgs, clipped to [0, 1], below 1e-12 set to 0
    y: np.ndarray  # (S,) replicas of the LP point
    objective: float  # LP objective (delay + unmet penalty, + rent·y when fluid)
    demand_dual: np.ndarray  # (I,) dual of Σ_c x_ic + u_i = 1
    error_dual: np.ndarray  # (I,) dual of the error row (≤ 0)
    delay_dual: np.ndarray  # (I,) dual of the mean-delay row (≤ 0; zeros if off)

    def full(self, n_configs: int) -> np.ndarray:
        """The shares as an ``(I, n_configs)`` array (zero off ``cfgs``)."""
        out = np.zeros((self.x.shape[0], n_configs))
        out[:, self.cfgs] = self.x
        return out


_LOCAL = threading.local()


def _highs() -> highspy.Highs:
    """This thread's HiGHS object for routing LPs, cleared of its last model.

    The LPs are tiny (paper-base: about 30 columns and 17 rows) and AGH solves hundreds of
    them, so a new ``Highs`` per LP (≈ 0.13 ms) cost as much as HiGHS's solve; ``clearModel``
    drops the model, solution and basis and keeps the options, so each solve starts cold,
    exactly as from a new object."""
    h = getattr(_LOCAL, "highs", None)
    if h is None:
        h = new_highs()
        h.setOptionValue("presolve", "off")
        h.setOptionValue("primal_feasibility_tolerance", 1e-9)
        h.setOptionValue("dual_feasibility_tolerance", 1e-9)
        _LOCAL.highs = h
    else:
        h.clearModel()
    return h


@dataclass(frozen=True)
class _Layout:
    """Column positions of one built LP."""

    cfgs: np.ndarray
    ii: np.ndarray  # type of each x column
    kk: np.ndarray  # position in cfgs of each x column
    n_x: int
    n_s: int
    n_i: int


def _build(d: RoutingData, cfgs: np.ndarray, y_upper: np.ndarray, *, rho: float,
           unmet_upper: np.ndarray, rent: np.ndarray | None,
           resource_rows: list[tuple[np.ndarray, float]],
           elastic_cost: np.ndarray | None) -> tuple[highspy.Highs, _Layout]:
    """Pass the LP to this thread's HiGHS object, column by column.

    Rows: demand (I), capacity (S), error (I), [mean delay (I)], [resources]. Columns: x
    (one per usable route, each with its demand, capacity, error [and delay] entry), y (S:
    its capacity entry and its resource entries), u (I), [v (I): unmet beyond the cap]."""
    n_i, n_s = d.n_types, len(cfgs)
    ii, kk = np.nonzero(d.usable[:, cfgs] & np.isfinite(d.load[:, cfgs]))
    cc = cfgs[kk]
    n_x = len(ii)
    n_v = n_i if elastic_cost is not None else 0
    n_col = n_x + n_s + n_i + n_v
    y_up = np.asarray(y_upper, dtype=float)
    cost = np.concatenate([d.dcost[ii, cc],
                           np.zeros(n_s) if rent is None else np.asarray(rent, dtype=float),
                           d.unmet_cost,
                           () if elastic_cost is None else np.asarray(elastic_cost, dtype=float)])
    upper = np.concatenate([np.ones(n_x), np.where(np.isfinite(y_up), y_up, _INF),
                            np.asarray(unmet_upper, dtype=float), np.ones(n_v)])
    cap0, err0 = n_i, n_i + n_s
    dly0 = err0 + n_i
    n_row = dly0 + (n_i if d.avg_delay else 0) + len(resource_rows)
    # x columns: the same 3 (4 with the mean-delay row) rows each, already in row order
    x_rows = [ii, cap0 + kk, err0 + ii]
    x_vals = [np.ones(n_x), d.load[ii, cc], d.err_ex[ii, cc]]
    if d.avg_delay:
        x_rows.append(dly0 + ii)
        x_vals.append(d.dly_ex[ii, cc])
    # y columns: the capacity row, then each resource row with a non-zero coefficient
    res0 = dly0 + (n_i if d.avg_delay else 0)
    y_rows = np.empty((n_s, 1 + len(resource_rows)), dtype=np.int64)
    y_vals = np.empty(y_rows.shape)
    y_rows[:, 0], y_vals[:, 0] = cap0 + np.arange(n_s), -rho
    for k, (coef, _) in enumerate(resource_rows):
        y_rows[:, 1 + k], y_vals[:, 1 + k] = res0 + k, coef
    y_keep = y_vals != 0.0
    y_keep[:, 0] = True
    index = np.concatenate([np.stack(x_rows, axis=1).ravel(), y_rows[y_keep],
                            np.arange(n_i), np.arange(n_v)])
    value = np.concatenate([np.stack(x_vals, axis=1).ravel(), y_vals[y_keep], np.ones(n_i + n_v)])
    counts = np.concatenate([np.full(n_x, len(x_rows)), y_keep.sum(axis=1),
                             np.ones(n_i + n_v, dtype=np.int64)])
    start = np.zeros(n_col, dtype=np.int32)
    np.cumsum(counts[:-1], out=start[1:])
    row_lower = np.concatenate([np.ones(n_i), np.full(n_row - n_i, -_INF)])
    row_upper = np.concatenate([np.ones(n_i), np.zeros(dly0 - n_i + (n_i if d.avg_delay else 0)),
                                [float(b) for _, b in resource_rows]])
    h = _highs()
    status = h.passModel(n_col, n_row, len(index), int(highspy.MatrixFormat.kColwise),
                         int(highspy.ObjSense.kMinimize), 0.0, cost, np.zeros(n_col), upper,
                         row_lower, row_upper, start, index.astype(np.int32), value,
                         np.zeros(n_col, dtype=np.int32))  # every column continuous
    if status == highspy.HighsStatus.kError:  # a malformed LP is a bug, not an infeasible one
        raise RuntimeError(f"HiGHS refused the routing LP ({n_col} columns, {n_row} rows)")
    return h, _Layout(cfgs=cfgs, ii=ii, kk=kk, n_x=n_x, n_s=n_s, n_i=n_i)


def solve_routing(data: RoutingData, cfgs: np.ndarray, y_upper: np.ndarray, *,
                  rho: float, unmet_upper: np.ndarray | None = None,
                  rent: np.ndarray | None = None,
                  resource_rows: list[tuple[np.ndarray, float]] | None = None,
                  elastic_cost: np.ndarray | None = None) -> Routing | None:
    """Solve the routing LP (module docstring) on the configurations ``cfgs``.

    ``y_upper[k]`` bounds the replicas of ``cfgs[k]`` (for a fixed fleet: its replicas;
    ``np.inf``: unbounded); ``rho`` is the utilisation the capacity rows allow;
    ``unmet_upper`` caps each type's unmet share (default ζ_i); ``rent`` prices the
    replicas (``None``: a fixed fleet, rental is a constant); each of ``resource_rows``
    is ``(coefficients per cfgs, bound)`` on the replicas; ``elastic_cost`` adds the
    elastic unmet columns at that price per type. Returns ``None`` if the LP is
    infeasible (or HiGHS fails)."""
    cfgs = np.asarray(cfgs, dtype=np.int64)
    h, lay = _build(data, cfgs, y_upper, rho=rho,
                    unmet_upper=data.zeta if unmet_upper is None else unmet_upper,
                    rent=rent, resource_rows=resource_rows or [], elastic_cost=elastic_cost)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sol = h.getSolution()
    val = np.asarray(sol.col_value)
    dual = np.asarray(sol.row_dual)
    n_i, n_s, n_x = lay.n_i, lay.n_s, lay.n_x
    x = np.zeros((n_i, n_s))
    x[lay.ii, lay.kk] = np.clip(val[:n_x], 0.0, 1.0)
    x[x < 1e-12] = 0.0
    off = n_i + n_s
    return Routing(
        cfgs=cfgs, x=x, y=np.asarray(val[n_x:n_x + n_s]),
        objective=float(h.getInfo().objective_function_value),
        demand_dual=dual[:n_i].copy(), error_dual=dual[off:off + n_i].copy(),
        delay_dual=(dual[off + n_i:off + 2 * n_i].copy() if data.avg_delay
                    else np.zeros(n_i)))


def route_fleet(data: RoutingData, r: np.ndarray, *, rho: float,
                unmet_upper: np.ndarray | None = None,
                y_upper: np.ndarray | None = None) -> Routing | None:
    """The optimal routing of the integer fleet ``r`` (configurations with ``r_c > 0``);
    ``y_upper`` overrides the capacity bound per open configuration (default ``r_c``)."""
    r = np.asarray(r)
    cfgs = np.nonzero(r > 0)[0]
    return solve_routing(data, cfgs, r[cfgs].astype(float) if y_upper is None else y_upper,
                         rho=rho, unmet_upper=unmet_upper)


def price_per_rps(instance: Instance, *, meet_error: bool = True) -> np.ndarray:
    """``(I, C)``: $/h of replica rental per req/s of sustained demand on each route,
    price_c / μ_ic, on usable routes (that also meet the type's error SLO alone, if
    ``meet_error``); ``inf`` elsewhere. The ranking of the cheapest-route plans."""
    t = instance.routes
    ok = t.usable & (t.capacity > 0)
    if meet_error:
        eps = np.array([q.error_slo for q in instance.query_types])
        ok &= t.error <= eps[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, t.price_per_replica_hour[None, :] / np.where(ok, t.capacity, 1.0),
                        np.inf)


def cheapest_routes(instance: Instance) -> np.ndarray:
    """Per query type, the route with the least $/h per req/s (:func:`price_per_rps`) among
    those that meet its error SLO alone, else among all usable ones; −1 if none."""
    best = np.full(len(instance.query_types), -1, dtype=np.int64)
    for prices in (price_per_rps(instance, meet_error=True),
                   price_per_rps(instance, meet_error=False)):
        todo = (best < 0) & np.isfinite(prices).any(axis=1)
        best[todo] = np.argmin(prices[todo], axis=1)
    return best


__all__ = ["Routing", "RoutingData", "cheapest_routes", "price_per_rps", "route_fleet",
           "solve_routing"]
