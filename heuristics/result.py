"""Turn a heuristic's working state into a :class:`instances.RunResult`.

Every plan goes through the one evaluator (:func:`instances.evaluate_arrays`): the status
is ``FEASIBLE`` only if it reports no violation; otherwise ``INFEASIBLE``, with the
violation messages (and, for unplaced demand, a short cause) in ``diagnosis``. The
solution is always attached so the violations can be inspected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from hetserve.instances import RunResult, Status, evaluate_arrays

if TYPE_CHECKING:
    from hetserve.heuristics.state import HeuristicData, PlanState


def diagnose(data: HeuristicData, state: PlanState) -> list[str]:
    """Plain-language causes the heuristic itself can name (beyond the evaluator's)."""
    out = []
    q = data.instance.query_types
    unmet = state.unmet
    for i in np.nonzero(unmet > data.zeta + 1e-6)[0]:
        usable = data.usable[i]
        reason = ("no usable route (memory or latency SLO) in the instance" if not usable.any()
                  else "no usable route meets the error SLO" if not (usable
                                                                     & (data.err_ex[i] <= 0)).any()
                  else "the remaining candidates are blocked by budget, GPU availability, "
                       "storage capacity or the one-(TP, PP)-per-deployment rule")
        out.append(f"{q[i].name!r}: {unmet[i]:.1%} of the demand could not be placed "
                   f"(max unmet {data.zeta[i]:.1%}): {reason}")
    bad = state.bad_routes()
    if bad:
        out.append(f"{bad} routed (type, configuration) pairs are not usable (memory or "
                   "latency); M1 is off?")
    return out


def make_result(method: str, data: HeuristicData, state: PlanState, runtime: float, *,
                seed: int | None, stats: dict[str, Any]) -> RunResult:
    r, x = state.to_arrays()
    evaluation = evaluate_arrays(data.instance, r, x)
    solution = state.to_solution()
    diagnosis: tuple[str, ...] = ()
    if evaluation.feasible:
        status = Status.FEASIBLE
    else:
        status = Status.INFEASIBLE
        diagnosis = tuple(diagnose(data, state)) + tuple(v.message for v in evaluation.violations)
    stats = {**stats, "evaluated_cost": evaluation.objective}
    return RunResult(method=method, status=status, solution=solution, evaluation=evaluation,
                     runtime_s=runtime, bound=None, seed=seed, diagnosis=diagnosis, stats=stats)
