r"""Fleet moves of AGH with exact LP routing (a facility-location neighbourhood).

The other operators (:mod:`heuristics.operators`) move shares one route at a time. The
moves here change the *fleet* (which configurations are open and with how many
replicas) and then re-route every type at once with the routing LP of
:mod:`hetserve.instances.routing` (via :mod:`heuristics.routing_lp`), so the routing of
each tried fleet is optimal.

A tried fleet is priced exactly as the evaluator does (rental of the integer replicas,
storage of every model with an open configuration, delay and unmet penalty of the LP's
routing) *before* the state is touched; only a strictly cheaper fleet that keeps the
budget, GPU availability, storage and one-(TP, PP)-per-deployment rules (or violates
none of them more than now) is written into the journaled state, and the state's own
check (:meth:`PlanState.no_worse`) has the last word. So, as for every operator, a
feasible state stays feasible and the objective never increases.

Building a fleet from a set of configurations S (:func:`_realise`):

1. the *fluid* LP on S (replicas y_c continuous, paying rent·y; each y_c bounded by its
   current replicas ("shrink only") or unbounded), with the GPU and budget rows;
2. replicas r_c = ⌈y_c⌉ (configurations with y_c = 0 close);
3. the fixed-fleet LP on r gives the routing;
4. rounding repair: for each configuration in decreasing order of the rental its
   rounding wasted, r_c − 1 is tried with the fixed LP and kept if cheaper.

Moves (each sweeps its neighbourhood once, first improvement):

``reroute``   the fixed-fleet LP on the current replicas, then trim every configuration.
``decrement`` r_c − 1 for one open configuration, fixed LP (r_c = 1 closes it).
``drop``      close one open configuration; the others absorb its load (shrink-only fluid
              LP first, then with growth allowed), rounding, fixed LP.
``add``       open one closed configuration. Candidates are scored with the duals of the
              shrink-only fluid LP on the current fleet: type i would save
              s_ic = π_i + ν_i(e_ic − ε_i) + δ_i(D_ic − Δ_i) − dcost_ic per unit share
              moved to c; filling k replicas (capacity kρ_max) greedily by s_ic/a_ic
              gives the estimated gain max_k [Σ filled s − k·rent_c] − storage of a new
              model. This is evaluated for *every* configuration at once, so a large
              shared configuration that no single type would open (the "hub") scores
              by what all types together save. The best ``ADD_TRIES`` are realised on
              S ∪ {c} (c grows freely, the others may only shrink); under one (TP, PP)
              per deployment a candidate of an active deployment replaces its active
              configuration.
``swap``      close one open configuration and open one closed configuration (scored as
              in ``add`` with the duals of the fluid LP without the closed one).

All moves are skipped under single placement (the LP cannot express it).
"""

from __future__ import annotations

import numpy as np

from hetserve.heuristics.routing_lp import reduced_savings, solve_routing
from hetserve.heuristics.state import CHECK_TOL, PlanState, open_in_random_order
from hetserve.instances.routing import Routing

ADD_TRIES = 6
"""Single candidates realised per ``add`` sweep (best estimated gain first)."""
ADD2_TRIES = 3
"""Second candidates tried on top of each of the ``SECOND_FROM`` best first ones."""
SWAP_TRIES = 2
"""Single candidates realised per closed configuration in a ``swap`` sweep."""
SWAP2_TRIES = 2
SECOND_FROM = 2
KICK_POOL = 8
"""``kick`` opens one of this many best-scored candidates."""
REPAIR_TRIES = 2
"""The rounding repair tries at most this many decrements per configuration."""
SCORE_POOL = 64
"""Configurations scored in full by ``add_scores`` (the best by a cheap upper bound)."""
MAX_K = 16
"""Largest replica count the ``add`` scoring considers for one candidate."""


def _tol(obj: float) -> float:
    return 1e-9 * max(1.0, abs(obj))


