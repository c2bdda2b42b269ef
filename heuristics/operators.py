r"""Local-search operators of AGH, in a registry (``OPERATORS``).

Every operator has the signature ``(state, rng) -> bool``: it sweeps its neighbourhood
once in an order drawn from ``rng`` (the one generator AGH threads through the run),
applies each improving move as soon as it finds it (first improvement), and returns
whether it applied any. A move is applied on a journaled :class:`PlanState`, then kept
only if the objective strictly drops and no aggregate constraint is violated more than
before (:meth:`PlanState.no_worse`); otherwise it is rolled back exactly. Moves only add
share to usable routes. Hence an operator never makes a feasible state infeasible.

Operators
---------
``relocate``
    Move a share of a type from one configuration to another (an active one, or a new
    deployment at the type's M1 configuration). Amounts: the granularities of the route's
    share (whole, half, quarter by default) and the exact share that frees one replica of
    the source. The source is trimmed to the replicas its load needs; the target grows
    as needed. The best target per (type, source, amount) is found vectorised.
``consolidate``
    For an active configuration: (a) empty it (each routed share goes to the best other
    active configuration) and release its GPUs; (b) drop one replica and move exactly the
    overflowing load elsewhere.
``tp_upgrade`` / ``tp_downgrade``
    Switch an active configuration to another (TP, PP) configuration of its deployment
    with more / fewer GPUs per replica, moving every routed type along (all must be able
    to use it) and re-sizing the replicas.
``reduce_replicas``
    Trim every configuration to ⌈load / ρ_max⌉ replicas.
``redeploy``
    Move everything an active configuration serves to one other configuration (any tier
    model or (TP, PP): a new deployment or an active one), or merge any two active
    configurations into one "hub" configuration; vectorised over all targets.
``unmet_trade``
    Leave up to ζ_i of a type unserved when the penalty is cheaper than the capacity (and
    delay penalty) it frees; and the reverse: serve unmet demand when that is cheaper.
``reroute``, ``decrement``, ``drop``, ``add``, ``swap``
    Fleet moves with exact LP routing, defined in :mod:`heuristics.lp_moves`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hetserve.heuristics.lp_moves import add, decrement, drop, reroute, swap
from hetserve.heuristics.state import CHECK_TOL, LOAD_TOL, SHARE_TOL, PlanState, open_in_random_order

Operator = Callable[[PlanState, np.random.Generator], bool]
"""``(state, rng) -> improved``; mutates ``state`` in place."""

def _charge(state: PlanState, evaluations: int) -> None:
    """Charge ``evaluations`` candidate-move evaluations to the run's work meter."""
    if state.meter is not None:
        state.meter.charge(int(evaluations))


def _out_of_work(state: PlanState) -> bool:
    """Whether the run's work budget (``state.meter``, set by AGH's local search) is spent:
    operators stop between moves, so the budget binds inside a sweep at large sizes."""
    return state.meter is not None and state.meter.exhausted


def _improve_tol(obj: float) -> float:
    return 1e-9 * max(1.0, abs(obj))


def _granularities(state: PlanState) -> tuple[float, ...]:
    return (1.0,) if state.data.single_placement else state.granularities


def _keep_if_better(state: PlanState, obj0: float, ex0: np.ndarray) -> bool:
    """Commit the journaled move if it improves without new violations, else roll back."""
    if state.objective < obj0 - _improve_tol(obj0) and state.no_worse(ex0):
        state.commit()
        return True
    state.rollback()
    return False


def _frees_one(state: PlanState, i: int, c: int) -> float:
    """Share of type ``i`` on ``c`` whose removal frees one replica of ``c`` (0 if none)."""
    d = state.data
    if state.r[c] < 1:
        return 0.0
    over = state.load[c] - d.rho_max * (state.r[c] - 1)
    if over <= 0:
        return 0.0
    dx = over / d.a[i, c] * (1 + 1e-12) + 1e-15
    return float(dx) if dx < state.x[i, c] else 0.0


