"""Baselines for the heuristics.

``dvr`` (decoupled deployment-then-routing) picks the fleet with a rule that ignores
routing interactions and then routes on the fixed fleet:

1. **Placement.** Query types in descending arrival rate; each picks the usable
   configuration that meets its error SLO alone (e ≤ ε; the lowest-error usable one if
   none does) with the least cost of serving its whole demand alone, i.e. ⌈λ_i / (μ_ic
   ρ_max)⌉ replicas' rental plus its delay penalty, and adds those replicas. A deployment
   already fixed at another (TP, PP) offers only that configuration. Replicas are never
   shared when sizing, and the fleet is not trimmed afterwards.
2. **Routing.** With the replicas fixed, the routing LP (:mod:`hetserve.instances.routing`)
   chooses the shares x_ic on usable routes and the unmet shares u_i ≤ ζ_i minimising
   delay + unmet penalty under capacity, mean-error and (if on) mean-delay rows. If that
   LP is infeasible the unmet caps are dropped and the evaluator reports the excess.
   Under single placement each type keeps its own configuration (no LP).

Budget, availability and storage are not considered; the evaluator reports any breach.

``single_route_plan`` (the stress tests' ``single`` method; not from the paper) puts each
query type on one route, the cheapest per req/s that meets its error SLO, with replicas
rounded up.
"""

from __future__ import annotations

import math
import time

import numpy as np

from hetserve.heuristics.result import make_result
from hetserve.heuristics.state import LOAD_TOL, HeuristicData, PlanState
from hetserve.instances import Instance, RunResult, Solution
from hetserve.instances.routing import price_per_rps, route_fleet


def _route(data: HeuristicData, r: np.ndarray, cap_unmet: bool) -> np.ndarray | None:
    """The routing LP on the fleet ``r`` (unmet shares capped by ζ_i or free), as a full
    ``(I, C)`` share array, or None if it is infeasible."""
    sol = route_fleet(data.routing, r, rho=data.rho_max,
                      unmet_upper=data.zeta if cap_unmet else np.ones(data.n_types))
    return None if sol is None else sol.full(data.n_configs)


def dvr(instance: Instance, *, seed: int = 0) -> RunResult:
    """Decoupled baseline: placement by a per-type rule, then LP routing (module docstring).

    ``seed`` is accepted for a uniform method signature; the baseline is deterministic.
    """
    t0 = time.perf_counter()
    data = HeuristicData.build(instance)
    r = np.zeros(data.n_configs, dtype=np.int64)
    fixed = np.full(data.n_deps, -1, dtype=np.int64)
    choice = np.full(data.n_types, -1, dtype=np.int64)
    reps = np.maximum(1.0, np.ceil(data.a / data.rho_max - LOAD_TOL))
    alone = np.where(data.usable, reps * data.rent[None, :] + data.dcost, np.inf)
    for i in np.argsort(-data.lam, kind="stable"):
        ok = data.usable[i] & (data.err_ex[i] <= 0)
        if not ok.any() and data.usable[i].any():
            ok = data.usable[i] & (data.err_ex[i] <= data.err_ex[i][data.usable[i]].min())
        if not data.multi_parallelism:
            dep = data.cfg_dep
            ok &= (fixed[dep] < 0) | (fixed[dep] == np.arange(data.n_configs))
        if not ok.any():
            continue
        c = int(np.argmin(np.where(ok, alone[i], np.inf)))
        choice[i] = c
        r[c] += int(reps[i, c])
        fixed[data.cfg_dep[c]] = c
    x = np.zeros((data.n_types, data.n_configs))
    if data.single_placement:
        placed = np.nonzero(choice >= 0)[0]
        x[placed, choice[placed]] = 1.0
    else:
        routed = _route(data, r, cap_unmet=True)
        if routed is None:
            routed = _route(data, r, cap_unmet=False)
        if routed is not None:
            x = routed
    state = PlanState.from_arrays(data, r, x)
    runtime = time.perf_counter() - t0
    return make_result("dvr", data, state, runtime, seed=seed, stats={
        "construction_cost": state.objective, "final_cost": state.objective})


def single_route_plan(instance: Instance) -> Solution:
    """Baseline: each query type (largest demand first) on the route with the lowest
    $/h per req/s among usable routes that meet its error SLO alone, not conflicting with
    the (TP, PP) already chosen for that deployment; replicas = ⌈load / ρ_max⌉."""
    t = instance.routes
    prices = price_per_rps(instance)
    x = np.zeros((len(instance.query_types), len(t)))
    active: dict[tuple[str, str, str], int] = {}
    for i in np.argsort(-t.rates, kind="stable"):
        best, best_cost = -1, math.inf
        for c in np.nonzero(np.isfinite(prices[i]))[0]:
            if active.get(t.configs[c].deployment, c) != c:
                continue
            if prices[i, c] < best_cost:
                best, best_cost = int(c), float(prices[i, c])
        if best >= 0:
            active[t.configs[best].deployment] = best
            x[i, best] = 1.0
    r = np.ceil(t.load(x) / instance.max_utilisation - 1e-9)
    return Solution.from_arrays(instance, r, x)