# ---------------------------------------------------------------------- fleet pricing
def _fleet_cost(state: PlanState, r: np.ndarray) -> float:
    """Rental + storage of the integer fleet ``r``."""
    d = state.data
    on = r > 0
    models = np.unique(d.cfg_model[on])
    return float(d.hours * (d.price_h @ r) + d.store_cost[models].sum())


def _fleet_ok(state: PlanState, r: np.ndarray) -> bool:
    """Budget, GPU availability, storage and the (TP, PP) rule hold for ``r`` (or are not
    violated more than by the current state)."""
    d, s = state.data, state
    on = r > 0
    gpu = r @ d.gpu_use
    if np.any(gpu > np.maximum(d.gpu_limit, s.gpu_used) + 1e-9):
        return False
    models = np.unique(d.cfg_model[on])
    spend = float(d.hours * (d.price_h @ r) + d.store_cost[models].sum())
    if spend > max(d.budget, s.spend) * (1 + 1e-12) + CHECK_TOL:
        return False
    if float(d.model_gb[models].sum()) > max(d.storage_cap, s.storage_gb) + 1e-9:
        return False
    if not d.multi_parallelism:
        deps = np.bincount(d.cfg_dep[on], minlength=d.n_deps)
        if np.any(deps > np.maximum(1, s.dep_count)):
            return False
    return True


def _route(state: PlanState, r: np.ndarray) -> Routing | None:
    cfgs = np.nonzero(r > 0)[0]
    return solve_routing(state.data, cfgs, r[cfgs].astype(float), fluid=False)


def _price(state: PlanState, r: np.ndarray) -> tuple[float, Routing] | None:
    """Exact objective of the fleet ``r`` with its optimal routing, or None."""
    if not _fleet_ok(state, r):
        return None
    sol = _route(state, r)
    if sol is None:
        return None
    d = state.data
    x = sol.x
    lp_obj = float((x * d.dcost[:, sol.cfgs]).sum() + d.unmet_cost @ (1.0 - x.sum(axis=1)))
    return _fleet_cost(state, r) + lp_obj, sol


def _write(state: PlanState, r: np.ndarray, sol: Routing) -> None:
    """Write fleet ``r`` and the routing ``sol`` into the (journaled) state."""
    state.assign(r, sol.full(state.data.n_configs))


def _try(state: PlanState, r: np.ndarray, priced: tuple[float, Routing] | None = None
         ) -> bool:
    """Apply fleet ``r`` (routed by the LP) if it is strictly cheaper and no constraint
    is violated more than now; returns whether it was kept."""
    if priced is None:
        priced = _price(state, r)
    if priced is None:
        return False
    obj0 = state.objective
    if not priced[0] < obj0 - _tol(obj0):
        return False
    ex0 = state.excess()
    state.checkpoint()
    _write(state, r, priced[1])
    if state.objective < obj0 - _tol(obj0) and state.no_worse(ex0):
        state.commit()
        return True
    state.rollback()
    return False


# ---------------------------------------------------------------------- fluid fleets
def _money_room(state: PlanState, cfgs: np.ndarray) -> float | None:
    d = state.data
    if not np.isfinite(d.budget):
        return None
    store = float(d.store_cost[np.unique(d.cfg_model[cfgs])].sum())
    return max(d.budget, state.spend) - store


def _fluid(state: PlanState, cfgs: np.ndarray, y_up: np.ndarray, *,
           elastic: bool = False) -> Routing | None:
    d = state.data
    return solve_routing(d, cfgs, y_up, fluid=True,
                         gpu_room=np.maximum(d.gpu_limit, state.gpu_used),
                         money_room=_money_room(state, cfgs), elastic=elastic)


