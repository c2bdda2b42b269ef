"""The registry of solution methods behind ``hetserve solve --method`` and ``bench``.

Every method takes the same settings and returns the same
:class:`~instances.result.RunResult`, evaluated by the one evaluator, so nothing
downstream ever branches on which method produced a plan. ``milp`` and ``heuristics``
never import each other; they meet only here (this registry, and :func:`window_solver`,
which wires a solver into the rolling driver of :mod:`hetserve.rolling`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from hetserve.instances import Instance, RunResult, Solution
from hetserve.instances.solver_log import QUIET, SolverLog

if TYPE_CHECKING:
    from hetserve.heuristics import AghParams

WINDOW_SOLVERS = ("gh", "agh", "milp")
"""Methods the rolling driver can re-plan a window with (:func:`window_solver`)."""
INCREMENTAL_AGH_WORK = 300_000
"""AGH's work budget per rolling window after the first (candidate-move evaluations)."""


@dataclass(frozen=True)
class MethodSettings:
    """Settings every method understands (methods ignore what does not apply).

    ``milp_start`` is the heuristic whose plan starts the MILP when no ``warm_start`` is
    given (``"auto"`` by default: by size and threads, :func:`auto_start`; or one of
    :data:`MILP_STARTS`, ``"none"`` for a cold start);
    ``agh_work_budget`` overrides AGH's work budget (:class:`AghParams`)."""

    seed: int = 0
    time_limit_s: float = 60.0
    mip_gap: float = 1e-4
    threads: int = 2
    warm_start: Solution | None = None
    solver_log: SolverLog = QUIET  # the MILP solves' HiGHS log (the heuristics' LPs: never)
    milp_start: str = "auto"
    agh_work_budget: int | None = None


MILP_STARTS = ("auto", "agh", "agh-capped", "agh-fleet", "gh", "none")
"""MIP starts of ``milp``: ``auto`` picks by size and threads (:func:`auto_start`), ``agh`` is AGH
without its fleet MIP, ``agh-capped`` a short AGH (:data:`CAPPED_AGH`), ``agh-fleet`` AGH
with its fleet MIP (the plan ``--method agh`` returns), ``gh`` the greedy alone, ``none`` a
cold start."""

CAPPED_AGH = dict(orders=("rate-desc",), random_starts=2, ls_starts=1, fleet_mip_rounds=0,
                  work_budget=300_000)
"""The short AGH start: GH's order plus two seeded random orders, local search on the best
one, 300k trial moves (deterministic for a seed); without ``swap`` below
:data:`CAPPED_AGH_SWAP_MIN_ROUTES` (:func:`capped_agh`)."""

CAPPED_AGH_SWAP_MIN_ROUTES = 5_000
"""Usable routes from which the capped AGH start keeps its ``swap`` move (paper-base has
3.2k, 6x6x10 3.6–4.3k, 8x8x12 6.5–7.5k). ``swap`` is the costliest LP move (close one
configuration, open one or two); below this size HiGHS closes what it would have found for
less: the start takes half the time with the same plan on paper-base's three scenarios
(whole solve 0.76–0.89x), while at 8x8x12 and 10x10x10 a plan without it can be worse
(10x10x10 s1: 390.16 instead of 388.53, the solve 1.1x slower; docs/milp.md "Which MIP
start", results/milp/exact-r9-capped/)."""


def capped_agh(instance: Instance) -> AghParams:
    """AGH's parameters for the ``agh-capped`` start (:data:`CAPPED_AGH`)."""
    from hetserve.heuristics import AghParams
    from hetserve.heuristics.params import DEFAULT_OPERATORS
    from hetserve.milp.index import usable_mask

    params = AghParams(**CAPPED_AGH)  # type: ignore[arg-type]
    if int(usable_mask(instance).sum()) < CAPPED_AGH_SWAP_MIN_ROUTES:
        params = replace(params, operators=tuple(o for o in DEFAULT_OPERATORS if o != "swap"))
    return params