def best_target(state: PlanState, i: int, src: int, dxs: np.ndarray | float, *,
                trim_source: bool = True, active_only: bool = False,
                improving_only: bool = False) -> tuple[float, int, float] | None:
    """Cheapest (target, amount) to move of type ``i`` from ``src`` (−1: from the unmet
    share), over the amounts ``dxs`` and every target configuration (vectorised).

    Returns ``(estimated objective change, target, amount)``, or ``None`` if no pair keeps
    every constraint at most as violated as now. With ``improving_only`` (for callers
    that act only on a negative change) a closed target is skipped unpriced when one
    replica of it costs at least what the source can save (its change is then ≥ 0 for
    every amount): an exact candidate list, most of the ~1,500 new deployments per type
    at 100x40x40."""
    d, s = state.data, state
    r = s.r
    dx = np.atleast_1d(np.asarray(dxs, dtype=float))[:, None]  # (A, 1)
    zero = np.zeros_like(dx)
    freed_reps = zero
    frees_model = np.zeros(dx.shape, dtype=bool)
    m_s = -1
    rent_s = store_s = gb_s = 0.0
    gpu_after = s.gpu_used + zero[..., None]  # (A, 1, G): GPUs in use once the source is cut
    if src >= 0:
        r_src = d.replicas_for(s.load[src] - d.a[i, src] * dx) if trim_source else r[src] + zero
        freed_reps = r[src] - r_src
        m_s = int(d.cfg_model[src])
        rent_s = d.rent[src]
        gpu_after = s.gpu_used - freed_reps[..., None] * d.gpu_use[src]
        store_s, gb_s = d.store_cost[m_s], d.model_gb[m_s]
        frees_model = (r_src == 0) & (r[src] > 0) & (s.model_count[m_s] == 1)
        delta_src = -freed_reps * rent_s - d.dcost[i, src] * dx - frees_model * store_s
        err_after = s.err_sum[i] - d.err_ex[i, src] * dx
        dly_after = s.dly_sum[i] - d.dly_ex[i, src] * dx
    else:
        delta_src = -d.unmet_cost[i] * dx
        err_after, dly_after = s.err_sum[i] + zero, s.dly_sum[i] + zero
    cand = s.targets(i)
    if active_only:
        cand = cand[r[cand] > 0]
    cand = cand[cand != src]
    if d.single_placement:
        cand = cand[s.x[i, cand] <= 0]
    if improving_only and len(cand):
        # a closed target opens ≥ 1 replica (its load a·dx is above the rounding
        # tolerance) and pays at least its rent, plus a delay penalty ≥ min(0, dcost)·dx
        saving = float(np.max(-delta_src))
        lowest = d.rent[cand] + np.minimum(0.0, d.dcost[i, cand]) * float(dx.max())
        opens = d.a[i, cand] * float(dx.min()) > LOAD_TOL
        cand = cand[(r[cand] > 0) | ~opens | (lowest < saving)]
    if not len(cand):
        return None
    new_load = s.load[cand] + d.a[i, cand] * dx  # (A, T)
    add = np.maximum(r[cand], d.replicas_for(new_load)) - r[cand]
    m_t = d.cfg_model[cand]
    new_model = (s.model_count[m_t] - (frees_model & (m_t == m_s))) == 0
    store_add = np.where(new_model, d.store_cost[m_t], 0.0)
    cost = delta_src + add * d.rent[cand] + store_add + d.dcost[i, cand] * dx
    ok = err_after + d.err_ex[i, cand] * dx <= max(s.err_sum[i], 0.0) + CHECK_TOL
    if d.avg_delay:
        ok &= dly_after + d.dly_ex[i, cand] * dx <= max(s.dly_sum[i], 0.0) + CHECK_TOL
    room = np.maximum(d.gpu_limit, s.gpu_used)
    ok &= d.gpus_fit(gpu_after[:, 0, :], add, cand, room)
    spend = s.spend - freed_reps * rent_s - frees_model * store_s
    ok &= spend + add * d.rent[cand] + store_add <= max(d.budget, s.spend) * (1 + 1e-12)
    gb = s.storage_gb - frees_model * gb_s
    ok &= gb + np.where(new_model, d.model_gb[m_t], 0.0) <= max(d.storage_cap, s.storage_gb) + 1e-9
    _charge(state, cost.size)
    if not ok.any():
        return None
    cost = np.where(ok, cost, np.inf)
    a, t = np.unravel_index(int(np.argmin(cost)), cost.shape)
    return float(cost[a, t]), int(cand[t]), float(dx[a, 0])


