r"""Out-of-sample stress tests of a frozen plan (docs/semantics.md#stress-tests;
arXiv 2604.07472 §5).

A plan (deployments, parallelism, replicas ``r_c`` and routed shares ``x_ic``) made on
the nominal instance is *frozen* and evaluated on the inflated instance
``instance.inflated(delay=γ_d, error=γ_e, demand=γ_λ)`` (scalars or one factor per query
type). In that copy every latency of type *i* is multiplied by γ_d inside the route
table, so the operating point b* shrinks to keep γ_d·D(b*) ≤ Δ_i and the capacity μ'
drops; error rates are multiplied by γ_e and arrival rates by γ_λ (λ' = γ_λ·λ).
Rental and storage do not change (the fleet is rented already).

Semantics (every step is exact and fractional; docs/semantics.md#open-choices)
-----------------------------------------------------------------------------
1. **Routing.** ``recourse="frozen"`` keeps the plan's shares ``x_ic``.
   ``recourse="reroute"`` re-balances the shares over the plan's fixed deployments
   (replicas and parallelism unchanged; any usable route to a configuration with
   ``r_c > 0`` may be used) by the LP

   .. math::
      \min\; 3600T\sum_{ic}(\rho_i\lambda'_i D'_{ic} - \phi_i\lambda'_i)\,y_{ic}
      \;\text{s.t.}\; \sum_c y_{ic}\le 1,\;
      \sum_i \tfrac{\lambda'_i}{\mu'_{ic}} y_{ic}\le r_c,\;
      \sum_c (e'_{ic}-\varepsilon_i)\,y_{ic}\le 0,\; y\ge 0,

   whose objective plus the constants (rental + storage + :math:`3600T\sum_i\phi_i\lambda'_i`)
   is exactly the realised cost of step 5 of a routing that needs no shedding (the routing
   LP of :mod:`hetserve.instances.routing`). The frozen plan's realised (post-shedding)
   traffic is a feasible point of this LP, so re-routing is never worse; as a guard against
   solver tolerances the frozen outcome is returned (``fallback=True``) if the LP routing's
   realised cost were higher. Under the ``average``/``both`` delay rules the LP also keeps
   the mean latency of each type ≤ Δ_i.
2. **Delay (route level).** A route with traffic that is no longer usable on the inflated
   table (γ_d·D(1) > Δ_i, or the sequence does not fit the memory) loses its whole share,
   cause ``delay``. Such requests are rejected at admission and do not load the replicas.
3. **Capacity.** Per configuration the realised utilisation is
   :math:`u_c = \sum_i \lambda'_i x_{ic} / (\mu'_{ic} r_c)` over its still-usable routes
   (ρ = 1, not ρ_max: ρ_max is a planning headroom). If :math:`u_c > 1` (beyond the
   evaluator's tolerance ``FEAS_TOL`` replicas) the share :math:`1 - 1/u_c` of every route on
   *c* is violated, cause ``capacity``: the replicas cannot keep the delay SLO at that load.
   Traffic on a configuration without replicas is violated entirely.
4. **Error.** Per query type, if the mean inflated error of the remaining served traffic
   exceeds ε_i (beyond ``FEAS_TOL``), traffic is shed from the worst-error routes first until
   the mean equals ε_i exactly (the minimal fractional shedding), cause ``error``. Under the
   ``average``/``both`` delay rules the same shedding, slowest routes first, restores the
   mean latency ≤ Δ_i before the error step (cause ``delay``).
5. **Realised cost** = rental + storage (unchanged) + delay penalty
   :math:`3600T\sum_i\rho_i\lambda'_i\sum_c D'_{ic}s_{ic}` on the traffic ``s`` served within
   the SLO at the inflated D(b*) + unmet penalty :math:`3600T\sum_i\phi_i\lambda'_i(u_i+v_i)`
   on planned unmet :math:`u_i = \max(0, 1-\sum_c x_{ic})` plus violated share :math:`v_i`.

Rates are shares of the total inflated demand :math:`\sum_i\lambda'_i`: ``violation_rate``
counts violated requests only (split into ``violation_delay``, ``violation_capacity``,
``violation_error``); ``unmet_rate`` is the plan's planned unmet; ``violation_rate_total``
is their sum (every request not served within its SLO). With re-routing, the traffic the
LP leaves unserved counts as planned unmet up to the plan's own unmet share; the rest is
violated and attributed to causes in proportion to the frozen outcome's causes for that
type (``capacity`` if the frozen plan had none).

At inflation 1.0 with frozen routing, the realised cost of a plan equals
:func:`instances.evaluate.evaluate`'s objective exactly (same expressions, same numbers)
and a feasible plan has no violation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from hetserve.instances.errors import require
from hetserve.instances.evaluate import FEAS_TOL, CostBreakdown, cost_terms
from hetserve.instances.routing import RoutingData, route_fleet

if TYPE_CHECKING:
    from hetserve.instances.model import Instance
    from hetserve.instances.solution import Solution

RECOURSES = ("frozen", "reroute")
KINDS = ("delay", "error", "demand")
CAUSES = ("delay", "capacity", "error")

Factor = float | Sequence[float] | np.ndarray


@dataclass(frozen=True)
class TypeStress:
    """Outcome for one query type; shares are fractions of its inflated demand λ'_i."""

    name: str
    demand_rps: float
    served: float
    unmet: float
    violated_delay: float
    violated_capacity: float
    violated_error: float
    mean_error: float
    """Mean inflated error of the served traffic (NaN when nothing is served)."""
    mean_delay_s: float
    """Mean inflated latency D'(b*) of the served traffic (NaN when nothing is served)."""

    @property
    def violated(self) -> float:
        return self.violated_delay + self.violated_capacity + self.violated_error