AUTO_FULL_AGH_ROUTES = 12_000
"""Usable routes above which ``auto`` starts from the full AGH (10x10x10 has 9–10k,
12x12x12 15–18k, 20x20x20 75–82k)."""

AUTO_FLEET_MIP_ROUTES = 50_000
"""Usable routes above which ``auto`` on one thread starts from AGH *with* its fleet MIP:
from 20x20x20 on one HiGHS run neither finishes its root nor improves the start within a
minute (docs/milp.md "Which MIP start"), so the start is the plan the run returns, and it
should be no worse than ``--method agh``'s."""

AUTO_FLEET_MIP_ROUTES_SPLIT = 100_000
"""The same threshold with two threads or more, where the exact solve is the split of
:mod:`milp.split`: it proves every 20x20x20 ``paper`` seed (75–82k routes) from AGH's plan
before the fleet MIP, and its 1.3–9.3 s of fleet MIP (one core) cost more than the better
plan saves (round 16, ``results/milp/exact-r16-start/``). Above it (50x30x30 has about
420k) no run finishes its root, so the fleet MIP stays."""


def auto_start(instance: Instance, threads: int = 1) -> str:
    """The MIP start ``milp`` uses by default (measured in docs/milp.md "Which MIP start",
    ``results/milp/exact-starts/``): up to :data:`AUTO_FULL_AGH_ROUTES` usable routes the
    capped AGH, whose near-optimal plan feeds the reduced-cost fixing for a fraction of the
    full AGH's time (GH's plan, 10–45 % above the optimum, fixes far less and the solve is
    slower); above it the full AGH, whose better plan pays for itself in the fixing and the
    root (12x12x12 and 12x12x15). Where HiGHS cannot improve the start within a minute the
    start is what the run returns, so there it is AGH with its fleet MIP, the plan
    ``--method agh`` returns: above :data:`AUTO_FLEET_MIP_ROUTES` routes on one thread,
    above :data:`AUTO_FLEET_MIP_ROUTES_SPLIT` with ``threads`` ≥ 2 (the split)."""
    from hetserve.milp.index import usable_mask

    routes = int(usable_mask(instance).sum())
    fleet_above = AUTO_FLEET_MIP_ROUTES_SPLIT if threads >= 2 else AUTO_FLEET_MIP_ROUTES
    if routes > fleet_above:
        return "agh-fleet"
    return "agh" if routes > AUTO_FULL_AGH_ROUTES else "agh-capped"


def _milp_cold(instance: Instance, s: MethodSettings) -> RunResult:
    from hetserve.milp import MilpParams, solve

    return solve(instance, MilpParams(time_limit_s=s.time_limit_s, mip_rel_gap=s.mip_gap,
                                      threads=s.threads, msg=s.solver_log.to_stderr,
                                      log_file=s.solver_log.file),
                 seed=s.seed, warm_start=s.warm_start)


def _milp(instance: Instance, s: MethodSettings) -> RunResult:
    """The MILP, started from a heuristic plan (chosen by size and threads by default,
    :func:`auto_start`) unless one is given or ``milp_start == "none"``. The start is
    part of the method: its runtime is included and the HiGHS time limit is what is left
    of ``time_limit_s``. The start's cost also feeds the incumbent reduction
    (:mod:`milp.reductions`) and the reduced-cost fixing (:mod:`milp.fixing`)."""

    if s.milp_start not in MILP_STARTS:
        raise ValueError(f"milp_start {s.milp_start!r} not understood; expected one of "
                         f"{list(MILP_STARTS)}")
    if s.warm_start is not None or s.milp_start == "none":
        return _milp_cold(instance, s)
    name = auto_start(instance, s.threads) if s.milp_start == "auto" else s.milp_start
    # AGH as a MIP start skips its fleet MIP (the exact solve does that job itself) except
    # where HiGHS cannot improve the start in time (auto_start)
    if name == "agh":
        start = _agh(instance, s, fleet_mip=False)
    elif name == "agh-fleet":
        start = _agh(instance, s, fleet_mip=True)
    elif name == "agh-capped":
        from hetserve.heuristics import agh

        start = agh(instance, capped_agh(instance), seed=s.seed)
    else:
        start = METHODS[name](instance, s)
    left = max(1.0, s.time_limit_s - start.runtime_s)
    result = _milp_cold(instance, replace(s, time_limit_s=left, warm_start=start.solution))
    stats = {**result.stats, "start_method": name, "start_objective": start.objective,
             "start_runtime_s": start.runtime_s}
    return replace(result, runtime_s=result.runtime_s + start.runtime_s, stats=stats)