def _move(state: PlanState, i: int, src: int, dst: int, dx: float, *, trim_source: bool) -> None:
    if src >= 0:
        state.add_share(i, src, -dx)
    state.add_share(i, dst, dx)
    state.set_replicas(dst, max(int(state.r[dst]), int(state.data.replicas_for(state.load[dst]))))
    if src >= 0 and trim_source:
        state.trim(src)


# ---------------------------------------------------------------------- operators
def relocate(state: PlanState, rng: np.random.Generator) -> bool:
    """Move (part of) a type's share between configurations when the cost drops."""
    improved = False
    single = state.data.single_placement
    for i in rng.permutation(state.data.n_types):
        i = int(i)
        if _out_of_work(state):
            break
        for src in rng.permutation(np.nonzero(state.x[i] > SHARE_TOL)[0]):
            src = int(src)
            share = float(state.x[i, src])
            if share <= SHARE_TOL:
                continue
            amounts = [share * g for g in _granularities(state)]
            one = _frees_one(state, i, src)
            if one > SHARE_TOL and not single:
                amounts.append(one)
            res = best_target(state, i, src, np.array(amounts), improving_only=True)
            if res is None or res[0] >= -_improve_tol(state.objective):
                continue
            obj0, ex0 = state.objective, state.excess()
            state.checkpoint()
            _move(state, i, src, res[1], res[2], trim_source=True)
            improved |= _keep_if_better(state, obj0, ex0)
    return improved


def consolidate(state: PlanState, rng: np.random.Generator) -> bool:
    """Empty a configuration into the others, or drop one of its replicas."""
    d = state.data
    improved = False
    for c in open_in_random_order(state, rng):
        if _out_of_work(state):
            break
        # (a) empty c
        obj0, ex0 = state.objective, state.excess()
        state.checkpoint()
        ok = True
        for j in np.argsort(-state.x[:, c], kind="stable"):
            j = int(j)
            dx = float(state.x[j, c])
            if dx <= 0:
                break
            res = best_target(state, j, c, dx, trim_source=False, active_only=True)
            if res is None:
                ok = False
                break
            _move(state, j, c, res[1], res[2], trim_source=False)
        if ok:
            state.trim(c)
            if _keep_if_better(state, obj0, ex0):
                improved = True
                continue
        else:
            state.rollback()
        # (b) drop one replica, move the overflow
        over = state.load[c] - d.rho_max * (state.r[c] - 1)
        if state.r[c] < 2 or over <= 0:
            continue
        obj0, ex0 = state.objective, state.excess()
        state.checkpoint()
        for j in rng.permutation(np.nonzero(state.x[:, c] > SHARE_TOL)[0]):
            j = int(j)
            if over <= 1e-12:
                break
            dx = min(float(state.x[j, c]), over / d.a[j, c] * (1 + 1e-12))
            res = best_target(state, j, c, dx, trim_source=False, active_only=True)
            if res is None:
                continue
            _move(state, j, c, res[1], res[2], trim_source=False)
            over -= d.a[j, c] * dx
        state.trim(c)
        if _keep_if_better(state, obj0, ex0):
            improved = True
    return improved


def _tp_change(state: PlanState, rng: np.random.Generator, up: bool) -> bool:
    d = state.data
    improved = False
    for c in open_in_random_order(state, rng):
        if _out_of_work(state):
            break
        dep_cs = d.dep_configs[d.cfg_dep[c]]
        more = d.gpus[dep_cs] > d.gpus[c] if up else d.gpus[dep_cs] < d.gpus[c]
        c2s = dep_cs[more & (dep_cs != c)]
        if not d.multi_parallelism:
            c2s = c2s[state.r[c2s] == 0]
        js = np.nonzero(state.x[:, c] > 0)[0]
        if len(js):
            c2s = c2s[d.usable[np.ix_(js, c2s)].all(axis=0)]
        if not len(c2s):
            continue
        _charge(state, len(c2s) * (len(js) + 1))
        xs = state.x[js, c]
        load2 = state.load[c2s] + (xs @ d.a[np.ix_(js, c2s)] if len(js) else 0.0)
        est = (d.replicas_for(load2) - state.r[c2s]) * d.rent[c2s] - state.r[c] * d.rent[c]
        if len(js):
            est = est + xs @ (d.dcost[np.ix_(js, c2s)] - d.dcost[js, c][:, None])
        for k in np.argsort(est, kind="stable"):
            if est[k] >= -_improve_tol(state.objective):
                break
            obj0, ex0 = state.objective, state.excess()
            state.checkpoint()
            state.move_config(c, int(c2s[k]))
            if _keep_if_better(state, obj0, ex0):
                improved = True
                break
    return improved


