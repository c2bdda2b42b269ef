"""The registry of solution methods behind ``hetserve solve --method`` and ``bench``.

Every method takes the same settings and returns the same
:class:`~instances.result.RunResult`, evaluated by the one evaluator, so nothing
downstream ever branches on which method produced a plan. ``milp`` and ``heuristics``
never import each other; they meet only here (this registry, and :func:`window_solver`,
which wires a solver into the rolling driver of :mod:`hetserve.rolling`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hetserve.instances import Instance, RunResult, Solution
from hetserve.instances.solver_log import QUIET, SolverLog

WINDOW_SOLVERS = ("gh", "agh", "milp")
"""Methods the rolling driver can re-plan a window with (:func:`window_solver`)."""


@dataclass(frozen=True)
class MethodSettings:
    """Settings every method understands (methods ignore what does not apply)."""

    seed: int = 0
    time_limit_s: float = 60.0
    mip_gap: float = 1e-4
    threads: int = 2
    warm_start: Solution | None = None
    solver_log: SolverLog = QUIET  # the MILP solves' HiGHS log (the heuristics' LPs: never)


def _milp(instance: Instance, s: MethodSettings) -> RunResult:
    from hetserve.milp import MilpParams, solve

    return solve(instance, MilpParams(time_limit_s=s.time_limit_s, mip_rel_gap=s.mip_gap,
                                      threads=s.threads, msg=s.solver_log.to_stderr,
                                      log_file=s.solver_log.file),
                 seed=s.seed, warm_start=s.warm_start)


def _milp_warm(instance: Instance, s: MethodSettings) -> RunResult:
    """The MILP with a MIP start from AGH; its runtime includes AGH's (the start is part of
    the method), and the HiGHS time limit is what is left of ``time_limit_s``."""
    from dataclasses import replace

    start = _agh(instance, s)
    left = max(1.0, s.time_limit_s - start.runtime_s)
    result = _milp(instance, replace(s, time_limit_s=left, warm_start=start.solution))
    stats = {**result.stats, "agh_objective": start.objective, "agh_runtime_s": start.runtime_s}
    return replace(result, method="milp-ws", runtime_s=result.runtime_s + start.runtime_s,
                   stats=stats)


def _gh(instance: Instance, s: MethodSettings) -> RunResult:
    from hetserve.heuristics import GhParams, gh

    return gh(instance, GhParams())


def _agh(instance: Instance, s: MethodSettings) -> RunResult:
    from hetserve.heuristics import AghParams, agh

    return agh(instance, AghParams(), seed=s.seed)


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
    "gh": _gh,
    "agh": _agh,
    "lpr": _lpr,
    "dvr": _dvr,
    "hf": _hf,
}
"""Method name → runner. ``milp`` is exact; ``milp-ws`` is the same MILP with a MIP start
from AGH; ``gh``/``agh`` are the paper's heuristics; ``lpr``, ``dvr``, ``hf`` are the
paper's v2 baselines."""

EXACT_METHODS = frozenset({"milp", "milp-ws"})
"""Methods whose runs give proven optima and bounds (the benchmark's references)."""


def run_method(name: str, instance: Instance, settings: MethodSettings) -> RunResult:
    """Run method ``name``; ``ValueError`` names the known methods for an unknown one."""
    if name not in METHODS:
        raise ValueError(f"method {name!r} not understood; expected one of {sorted(METHODS)}")
    return METHODS[name](instance, settings)


def window_solver(name: str, time_limit_s: float | None = None,
                  threads: int = 1) -> Callable[[Instance, Solution | None, int], RunResult]:
    """The rolling driver's window solver ``(instance, warm start, seed) -> RunResult`` for
    ``gh`` | ``agh`` | ``milp`` (AGH default 1 s, MILP 30 s per window, no root bound)."""
    if name == "gh":
        from hetserve.heuristics import GhParams, gh

        params = GhParams()
        return lambda inst, warm, seed: gh(inst, params)
    if name == "agh":
        from hetserve.heuristics import AghParams, agh

        aparams = AghParams(time_limit_s=time_limit_s or 1.0)
        return lambda inst, warm, seed: agh(inst, aparams, seed=seed, warm_start=warm)
    if name == "milp":
        from hetserve.milp import MilpParams, solve

        mparams = MilpParams(time_limit_s=time_limit_s or 30.0, threads=threads,
                             root_bound=False)
        return lambda inst, warm, seed: solve(inst, mparams, seed=seed, warm_start=warm)
    raise ValueError(f"solver {name!r} not understood; expected one of {list(WINDOW_SOLVERS)}")