def _milp_warm(instance: Instance, s: MethodSettings) -> RunResult:
    """``milp`` with its AGH start (kept as a name for the benchmarks' history)."""

    return replace(_milp(instance, replace(s, milp_start="agh")), method="milp-ws")


def _milp_cold_method(instance: Instance, s: MethodSettings) -> RunResult:
    """``milp`` without a heuristic start (the model and HiGHS alone)."""

    return replace(_milp(instance, replace(s, milp_start="none")), method="milp-cold")


def _agh_bound(instance: Instance, s: MethodSettings) -> RunResult:
    """AGH's plan with a certified lower bound (:func:`milp.bound.certified_bound`, for
    sizes the MILP cannot close: the fixed-model bound up to 1.5M routes and with enough
    time, the Lagrangian otherwise; ``threads`` ≥ 2 runs its closing and its target model
    side by side): ``bound``, ``gap``, and the bound's method and time
    in ``stats`` (the fixed model's plan, no dearer than AGH's, in
    ``stats["bound_plan"]``)."""

    from hetserve.milp.bound import certified_bound

    plan = _agh(instance, s)
    # with two threads or more the target model is proven on a second thread while the
    # closing goes on (results/milp/exact-r10-pairs/, docs/milp.md "Certified bounds")
    lb, _ = certified_bound(instance, plan.solution if plan.feasible else None,
                            time_limit_s=s.time_limit_s, seed=s.seed, threads=s.threads)
    bound = lb.value if lb.value > -float("inf") else None
    stats = {**plan.stats, "bound_method": lb.method, "bound_s": lb.seconds,
             "bound_iterations": lb.iterations, **{f"bound_{k}": v for k, v in lb.stats.items()}}
    return replace(plan, method="agh-bound", bound=bound, stats=stats,
                   runtime_s=plan.runtime_s + lb.seconds)


def _price_and_branch(instance: Instance, s: MethodSettings) -> RunResult:
    """AGH's plan, then price-and-branch from it (:func:`milp.bound.price_and_branch`):
    a plan no dearer than AGH's, with the certified bound; AGH's time is included."""

    from hetserve.milp.bound import price_and_branch

    plan = _agh(instance, s)
    res = price_and_branch(instance, time_limit_s=s.time_limit_s,
                           start=plan.solution if plan.feasible else None, seed=s.seed)
    return replace(res, runtime_s=plan.runtime_s + res.runtime_s,
                   stats={**res.stats, "agh_objective": plan.objective})


def _gh(instance: Instance, s: MethodSettings) -> RunResult:
    from hetserve.heuristics import GhParams, gh

    return gh(instance, GhParams())


def _agh(instance: Instance, s: MethodSettings, *, fleet_mip: bool = True) -> RunResult:
    from hetserve.heuristics import AghParams, agh

    params = AghParams() if s.agh_work_budget is None else AghParams(
        work_budget=s.agh_work_budget)
    if not fleet_mip:
        params = replace(params, fleet_mip_rounds=0)
    return agh(instance, params, seed=s.seed)


def _agh_paper(instance: Instance, s: MethodSettings) -> RunResult:
    """AGH with the paper's operators only: no fleet-MIP neighbourhood (docs/heuristics.md),
    for comparisons with arXiv 2604.07472 as published."""

    return replace(_agh(instance, s, fleet_mip=False), method="agh-paper")


def _lpr(instance: Instance, s: MethodSettings) -> RunResult:
    from hetserve.milp.baselines import lpr

    return lpr(instance, seed=s.seed, time_limit_s=s.time_limit_s)


