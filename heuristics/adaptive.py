"""AGH: multi-start GH plus first-improvement local search (arXiv 2604.07472;
docs/semantics.md#heuristics).

1. **Starts.** One GH pass per deterministic order in ``params.orders`` (the default
   includes GH's own ``rate-desc``), then ``params.random_starts`` passes in random
   orders drawn from ``numpy.random.default_rng(seed)``, the one generator of the run.
2. **Local search** on the ``params.ls_starts`` best constructed plans (feasible first,
   then cost): passes over the operators of :data:`heuristics.operators.OPERATORS`
   named in ``params.operators`` (each operator sweeps its neighbourhood once per pass,
   first improvement; the escalation operators (the LP fleet moves of
   :mod:`heuristics.lp_moves` and ``redeploy``) only when the others are stuck), until a pass
   improves nothing, ``params.max_passes`` passes, or the run's work budget
   (``params.work_budget`` trial moves, counted by a :class:`WorkMeter`) is spent. The
   operators draw their scan orders from the same generator and the budget counts
   moves, not seconds, so a seed fixes the result on any machine (an optional CPU cap,
   ``params.time_limit_s``, gives that up and says so in ``stats["timed_out"]``).
3. Optionally (``params.kicks``) an iterated local search from the best plan.
4. The best plan over all starts (feasible first, then cost) goes through the evaluator.
   A ``warm_start`` plan is an extra start with its own local search, so the result is
   never worse than it.

Because local search never worsens a plan and every constructed start is kept in the
final comparison, AGH's cost is at most GH's with the same switches (GH's order is
among the starts).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from hetserve.heuristics.fleet_mip import fleet_mip
from hetserve.heuristics.greedy import construct, query_order
from hetserve.heuristics.lp_moves import kick
from hetserve.heuristics.operators import OPERATORS
from hetserve.heuristics.params import AghParams
from hetserve.heuristics.result import make_result
from hetserve.heuristics.state import CHECK_TOL, HeuristicData, PlanState
from hetserve.heuristics.work import WorkMeter
from hetserve.instances import Instance, RunResult, Solution


def _key(state: PlanState) -> tuple[int, float]:
    bad = float(state.excess().sum()) > CHECK_TOL or state.bad_routes() > 0
    return (int(bad), state.objective)


ESCALATION = ("reroute", "decrement", "drop", "add", "swap", "redeploy")
"""Operators run only when a pass of the others improved nothing (large or LP-based
moves that would otherwise pull the search away before the cheap moves have converged,
and cost more per sweep)."""


LP_PRICED = frozenset({"reroute", "decrement", "drop", "add", "swap"})
"""Operators of :mod:`heuristics.lp_moves`: charged per sweep (see :class:`WorkMeter`)."""


def local_search(state: PlanState, rng: np.random.Generator, operators: tuple[str, ...],
                 max_passes: int, meter: WorkMeter, pass_gain: float = 0.0
                 ) -> dict[str, object]:
    """Run operator passes on ``state`` in place; returns accepted moves per operator,
    passes done and whether the work budget stopped it.

    A pass runs every ordinary operator once; if none improved, the escalation
    operators (:data:`ESCALATION`) run; the search stops when those improve nothing too,
    after ``max_passes`` passes, or when ``meter`` is exhausted.

    A pass of the ordinary operators that gains less than ``pass_gain`` (a fraction of the
    objective) also counts as stuck: at 100x40x40 ``relocate`` otherwise keeps finding
    micro-improvements (quarter shares moved for cents) every pass until ``max_passes``,
    and the LP moves, which re-route every type optimally at once, never run (measured:
    30 passes, 1,534 moves, 2,683.93 → 2,683.85)."""
    state.meter = meter
    accepted = dict.fromkeys(operators, 0)
    ordinary = [o for o in operators if o not in ESCALATION]
    escalate = [o for o in operators if o in ESCALATION]
    passes = 0

    def run(names: list[str]) -> bool:
        any_improved = False
        for name in names:
            if meter.exhausted:
                break
            before = state.commits
            if name in LP_PRICED:
                n_open = int((state.r > 0).sum())
                meter.charge(state.data.n_types * n_open * n_open)
            if OPERATORS[name](state, rng):
                any_improved = True
            accepted[name] += state.commits - before
        return any_improved

    while passes < max_passes and not meter.exhausted:
        passes += 1
        before = state.objective
        improved = run(ordinary) and before - state.objective > pass_gain * abs(before)
        if not improved:
            before_escalation = state.objective
            improved = run(escalate) or state.objective < before_escalation
        if not improved:
            break
    return {"accepted": accepted, "passes": passes, "stopped_by_budget": meter.exhausted}


def _from_solution(data: HeuristicData, solution: Solution) -> PlanState:
    """A working state holding a given plan (replicas and shares as they are)."""
    r, x = solution.to_arrays(data.instance)
    return PlanState.from_arrays(data, r, x)


def agh(instance: Instance, params: AghParams = AghParams(), *, seed: int = 0,
        warm_start: Solution | None = None) -> RunResult:
    """Adaptive greedy heuristic: multi-start GH + local search (module docstring).

    ``warm_start`` (e.g. the previous window's plan in the rolling driver) is an extra
    start: it always gets a local search (on top of the ``ls_starts`` best constructed
    plans) and it is in the final comparison, so the result is never worse than it
    (feasible first, then cost)."""
    return _agh(instance, params, seed=seed, warm_start=warm_start)


def _agh(instance: Instance, params: AghParams, *, seed: int,
         warm_start: Solution | None) -> RunResult:
    t0 = time.perf_counter()
    meter = WorkMeter(params.work_budget, None if params.time_limit_s is None
                      else time.process_time() + params.time_limit_s)
    data = HeuristicData.build(instance)
    rng = np.random.default_rng(seed)
    gh_params = params.gh_params()
    orders = [(name, query_order(data, name)) for name in params.orders]
    orders += [(f"random-{k}", rng.permutation(data.n_types)) for k in range(params.random_starts)]
    built: list[tuple[tuple[int, float], int, str, PlanState]] = []
    for k, (name, order) in enumerate(orders):
        if built and meter.out_of_time():
            break
        state, _ = construct(data, order, gh_params)
        built.append((_key(state), k, name, state))
    built.sort(key=lambda t: (t[0], t[1]))
    operators = params.active_operators
    pool = [(key, k, name, state, key[1]) for key, k, name, state in built]
    to_search = built[:params.ls_starts]
    if warm_start is not None:
        warm = _from_solution(data, warm_start)
        entry = (_key(warm), len(orders), "warm", warm)
        pool.append((*entry, entry[0][1]))
        to_search = [entry, *to_search]
    ls_stats: list[dict[str, Any]] = []
    for key, k, name, state in to_search:
        if meter.exhausted:
            break
        improved = state.copy()
        improved.commits = 0
        improved.granularities = params.granularities
        st = local_search(improved, rng, operators, params.max_passes, meter, params.pass_gain)
        ls_stats.append({"start": name, "construction_cost": key[1],
                         "final_cost": improved.objective, **st})
        pool.append((_key(improved), k, name + "+ls", improved, key[1]))
    pool.sort(key=lambda t: (t[0], t[1]))
    mip_stats = {"improved": 0, "lp_guided_improved": 0}
    ils = {"kicks": 0, "improved": 0, "stopped_by_budget": False}
    if ls_stats and params.kicks and not data.single_placement:
        key0, k0, name0, cur, cc0 = pool[0]
        for _ in range(params.kicks):
            if meter.exhausted:
                ils["stopped_by_budget"] = True
                break
            trial = cur.copy()
            trial.meter = meter
            trial.commits = 0
            trial.granularities = params.granularities
            if not kick(trial, rng):
                continue
            ils["kicks"] += 1
            local_search(trial, rng, operators, params.max_passes, meter, params.pass_gain)
            if _key(trial) < _key(cur):
                cur = trial
                ils["improved"] += 1
        if _key(cur) < key0:
            pool.insert(0, (_key(cur), k0, name0 + "+ils", cur, cc0))
    if ls_stats and params.fleet_mip_rounds and not data.single_placement:
        key0, k0, name0, cur, cc0 = pool[0]
        cur = cur.copy()
        cur.commits = 0
        cur.granularities = params.granularities
        cur.meter = meter
        plans = [t[3] for t in pool]
        for _ in range(params.fleet_mip_rounds):
            if meter.exhausted or not fleet_mip(cur, plans, seed=seed):
                break
            mip_stats["improved"] += 1
            local_search(cur, rng, operators, params.max_passes, meter, params.pass_gain)
        # then S from the MIP's own LP relaxation (docs/heuristics.md §4, fleet MIP):
        # after the rounds above, so the plan is never dearer than theirs
        for _ in range(params.fleet_mip_rounds if params.lp_guided_mip else 0):
            if meter.exhausted or not fleet_mip(cur, plans, seed=seed, lp_guided=True):
                break
            mip_stats["lp_guided_improved"] += 1
            local_search(cur, rng, operators, params.max_passes, meter, params.pass_gain)
        if _key(cur) < key0:
            pool.insert(0, (_key(cur), k0, name0 + "+mip", cur, cc0))
    _, _, best_name, best, construction_cost = pool[0]
    accepted = dict.fromkeys(operators, 0)
    for s in ls_stats:
        for op, n in s["accepted"].items():
            accepted[op] += n
    runtime = time.perf_counter() - t0
    return make_result("agh", data, best, runtime, seed=seed, stats={
        "starts": len(built),
        "start_costs": {name: key[1] for key, _, name, _ in built},
        "best_start": best_name,
        "construction_cost": construction_cost,
        "final_cost": best.objective,
        "moves_accepted": accepted,
        "local_search": ls_stats,
        "ils": ils,
        "fleet_mip": {**mip_stats, "rounds_allowed": params.fleet_mip_rounds},
        "work_used": meter.used,
        "work_budget": params.work_budget,
        "budget_exhausted": meter.used >= params.work_budget,
        "timed_out": meter.timed_out,
    })