def _round(state: PlanState, sol: Routing) -> tuple[np.ndarray, tuple[float, Routing]] | None:
    """Whole replicas from the fluid solution (⌈y⌉), routed and priced, then the
    rounding repair: the cheapest single decrement, while one is cheaper."""
    d = state.data
    r = np.zeros(d.n_configs, dtype=np.int64)
    r[sol.cfgs] = np.ceil(sol.y * (1 - 1e-6) - 1e-9).clip(min=0).astype(np.int64)
    priced = _price(state, r)
    if priced is None:
        r[sol.cfgs] = np.ceil(sol.y).astype(np.int64)
        priced = _price(state, r)
        if priced is None:
            return None
    # first improvement in decreasing order of wasted rental, rescanning after a success
    tries = 0
    while tries < REPAIR_TRIES * max(1, len(sol.cfgs)):
        waste = (r[sol.cfgs] - sol.y) * d.rent[sol.cfgs]
        improved = False
        for k in np.argsort(-waste, kind="stable"):
            c = int(sol.cfgs[k])
            if r[c] == 0:
                continue
            r2 = r.copy()
            r2[c] -= 1
            tries += 1
            p2 = _price(state, r2)
            if p2 is not None and p2[0] < priced[0] - _tol(priced[0]):
                r, priced, improved = r2, p2, True
                break
        if not improved:
            break
    return r, priced


def _realise(state: PlanState, cfgs: np.ndarray, y_up: np.ndarray
             ) -> tuple[np.ndarray, tuple[float, Routing]] | None:
    """The whole-replica fleet on ``cfgs`` (fluid LP, rounding, repair), or None if the
    fluid bound shows that it cannot beat the current state."""
    sol = _fluid(state, cfgs, y_up)
    if sol is None:
        return None
    d = state.data
    used = sol.cfgs[sol.y > 1e-9]
    bound = sol.objective + float(d.store_cost[np.unique(d.cfg_model[used])].sum())
    if bound >= state.objective - _tol(state.objective):
        return None
    return _round(state, sol)


def _try_set(state: PlanState, cfgs: np.ndarray, y_up: np.ndarray) -> bool:
    res = _realise(state, cfgs, y_up)
    return res is not None and _try(state, res[0], res[1])