def tp_upgrade(state: PlanState, rng: np.random.Generator) -> bool:
    """Switch an active configuration to a (TP, PP) with more GPUs per replica (M3)."""
    return _tp_change(state, rng, up=True)


def tp_downgrade(state: PlanState, rng: np.random.Generator) -> bool:
    """Switch an active configuration to a (TP, PP) with fewer GPUs per replica."""
    return _tp_change(state, rng, up=False)


def reduce_replicas(state: PlanState, rng: np.random.Generator) -> bool:
    """Trim every configuration to the replicas its load needs."""
    need = state.data.replicas_for(state.load)
    cut = np.nonzero(state.r > need)[0]
    for c in cut:
        state.set_replicas(int(c), int(need[c]))
        state.commits += 1
    return bool(len(cut))


def unmet_trade(state: PlanState, rng: np.random.Generator) -> bool:
    """Trade served share against the unmet penalty (within ζ_i), both ways."""
    d = state.data
    improved = False
    for i in rng.permutation(d.n_types):
        i = int(i)
        if _out_of_work(state):
            break
        room = d.zeta[i] - (1.0 - state.served[i]) - 1e-12
        if room > SHARE_TOL and not d.single_placement:
            for src in rng.permutation(np.nonzero(state.x[i] > SHARE_TOL)[0]):
                src = int(src)
                room = d.zeta[i] - (1.0 - state.served[i]) - 1e-12
                share = float(state.x[i, src])
                if room <= SHARE_TOL or share <= SHARE_TOL:
                    break
                dxs = np.minimum(room, np.array([share * g for g in _granularities(state)]
                                                + [_frees_one(state, i, src)]))
                dxs = dxs[dxs > SHARE_TOL]
                _charge(state, len(dxs))
                if not len(dxs):
                    continue
                # estimate: unmet penalty − freed rental (and storage) − delay penalty saved
                r_new = d.replicas_for(state.load[src] - d.a[i, src] * dxs)
                est = ((d.unmet_cost[i] - d.dcost[i, src]) * dxs
                       - (state.r[src] - r_new) * d.rent[src])
                est -= np.where((r_new == 0) & (state.model_count[d.cfg_model[src]] == 1),
                                d.store_cost[d.cfg_model[src]], 0.0)
                k = int(np.argmin(est))
                if est[k] >= -_improve_tol(state.objective):
                    continue
                obj0, ex0 = state.objective, state.excess()
                state.checkpoint()
                state.add_share(i, src, -float(dxs[k]))
                state.trim(src)
                improved |= _keep_if_better(state, obj0, ex0)
        unmet = 1.0 - state.served[i]
        if unmet > SHARE_TOL:
            res = best_target(state, i, -1, np.array([unmet * g for g in _granularities(state)]),
                              improving_only=True)
            if res is not None and res[0] < -_improve_tol(state.objective):
                obj0, ex0 = state.objective, state.excess()
                state.checkpoint()
                _move(state, i, -1, res[1], res[2], trim_source=False)
                improved |= _keep_if_better(state, obj0, ex0)
    return improved