@dataclass(frozen=True)
class StressOutcome:
    """Realised cost and SLO violations of a frozen plan on an inflated instance."""

    recourse: str
    delay: tuple[float, ...]
    error: tuple[float, ...]
    demand: tuple[float, ...]
    rental: float
    storage: float
    delay_penalty: float
    unmet_penalty: float
    violation_rate: float
    violation_delay: float
    violation_capacity: float
    violation_error: float
    unmet_rate: float
    per_type: tuple[TypeStress, ...]
    fallback: bool = False
    """``reroute`` only: the LP routing was not better, the frozen routing was kept."""

    @property
    def total(self) -> float:
        return self.rental + self.storage + self.delay_penalty + self.unmet_penalty

    @property
    def cost(self) -> CostBreakdown:
        return CostBreakdown(self.rental, self.storage, self.delay_penalty, self.unmet_penalty)

    @property
    def violation_rate_total(self) -> float:
        return self.violation_rate + self.unmet_rate

    def to_row(self) -> dict[str, Any]:
        """Flat figures for a CSV row (factors as their mean over query types)."""
        return {
            "recourse": self.recourse,
            "gamma_d": float(np.mean(self.delay)), "gamma_e": float(np.mean(self.error)),
            "gamma_lambda": float(np.mean(self.demand)),
            "rental": self.rental, "storage": self.storage,
            "delay_penalty": self.delay_penalty, "unmet_penalty": self.unmet_penalty,
            "realised_cost": self.total,
            "violation_rate": self.violation_rate, "violation_delay": self.violation_delay,
            "violation_capacity": self.violation_capacity,
            "violation_error": self.violation_error, "unmet_rate": self.unmet_rate,
            "violation_rate_total": self.violation_rate_total,
            "fallback": self.fallback,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.to_row(), "total": self.total, "delay": list(self.delay),
                "error": list(self.error), "demand": list(self.demand),
                "per_type": [asdict(t) for t in self.per_type]}


# --------------------------------------------------------------------------- factors
def _factors(instance: Instance, value: Factor, label: str) -> tuple[float, ...]:
    n = len(instance.query_types)
    if isinstance(value, (int, float, np.floating, np.integer)):
        vals = [float(value)] * n
    else:
        vals = [float(v) for v in value]
    require(len(vals) == n, label, f"expected {n} factors (one per query type), got {len(vals)}")
    for v in vals:
        require(math.isfinite(v) and v > 0, label, f"factors must be finite and > 0, got {v!r}")
    return tuple(vals)