# ---------------------------------------------------------------------- add scoring
def add_scores(state: PlanState, sol: Routing, closed: np.ndarray) -> np.ndarray:
    """Estimated objective gain of opening each configuration of ``closed`` (a mask;
    −inf elsewhere), from the duals of the fluid LP ``sol`` (module docstring)."""
    d, s = state.data, state
    sav = reduced_savings(d, sol)  # (I, C)
    new_model = s.model_count[d.cfg_model] == 0
    # upper bound: every type with a positive saving moves in full, one replica
    store_new = np.where(new_model, d.store_cost[d.cfg_model], 0.0)
    ub = np.maximum(sav, 0.0).sum(axis=0) - d.rent - store_new
    cand = closed & (ub > 0)
    cand &= np.all(d.gpu_use <= np.maximum(0, d.gpu_limit - s.gpu_used) + _dep_gpus(state),
                   axis=1)
    cs = np.nonzero(cand)[0]
    out = np.full(d.n_configs, -np.inf)
    if not len(cs):
        return out
    if len(cs) > SCORE_POOL:
        cs = cs[np.lexsort((cs, -ub[cs]))[:SCORE_POOL]]
    sv = np.maximum(sav[:, cs], 0.0)  # (I, K)
    a = d.a[:, cs]
    load = np.where(sv > 0, a, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        dens = np.where(sv > 0, sv / np.where(load > 0, load, 1.0), -1.0)
    order = np.argsort(-dens, axis=0, kind="stable")
    sv = np.take_along_axis(sv, order, axis=0)
    load = np.take_along_axis(load, order, axis=0)
    before = np.cumsum(load, axis=0) - load
    total = load.sum(axis=0)
    best = np.full(len(cs), -np.inf)
    kmax = int(min(MAX_K, max(1, np.ceil(total.max() / d.rho_max))))
    rent = d.rent[cs]
    for k in range(1, kmax + 1):
        cap = k * d.rho_max
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.clip((cap - before) / np.where(load > 0, load, 1.0), 0.0, 1.0)
        gain = (f * sv).sum(axis=0) - k * rent
        gain = np.where(total > (k - 1) * d.rho_max, gain, -np.inf)
        best = np.maximum(best, gain)
    best -= np.where(new_model[cs], d.store_cost[d.cfg_model[cs]], 0.0)
    out[cs] = best
    return out


def _dep_gpus(state: PlanState) -> np.ndarray:
    """GPUs of each type, ``(C, G)``, a candidate would free by replacing the active
    configuration of its deployment."""
    d, s = state.data, state
    if d.multi_parallelism:
        return np.zeros(d.gpu_use.shape, dtype=np.int64)
    per_dep = np.zeros((d.n_deps, d.gpu_use.shape[1]), dtype=np.int64)
    np.add.at(per_dep, d.cfg_dep, s.r[:, None] * d.gpu_use)
    return per_dep[d.cfg_dep]


def _with(state: PlanState, cfgs: np.ndarray, y_up: np.ndarray, c: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """``cfgs`` with ``c`` added (unbounded); under one (TP, PP) per deployment it
    replaces the configuration of its deployment."""
    d = state.data
    if not d.multi_parallelism:
        keep = d.cfg_dep[cfgs] != d.cfg_dep[c]
        cfgs, y_up = cfgs[keep], y_up[keep]
    return np.append(cfgs, c), np.append(y_up, np.inf)


def _candidates(state: PlanState, cfgs: np.ndarray, y_up: np.ndarray, n: int) -> list[int]:
    """The ``n`` configurations outside ``cfgs`` with the best estimated gain, scored
    with the duals of the elastic fluid LP on ``cfgs``."""
    sol = _fluid(state, cfgs, y_up, elastic=True)
    if sol is None:
        return []
    closed = np.ones(state.data.n_configs, dtype=bool)
    closed[cfgs] = False
    score = add_scores(state, sol, closed)
    ok = np.nonzero(np.isfinite(score))[0]
    if not len(ok):
        return []
    ranked = ok[np.lexsort((ok, -score[ok]))]
    # at most one configuration per deployment (its best-scored (TP, PP))
    _, first = np.unique(state.data.cfg_dep[ranked], return_index=True)
    top = ranked[np.sort(first)][:n]
    return [int(c) for c in top]


def _open_up(state: PlanState, cfgs: np.ndarray, y_up: np.ndarray, first: int,
             second: int) -> bool:
    """Try ``cfgs`` plus one candidate (the best ``first``); if ``cfgs`` alone cannot
    serve the demand (its fluid LP is infeasible), also ``cfgs`` plus two (the best
    ``second`` on top of each of the :data:`SECOND_FROM` best first ones). Keeps the
    first improvement."""
    level1 = _candidates(state, cfgs, y_up, first)
    for c in level1:
        if _try_set(state, *_with(state, cfgs, y_up, c)):
            return True
    if second <= 0 or _fluid(state, cfgs, y_up) is not None:
        return False
    for c in level1[:SECOND_FROM]:
        cfgs1, y1 = _with(state, cfgs, y_up, c)
        for c2 in _candidates(state, cfgs1, y1, second):
            if _try_set(state, *_with(state, cfgs1, y1, c2)):
                return True
    return False


# ---------------------------------------------------------------------- operators
def reroute(state: PlanState, rng: np.random.Generator) -> bool:
    """Re-route every type optimally on the current fleet (LP), then trim replicas."""
    if state.data.single_placement or not (state.r > 0).any():
        return False
    priced = _price(state, state.r)
    if priced is None:
        return False
    r = state.r.copy()
    y = priced[1].y
    r[priced[1].cfgs] = state.data.replicas_for(y * state.data.rho_max)
    return _try(state, r)


def decrement(state: PlanState, rng: np.random.Generator) -> bool:
    """Remove one replica of an open configuration and re-route by LP."""
    if state.data.single_placement:
        return False
    improved = False
    for c in open_in_random_order(state, rng):
        r = state.r.copy()
        r[c] -= 1
        improved |= _try(state, r)
    return improved


def _open_except(state: PlanState, c: int) -> np.ndarray:
    """The configurations open now, without ``c``."""
    open_cfgs = np.nonzero(state.r > 0)[0]
    return open_cfgs[open_cfgs != c]


def drop(state: PlanState, rng: np.random.Generator) -> bool:
    """Close an open configuration; the others absorb its load (LP, rounding)."""
    if state.data.single_placement:
        return False
    improved = False
    for c in open_in_random_order(state, rng):
        rest = _open_except(state, c)
        if not len(rest):
            continue
        if _try_set(state, rest, state.r[rest].astype(float)):
            improved = True
            continue
        improved |= _try_set(state, rest, np.full(len(rest), np.inf))
    return improved


def add(state: PlanState, rng: np.random.Generator) -> bool:
    """Open one (or two) closed configurations chosen by their estimated gain over all
    the types they can serve; the open ones may only shrink. First improvement."""
    if state.data.single_placement or not (state.r > 0).any():
        return False
    open_cfgs = np.nonzero(state.r > 0)[0]
    return _open_up(state, open_cfgs, state.r[open_cfgs].astype(float), ADD_TRIES, ADD2_TRIES)


def swap(state: PlanState, rng: np.random.Generator) -> bool:
    """Close one open configuration and open one (or two) closed ones (scored as in
    ``add`` on the fleet without the closed one; every configuration may resize)."""
    if state.data.single_placement:
        return False
    improved = False
    for c_out in open_in_random_order(state, rng):
        rest = _open_except(state, c_out)
        improved |= _open_up(state, rest, np.full(len(rest), np.inf), SWAP_TRIES, SWAP2_TRIES)
    return improved


# ---------------------------------------------------------------------- perturbation
def kick(state: PlanState, rng: np.random.Generator) -> bool:
    """Perturb the fleet for AGH's iterated local search (may raise the cost; keeps the
    budget, GPU, storage and (TP, PP) rules): with probability ½ open one of the
    :data:`KICK_POOL` best ``add`` candidates with at least one replica, else close a
    random open configuration (the others resize freely). Re-routed by LP. Returns
    whether the state changed."""
    if state.data.single_placement or not (state.r > 0).any():
        return False
    open_cfgs = np.nonzero(state.r > 0)[0]
    if rng.random() < 0.5 or len(open_cfgs) < 2:
        cands = _candidates(state, open_cfgs, np.full(len(open_cfgs), np.inf), KICK_POOL)
        if not cands:
            return False
        c = cands[int(rng.integers(len(cands)))]
        cfgs, y_up = _with(state, open_cfgs, np.full(len(open_cfgs), np.inf), c)
        sol = _fluid(state, cfgs, y_up)
        if sol is None:
            return False
        r = np.zeros(state.data.n_configs, dtype=np.int64)
        r[sol.cfgs] = np.ceil(sol.y * (1 - 1e-6) - 1e-9).clip(min=0).astype(np.int64)
        r[c] = max(1, r[c])
    else:
        c = int(open_cfgs[int(rng.integers(len(open_cfgs)))])
        rest = open_cfgs[open_cfgs != c]
        sol = _fluid(state, rest, np.full(len(rest), np.inf))
        if sol is None:
            return False
        r = np.zeros(state.data.n_configs, dtype=np.int64)
        r[sol.cfgs] = np.ceil(sol.y * (1 - 1e-6) - 1e-9).clip(min=0).astype(np.int64)
    priced = _price(state, r)
    if priced is None:
        return False
    _write(state, r, priced[1])
    return True
