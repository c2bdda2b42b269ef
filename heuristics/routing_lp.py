r"""AGH's use of the routing LP (:mod:`hetserve.instances.routing`) on its working data.

Given a set S of configurations (the open fleet, possibly with a candidate added or an
open configuration removed), :func:`solve_routing` solves the routing LP of
docs/semantics.md#routing-over-a-fixed-fleet in one of two forms:

* **Fixed fleet** (``fluid=False``): the replicas are the integer fleet ``r``; the LP
  gives the exact optimal routing (delay + unmet penalty) of ``r``; rental and storage
  are constants of the fleet.
* **Fluid fleet** (``fluid=True``): the replicas :math:`y_c` are continuous and pay
  their rental; :math:`\bar y_c` is ``r_c`` (the configuration may only shrink), ``inf``
  (it may grow) or 0. The GPU availability and the budget are rows on :math:`y`.
  Rounding :math:`y` up gives a whole-replica fleet on which the fixed LP is feasible;
  the duals price capacity for the ``add`` candidate scoring (:func:`reduced_savings`).

Single placement is not expressible in the LP (the callers skip it). Small margins keep
the returned point strictly inside the evaluator's tolerances: capacity rows use
:math:`\rho_{\max}(1-10^{-7})` and ``u_i ≤ ζ_i − 10^{-7}`` (when ζ_i > 10^{-6}). The
shares are then cleaned: each type re-scaled so that its unmet share is within
[0, ζ_i] (the error and mean-delay rows are homogeneous, so this keeps their sign), and
a round-off excess on an error (mean-delay) row is removed by scaling that type's
routes above its SLO down (the lost share becomes unmet, within the ζ_i margin).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hetserve.instances.routing import Routing
from hetserve.instances.routing import solve_routing as _solve

if TYPE_CHECKING:
    from hetserve.heuristics.state import HeuristicData

CAP_MARGIN = 1e-7
"""Relative margin on the capacity rows (the evaluator allows 1e-6 absolute)."""
ELASTIC_PRICE = 10.0
"""Price multiplier of the elastic unmet share (see :func:`solve_routing`)."""


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
    return np.asarray(cached)


def solve_routing(data: HeuristicData, cfgs: np.ndarray, y_upper: np.ndarray, *,
                  fluid: bool, gpu_room: np.ndarray | None = None,
                  money_room: float | None = None, elastic: bool = False) -> Routing | None:
    """Solve the routing LP (module docstring) on the configurations ``cfgs``.

    ``y_upper[k]`` bounds the replicas of ``cfgs[k]`` (``np.inf``: unbounded, fluid
    only). With ``fluid=True``, ``gpu_room[g]`` bounds Σ gpus_c y_c per GPU type and
    ``money_room`` bounds Σ rent_c y_c (both optional). ``elastic=True`` adds, per type,
    an unmet share beyond ζ_i at a prohibitive price (:data:`ELASTIC_PRICE` × the type's
    dearest way to be served), so the LP is always feasible and its duals say which
    types S cannot serve (used to score the configurations to add; the returned shares
    are then not cleaned and may leave more than ζ_i unserved). Returns ``None`` if the
    LP is infeasible (or HiGHS fails)."""
    d = data
    cfgs = np.asarray(cfgs, dtype=np.int64)
    rows: list[tuple[np.ndarray, float]] = []
    if fluid and gpu_room is not None:
        use = d.gpu_use[cfgs]
        for g in np.nonzero(use.any(axis=0))[0]:
            rows.append((use[:, g].astype(float),
                         float(np.asarray(gpu_room, dtype=float)[g])))
    if fluid and money_room is not None and np.isfinite(money_room):
        rows.append((d.rent[cfgs], float(money_room)))
    sol = _solve(d.routing, cfgs, y_upper, rho=d.rho_max * (1 - CAP_MARGIN),
                 unmet_upper=np.where(d.zeta > 10 * CAP_MARGIN, d.zeta - CAP_MARGIN, 0.0),
                 rent=d.rent[cfgs] if fluid else None, resource_rows=rows,
                 elastic_cost=ELASTIC_PRICE * _dearest(d) if elastic else None)
    if sol is None:
        return None
    x = sol.x if elastic else _clean(d, cfgs, sol.x)
    y = sol.y if fluid else (x * np.where(x > 0, d.a[:, cfgs], 0.0)).sum(axis=0) / d.rho_max
    return Routing(cfgs=sol.cfgs, x=x, y=y, objective=sol.objective,
                   demand_dual=sol.demand_dual, error_dual=sol.error_dual,
                   delay_dual=sol.delay_dual)


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


def fixed_routing(data: HeuristicData, r: np.ndarray) -> Routing | None:
    """Optimal routing (delay + unmet penalty) on the integer fleet ``r`` (configurations
    with r_c > 0), or ``None`` if no routing meets the demand, error and delay rows."""
    cfgs = np.nonzero(r > 0)[0]
    return solve_routing(data, cfgs, r[cfgs].astype(float), fluid=False)


def reduced_savings(data: HeuristicData, sol: Routing) -> np.ndarray:
    """Per (type, configuration): the LP's saving per unit share from routing the type
    to the configuration, before paying the configuration's own capacity:
    :math:`s_{ic} = \\pi_i + \\nu_i (e_{ic}-\\varepsilon_i) + \\delta_i (D_{ic}-\\Delta_i)
    - \\mathrm{dcost}_{ic}` with the duals of ``sol`` (−inf on unusable routes)."""
    d = data
    s = (sol.demand_dual[:, None] + sol.error_dual[:, None] * d.err_ex
         + sol.delay_dual[:, None] * d.dly_ex - d.dcost)
    return np.where(d.usable & np.isfinite(d.a), s, -np.inf)