def random_inflation(instance: Instance, rng: np.random.Generator, low: float = 1.0,
                     high: float = 1.5, kinds: Iterable[str] = KINDS
                     ) -> dict[str, tuple[float, ...]]:
    """One factor per query type drawn uniformly in ``[low, high]`` for each of ``kinds``
    (the others stay 1.0); pass the result as ``**kwargs`` to :func:`stress_evaluate`."""
    kinds = tuple(kinds)
    for k in kinds:
        require(k in KINDS, "kinds", f"unknown kind {k!r}; expected some of {list(KINDS)}")
    require(0 < low <= high, "low/high", f"need 0 < low <= high, got {low!r}, {high!r}")
    n = len(instance.query_types)
    out = {}
    for k in KINDS:  # fixed draw order, so a seed means the same thing whatever ``kinds`` is
        draw = rng.uniform(low, high, size=n)
        out[k] = tuple(float(v) for v in draw) if k in kinds else (1.0,) * n
    return out


def inflate(instance: Instance, delay: Factor = 1.0, error: Factor = 1.0,
            demand: Factor = 1.0) -> Instance:
    """``instance.inflated(...)``; the instance itself when every factor is 1."""
    d, e, lam = (_factors(instance, v, k) for v, k in ((delay, "delay"), (error, "error"),
                                                       (demand, "demand")))
    if all(v == 1.0 for v in d + e + lam):
        return instance
    return instance.inflated(delay=d, error=e, demand=lam)


# --------------------------------------------------------------------------- core
def _shed(s: np.ndarray, metric: np.ndarray, limit: float) -> np.ndarray:
    """Minimal shedding of the shares ``s`` (worst ``metric`` first) so that the
    ``s``-weighted mean of ``metric`` is ≤ ``limit``; returns the shed amounts."""
    shed = np.zeros_like(s)
    total = float(s.sum())
    if total <= 0:
        return shed
    excess = float(((metric - limit) * s).sum())
    if excess <= FEAS_TOL * total:
        return shed
    for c in np.argsort(-metric, kind="stable"):
        over = float(metric[c] - limit)
        if excess <= 0 or over <= 0:
            break
        if s[c] <= 0:
            continue
        take = min(float(s[c]), excess / over)
        shed[c] = take
        excess -= take * over
    return shed


@dataclass(frozen=True)
class _Realised:
    served: np.ndarray      # s[i, c], within SLO
    v_delay: np.ndarray     # per type, shares of λ'_i
    v_capacity: np.ndarray
    v_error: np.ndarray


def _realise(inflated: Instance, r: np.ndarray, x: np.ndarray) -> _Realised:
    """Steps 2–4 on routing ``x``."""
    t = inflated.routes
    q = inflated.query_types
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    bad = (x > 0) & ~t.usable
    v_delay = np.where(bad, x, 0.0).sum(axis=1)
    ok = np.where(bad, 0.0, x)
    served, _ = t.cap_to_capacity(ok, np.asarray(r, dtype=float), tol=FEAS_TOL)
    v_capacity = (ok - served).sum(axis=1)
    served = served.copy()
    v_error = np.zeros(len(q))
    average = inflated.delay_constraint in ("average", "both")
    for i, qt in enumerate(q):
        if average:
            cut = _shed(served[i], t.delay[i], qt.delay_slo_s)
            if cut.any():
                served[i] = served[i] - cut
                v_delay[i] += float(cut.sum())
        cut = _shed(served[i], t.error[i], qt.error_slo)
        if cut.any():
            served[i] = served[i] - cut
            v_error[i] = float(cut.sum())
    return _Realised(served, v_delay, v_capacity, v_error)