def _redeploy_targets(state: PlanState, cs: list[int]) -> tuple[np.ndarray, np.ndarray] | None:
    """Estimated objective change of moving every share of the configurations ``cs`` to
    each configuration (vectorised), and the mask of targets that keep every constraint."""
    d, s = state.data, state
    xs = s.x[:, cs]  # (I, k)
    js = np.nonzero((xs > 0).any(axis=1))[0]
    if not len(js):
        return None
    moved = xs[js]  # (J, k)
    share = moved.sum(axis=1)  # (J,)
    ok = np.asarray(d.usable[js].all(axis=0)) if len(js) else np.ones(d.n_configs, dtype=bool)
    ok[cs] = False
    if not d.multi_parallelism:
        dep_left = s.dep_count.copy()
        np.subtract.at(dep_left, d.cfg_dep[cs], 1)  # a vacated deployment may change (TP, PP)
        ok &= (s.r > 0) | (dep_left[d.cfg_dep] == 0)
    err_new = (s.err_sum[js, None] - (d.err_ex[js][:, cs] * moved).sum(axis=1)[:, None]
               + d.err_ex[js] * share[:, None])
    ok &= (err_new <= np.maximum(s.err_sum[js], 0.0)[:, None] + CHECK_TOL).all(axis=0)
    if d.avg_delay:
        dly_new = (s.dly_sum[js, None] - (d.dly_ex[js][:, cs] * moved).sum(axis=1)[:, None]
                   + d.dly_ex[js] * share[:, None])
        ok &= (dly_new <= np.maximum(s.dly_sum[js], 0.0)[:, None] + CHECK_TOL).all(axis=0)
    load2 = s.load + share @ d.a[js]
    add = np.maximum(s.r, d.replicas_for(load2)) - s.r
    freed = s.r[cs]
    m_src = d.cfg_model[cs]
    mc = s.model_count.copy()
    np.subtract.at(mc, m_src, 1)
    store_freed = float(d.store_cost[np.unique(m_src)][mc[np.unique(m_src)] == 0].sum())
    new_model = mc[d.cfg_model] == 0
    cost = (add * d.rent - float(freed @ d.rent[cs]) - store_freed
            + np.where(new_model, d.store_cost[d.cfg_model], 0.0)
            + share @ d.dcost[js] - float((moved * d.dcost[js][:, cs]).sum()))
    gpu = s.gpu_used - freed @ d.gpu_use[cs]
    ok &= d.gpus_fit(gpu, add, np.arange(d.n_configs), np.maximum(d.gpu_limit, s.gpu_used))
    spend = s.spend - float(freed @ d.rent[cs]) - store_freed
    ok &= (spend + add * d.rent + np.where(new_model, d.store_cost[d.cfg_model], 0.0)
           <= max(d.budget, s.spend) * (1 + 1e-12))
    gb = s.storage_gb - float(d.model_gb[np.unique(m_src)][mc[np.unique(m_src)] == 0].sum())
    ok &= (gb + np.where(new_model, d.model_gb[d.cfg_model], 0.0)
           <= max(d.storage_cap, s.storage_gb) + 1e-9)
    return cost, ok


def _apply_redeploy(state: PlanState, cs: list[int], dst: int) -> None:
    for c in cs:
        for i in np.nonzero(state.x[:, c] > 0)[0]:
            dx = float(state.x[i, c])
            state.add_share(int(i), c, -dx)
            state.add_share(int(i), dst, dx)
        state.set_replicas(c, 0)
    state.trim(dst)
    state.set_replicas(dst, max(int(state.r[dst]), int(state.data.replicas_for(state.load[dst]))))


def redeploy(state: PlanState, rng: np.random.Generator) -> bool:
    """Move everything an active configuration serves to one other configuration (any
    tier, model or (TP, PP), a new deployment or an active one), and try the same for
    every pair of active configurations merged into one (a shared "hub" deployment)."""
    improved = False
    active = [int(c) for c in rng.permutation(np.nonzero(state.r > 0)[0])]
    groups: list[list[int]] = [[c] for c in active]
    groups += [[a, b] for k, a in enumerate(active) for b in active[k + 1:]]
    for cs in groups:
        if _out_of_work(state):
            break
        if any(state.r[c] == 0 for c in cs):
            continue
        res = _redeploy_targets(state, cs)
        _charge(state, state.data.n_configs)
        if res is None:
            continue
        cost, ok = res
        cost = np.where(ok, cost, np.inf)
        dst = int(np.argmin(cost))
        if not cost[dst] < -_improve_tol(state.objective):
            continue
        obj0, ex0 = state.objective, state.excess()
        state.checkpoint()
        _apply_redeploy(state, cs, dst)
        improved |= _keep_if_better(state, obj0, ex0)
    return improved


OPERATORS: dict[str, Operator] = {
    op.__name__: op
    for op in (relocate, consolidate, tp_upgrade, tp_downgrade, reduce_replicas, unmet_trade,
               redeploy, reroute, decrement, drop, add, swap)
}
"""The operator registry: name → ``(state, rng) -> improved``."""
