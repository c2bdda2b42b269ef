"""Baselines for the heuristics.

``dvr`` (decoupled deployment-then-routing) picks the fleet with a rule that ignores
routing interactions and then routes on the fixed fleet:

1. **Placement.** Query types in descending arrival rate; each picks the usable
   configuration that meets its error SLO alone (e ≤ ε; the lowest-error usable one if
   none does) with the least cost of serving its whole demand alone, i.e. ⌈λ_i / (μ_ic
   ρ_max)⌉ replicas' rental plus its delay penalty, and adds those replicas. A deployment
   already fixed at another (TP, PP) offers only that configuration. Replicas are never
   shared when sizing, and the fleet is not trimmed afterwards.
2. **Routing.** With the replicas fixed, an LP (HiGHS through ``scipy.optimize.linprog``)
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
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from hetserve.heuristics.result import make_result
from hetserve.heuristics.state import LOAD_TOL, HeuristicData, PlanState
from hetserve.instances import Instance, RunResult, Solution


def _route_lp(data: HeuristicData, r: np.ndarray, cap_unmet: bool) -> np.ndarray | None:
    active = np.nonzero(r > 0)[0]
    ii, cc = np.nonzero(data.usable[:, active])
    cc = active[cc]
    n_x, n_i = len(ii), data.n_types
    n = n_x + n_i
    cost = np.concatenate([data.dcost[ii, cc], data.unmet_cost])
    # equality: Σ_c x_ic + u_i = 1
    a_eq = coo_matrix((np.ones(n), (np.concatenate([ii, np.arange(n_i)]), np.arange(n))),
                      shape=(n_i, n)).tocsr()
    rows, cols, vals = [], [], []
    pos = {int(c): k for k, c in enumerate(active)}
    for k, (i, c) in enumerate(zip(ii, cc)):
        rows.append(pos[int(c)])
        cols.append(k)
        vals.append(data.a[i, c])
    n_cap = len(active)
    rows += list(n_cap + ii)
    cols += list(range(n_x))
    vals += list(data.err_ex[ii, cc])
    n_rows = n_cap + n_i
    if data.avg_delay:
        rows += list(n_rows + ii)
        cols += list(range(n_x))
        vals += list(data.dly_ex[ii, cc])
        n_rows += n_i
    a_ub = coo_matrix((vals, (rows, cols)), shape=(n_rows, n)).tocsr()
    b_ub = np.concatenate([data.rho_max * r[active], np.zeros(n_rows - n_cap)])
    ub = np.concatenate([np.ones(n_x), data.zeta if cap_unmet else np.ones(n_i)])
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=np.ones(n_i),
                  bounds=np.stack([np.zeros(n), ub], axis=1), method="highs")
    if res.status != 0:
        return None
    x = np.zeros((n_i, data.n_configs))
    x[ii, cc] = np.clip(res.x[:n_x], 0.0, 1.0)
    return x


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
    if data.single_placement:
        x = np.zeros((data.n_types, data.n_configs))
        for i, c in enumerate(choice):
            if c >= 0:
                x[i, c] = 1.0
    else:
        x = _route_lp(data, r, cap_unmet=True)
        if x is None:
            x = _route_lp(data, r, cap_unmet=False)
        if x is None:
            x = np.zeros((data.n_types, data.n_configs))
    state = PlanState(data)
    for c in np.nonzero(r)[0]:
        state.set_replicas(int(c), int(r[c]))
    for i, c in zip(*np.nonzero(x > 0)):
        state.add_share(int(i), int(c), float(x[i, c]))
    runtime = time.perf_counter() - t0
    return make_result("dvr", data, state, runtime, seed=seed, stats={
        "construction_cost": state.objective, "final_cost": state.objective})


def single_route_plan(instance: Instance) -> Solution:
    """Baseline: each query type (largest demand first) on the route with the lowest
    $/h per req/s among usable routes that meet its error SLO alone, not conflicting with
    the (TP, PP) already chosen for that deployment; replicas = ⌈load / ρ_max⌉."""
    t = instance.routes
    q = instance.query_types
    lam = np.array([qt.rate_per_s for qt in q])
    x = np.zeros((len(q), len(t)))
    active: dict[tuple[str, str, str], int] = {}
    for i in np.argsort(-lam, kind="stable"):
        ok = t.usable[i] & (t.error[i] <= q[i].error_slo) & (t.capacity[i] > 0)
        best, best_cost = -1, math.inf
        for c in np.nonzero(ok)[0]:
            if active.get(t.configs[c].deployment, c) != c:
                continue
            v = t.price_per_replica_hour[c] / t.capacity[i, c]
            if v < best_cost:
                best, best_cost = int(c), v
        if best >= 0:
            active[t.configs[best].deployment] = best
            x[i, best] = 1.0
    load = (lam[:, None] * x / np.where(t.capacity > 0, t.capacity, 1.0)).sum(axis=0)
    r = np.ceil(load / instance.max_utilisation - 1e-9)
    return Solution.from_arrays(instance, r, x)