def _outcome(nominal: Instance, inflated: Instance, r: np.ndarray, served: np.ndarray,
             unmet: np.ndarray, v: dict[str, np.ndarray], recourse: str,
             factors: tuple[tuple[float, ...], ...], fallback: bool = False) -> StressOutcome:
    t = inflated.routes
    q = inflated.query_types
    base = cost_terms(nominal, r, np.zeros_like(served))  # rental and storage only
    lam = t.rates
    rho = np.array([qt.delay_penalty for qt in q])
    phi = np.array([qt.unmet_penalty for qt in q])
    secs = 3600.0 * inflated.horizon_h
    # Same expressions as instances.evaluate.cost_terms, so inflation 1.0 is exact.
    mean_delay = np.where(served > 0, t.delay * served, 0.0).sum(axis=1)
    violated = v["delay"] + v["capacity"] + v["error"]
    delay_penalty = secs * float(np.sum(rho * lam * mean_delay))
    unmet_penalty = secs * float(np.sum(phi * lam * (unmet + violated)))
    total = float(lam.sum())

    def rate(share: np.ndarray) -> float:
        return float(lam @ share) / total

    s_tot = served.sum(axis=1)
    per_type = []
    for i, qt in enumerate(q):
        ok = s_tot[i] > 0
        per_type.append(TypeStress(
            name=qt.name, demand_rps=float(lam[i]), served=float(s_tot[i]),
            unmet=float(unmet[i]), violated_delay=float(v["delay"][i]),
            violated_capacity=float(v["capacity"][i]), violated_error=float(v["error"][i]),
            mean_error=float(t.error[i] @ served[i]) / s_tot[i] if ok else math.nan,
            mean_delay_s=float(mean_delay[i]) / s_tot[i] if ok else math.nan))
    return StressOutcome(
        recourse=recourse, delay=factors[0], error=factors[1], demand=factors[2],
        rental=base.rental, storage=base.storage, delay_penalty=delay_penalty,
        unmet_penalty=unmet_penalty, violation_rate=rate(violated),
        violation_delay=rate(v["delay"]), violation_capacity=rate(v["capacity"]),
        violation_error=rate(v["error"]), unmet_rate=rate(unmet), per_type=tuple(per_type),
        fallback=fallback)


def reroute_lp(inflated: Instance, r: np.ndarray) -> np.ndarray:
    """The re-routing LP of step 1 over the deployments ``r`` on the inflated instance;
    returns the shares ``y[i, c]`` (zero where the LP routes nothing).

    It is the routing LP of :mod:`hetserve.instances.routing` at utilisation 1 with free
    unmet shares (its objective differs from step 1's by the constant
    :math:`3600T\\sum_i\\phi_i\\lambda'_i`); capacity, error and mean-delay rows are
    tightened by half the evaluator's tolerance so the realised routing needs no shedding."""
    data = RoutingData.from_instance(inflated, slack=0.5 * FEAS_TOL)
    r = np.asarray(r)
    y = np.zeros((data.n_types, len(inflated.routes)))
    if not (r > 0).any():
        return y
    sol = route_fleet(data, r, rho=1.0, unmet_upper=np.ones(data.n_types),
                      y_upper=r[r > 0].astype(float) + 0.5 * FEAS_TOL)
    if sol is None:  # the LP is always feasible (y = 0); anything else is a solver issue
        raise RuntimeError("re-routing LP failed")
    return sol.full(len(inflated.routes))