def _hf(instance: Instance, s: MethodSettings) -> RunResult:
    from hetserve.milp import MilpParams
    from hetserve.milp.baselines import hf

    return hf(instance, MilpParams(time_limit_s=s.time_limit_s, mip_rel_gap=s.mip_gap,
                                   threads=s.threads, msg=s.solver_log.to_stderr,
                                   log_file=s.solver_log.file), seed=s.seed)


def _dvr(instance: Instance, s: MethodSettings) -> RunResult:
    from hetserve.heuristics import dvr

    return dvr(instance, seed=s.seed)


METHODS: dict[str, Callable[[Instance, MethodSettings], RunResult]] = {
    "milp": _milp,
    "milp-ws": _milp_warm,
    "milp-cold": _milp_cold_method,
    "gh": _gh,
    "agh": _agh,
    "agh-bound": _agh_bound,
    "price-and-branch": _price_and_branch,
    "agh-paper": _agh_paper,
    "lpr": _lpr,
    "dvr": _dvr,
    "hf": _hf,
}
"""Method name → runner. ``milp`` is exact (with a MIP start chosen by size by default,
:func:`auto_start`); ``milp-ws`` is the same from AGH's plan, ``milp-cold`` has no start;
``gh``/``agh`` are the paper's heuristics (``agh`` adds a fleet-MIP neighbourhood,
``agh-paper`` is AGH without it); ``agh-bound`` is AGH with a certified lower bound
(:func:`milp.bound.certified_bound`: the fixed-model bound, or the Lagrangian above 1.5M
routes or with too little time); ``price-and-branch`` solves the column generation's
restricted master as a MIP from AGH's plan; ``lpr``, ``dvr``, ``hf`` are the paper's v2 baselines."""

EXACT_METHODS = frozenset({"milp", "milp-ws", "milp-cold"})
"""Methods whose runs give proven optima and bounds (the benchmark's references)."""


def run_method(name: str, instance: Instance, settings: MethodSettings) -> RunResult:
    """Run method ``name``; ``ValueError`` names the known methods for an unknown one."""
    if name not in METHODS:
        raise ValueError(f"method {name!r} not understood; expected one of {sorted(METHODS)}")
    return METHODS[name](instance, settings)


def window_solver(name: str, time_limit_s: float | None = None,
                  threads: int = 1) -> Callable[[Instance, Solution | None, int], RunResult]:
    """The rolling driver's window solver ``(instance, warm start, seed) -> RunResult`` for
    ``gh`` | ``agh`` | ``milp`` (AGH: incremental from the previous plan on a work budget,
    ``time_limit_s`` an optional extra CPU cap; MILP 30 s per window, no root bound)."""
    if name == "gh":
        from hetserve.heuristics import GhParams, gh

        params = GhParams()
        return lambda inst, warm, seed: gh(inst, params)
    if name == "agh":
        from hetserve.heuristics import AghParams, agh

        # first window: the full multi-start; later windows re-plan incrementally from the
        # previous window's plan (its local search without the LP moves that open new
        # configurations, plus GH's own start as a fallback) on a work budget, so a seed
        # gives the same day on any machine (docs/heuristics.md §8)
        full = AghParams(time_limit_s=time_limit_s)
        incremental = AghParams(orders=("rate-desc",), random_starts=0, ls_starts=0,
                                fleet_mip_rounds=0,
                                work_budget=INCREMENTAL_AGH_WORK, time_limit_s=time_limit_s,
                                operators=tuple(o for o in full.operators
                                                if o not in ("add", "swap")))
        return lambda inst, warm, seed: agh(inst, full if warm is None else incremental,
                                            seed=seed, warm_start=warm)
    if name == "milp":
        from hetserve.milp import MilpParams, solve

        mparams = MilpParams(time_limit_s=time_limit_s or 30.0, threads=threads,
                             root_bound=False)
        return lambda inst, warm, seed: solve(inst, mparams, seed=seed, warm_start=warm)
    raise ValueError(f"solver {name!r} not understood; expected one of {list(WINDOW_SOLVERS)}")