def stress_arrays(instance: Instance, inflated: Instance, r: np.ndarray, x: np.ndarray,
                  recourse: str = "frozen") -> StressOutcome:
    """:func:`stress_evaluate` on the index form ``(r, x)`` with a prebuilt inflated copy
    (``inflated`` must be ``instance.inflated(...)``: same configurations)."""
    require(recourse in RECOURSES, "recourse",
            f"expected one of {list(RECOURSES)}, got {recourse!r}")
    require(len(inflated.routes) == len(instance.routes), "inflated",
            "must be an inflated copy of the instance (same configurations)")
    nom = instance.query_types
    factors = tuple(
        tuple(getattr(b, f) / getattr(a, f) for a, b in zip(nom, inflated.query_types))
        for f in ("delay_factor", "error_factor", "rate_per_s"))
    r = np.asarray(r)
    x = np.asarray(x, dtype=float)
    unmet = np.maximum(0.0, 1.0 - x.sum(axis=1))
    fz = _realise(inflated, r, x)
    v = {"delay": fz.v_delay, "capacity": fz.v_capacity, "error": fz.v_error}
    frozen = _outcome(instance, inflated, r, fz.served, unmet, v, "frozen", factors)
    if recourse == "frozen":
        return frozen
    y = reroute_lp(inflated, r)
    rz = _realise(inflated, r, y)
    gap = np.maximum(0.0, 1.0 - y.sum(axis=1))
    planned = np.minimum(unmet, gap)
    dropped = gap - planned
    fv = fz.v_delay + fz.v_capacity + fz.v_error
    w = {}
    for cause, arr in v.items():
        share = np.where(fv > 0, arr / np.where(fv > 0, fv, 1.0),
                         1.0 if cause == "capacity" else 0.0)
        w[cause] = dropped * share
    w["delay"] = w["delay"] + rz.v_delay
    w["capacity"] = w["capacity"] + rz.v_capacity
    w["error"] = w["error"] + rz.v_error
    rerouted = _outcome(instance, inflated, r, rz.served, planned, w, "reroute", factors)
    if rerouted.total > frozen.total:
        return replace(frozen, recourse="reroute", fallback=True)
    return rerouted


def stress_evaluate(instance: Instance, solution: Solution, *, delay: Factor = 1.0,
                    error: Factor = 1.0, demand: Factor = 1.0,
                    recourse: str = "frozen") -> StressOutcome:
    """Realised cost and SLO violations of the frozen ``solution`` (made for ``instance``)
    on ``instance.inflated(delay=, error=, demand=)``; see the module docstring."""
    r, x = solution.to_arrays(instance)
    return stress_arrays(instance, inflate(instance, delay, error, demand), r, x, recourse)


MARGIN_CLIP = 1.0 - 1e-9
"""A clipped robust margin stays this factor below the largest servable one."""


def effective_margins(instance: Instance, margins: dict[str, float]) -> dict[str, list[float]]:
    """Per-type robust margins for :meth:`Instance.inflated`, clipped where a type could not
    be served at all.

    Planning on ``instance.inflated(**margins)`` is the exact robust counterpart of the box
    uncertainty ``[1, margin]`` (every constraint is monotone in the inflated parameters).
    A margin a query type cannot meet at all (no route keeps γ_d·D(1) ≤ Δ_i, or none keeps
    γ_e·e ≤ ε_i) would make the counterpart infeasible, so margins are clipped per type at
    the largest factor that type can still be served at (Δ_i / min D(1), then ε_i / min e
    over the routes still usable at the clipped delay margin), times ``MARGIN_CLIP``; a
    clipped type is protected only up to its clip. ``margins`` maps ``delay``/``error``/
    ``demand`` to factors ≥ 1 (missing kinds: 1)."""
    n = len(instance.query_types)
    d = margins.get("delay", 1.0)
    e = margins.get("error", 1.0)
    lam = margins.get("demand", 1.0)
    t = instance.routes
    out_d, out_e = [], []
    for i, qt in enumerate(instance.query_types):
        ok = t.fits[i] & (t.capacity[i] > 0)
        fastest = float(t.delay_at_1[i][ok].min()) if ok.any() else math.inf
        dd = min(d, max(1.0, MARGIN_CLIP * qt.delay_slo_s / fastest)) if math.isfinite(fastest) else 1.0
        usable = ok & (t.delay_at_1[i] * dd <= qt.delay_slo_s)
        best = float(t.error[i][usable].min()) if usable.any() else math.inf
        ee = min(e, max(1.0, MARGIN_CLIP * qt.error_slo / best)) if best > 0 and math.isfinite(best) else e
        out_d.append(dd)
        out_e.append(ee)
    return {"delay": out_d, "error": out_e, "demand": [lam] * n}


__all__ = ["CAUSES", "KINDS", "MARGIN_CLIP", "RECOURSES", "StressOutcome", "TypeStress",
           "effective_margins", "inflate", "random_inflation", "reroute_lp", "stress_arrays",
           "stress_evaluate"]
