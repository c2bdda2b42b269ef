r"""Two concurrent HiGHS runs, one per branch of one open flag (docs/milp.md "Split on one
open flag").

Every integer point of the model has :math:`w_{c^*} = 1`, and then :math:`r_{c^*} \ge 1`
([minrep]), or :math:`w_{c^*} = 0`, and then :math:`r_{c^*} = 0` ([ub]). So the model with
those bounds added one way and the other partition its plans: the cheaper of the two
branches' optima is the model's optimum, and the smaller of their lower bounds bounds it.

HiGHS's branch-and-bound runs on one core (its MIP search is sequential; with two threads
the second core is mostly idle), so :func:`solve_split` runs the two branches at once, each
a HiGHS with one thread (concurrent HiGHS instances in one process share its global thread
pool, which must then have one thread: :func:`milp.highs_run.use_threads` is called once,
before the threads start, never inside them).

* ``c*`` is the start's costliest open configuration (:func:`split_position`): the branch
  ``w_c* = 1`` holds the start, the other must prove that nothing without ``c*`` is cheaper.
* The branch holding the start gets it as its MIP start; the other gets HiGHS's cutoff
  (``objective_bound``) at the start's cost ``U``: it only looks for plans cheaper than
  ``U``.
* When one branch finds a plan cheaper than the other's cutoff (HiGHS's
  improving-solution callback), the other is interrupted and restarted with that cost as
  its cutoff (its tree is lost; a tighter cutoff prunes more from the root on).
* A branch that ends has no plan cheaper than its cutoff (bound: the cutoff) or found its
  optimum (bound: HiGHS's). One stopped by the time limit is bounded by
  ``min(HiGHS's dual bound, its cutoff)``: nodes are pruned only at the cutoff. The split's
  plan is the cheaper branch's (or the start), its bound the smaller branch bound; it is
  proven when both branches end.

Measured in docs/milp.md "Split on one open flag".
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import highspy
import numpy as np

from hetserve.instances.solver_log import new_highs
from hetserve.instances.solver_log import run as run_highs
from hetserve.milp.highs_model import ArrayModel
from hetserve.milp.highs_run import set_start, use_threads

_ENDED = {highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible,
          highspy.HighsModelStatus.kObjectiveBound}
"""Statuses of a branch that searched all of its tree below its cutoff."""


def split_position(am: ArrayModel, start: np.ndarray) -> int | None:
    """Position (in ``am.index.cfg``) of the start's costliest open configuration
    (replicas × price per replica); None when the start opens none."""
    r = start[am.cols["r"]]
    if not (r > 0.5).any():
        return None
    cost = am.cost[am.cols["r"]] * r
    return int(np.argmax(np.where(r > 0.5, cost, -np.inf)))


@dataclass(frozen=True)
class BranchRun:
    """How one branch ended."""

    open: bool
    """``w_c* = 1`` (True) or ``0``."""
    ended: bool
    """Searched all of its tree below its cutoff (False: stopped by the time limit)."""
    objective: float | None
    """HiGHS's value of the branch's best plan cheaper than its cutoff (None: none)."""
    bound: float
    """No plan of this branch costs less (within HiGHS's gap)."""
    values: np.ndarray | None
    """Column values of that plan."""
    nodes: int
    restarts: int
    seconds: float


@dataclass(frozen=True)
class SplitResult:
    """The split's outcome: the best plan found (None: none cheaper than the start's cost
    ``U``), its value, the bound, and whether it is proven (both branches ended)."""

    position: int
    values: np.ndarray | None
    objective: float | None
    bound: float
    proven: bool
    branches: tuple[BranchRun, BranchRun]

    def stats(self) -> dict[str, object]:
        return {"position": self.position, "proven": self.proven, "bound": self.bound,
                "branches": [{"open": b.open, "ended": b.ended, "objective": b.objective,
                              "bound": b.bound, "nodes": b.nodes, "restarts": b.restarts,
                              "seconds": b.seconds} for b in self.branches]}


def solve_split(am: ArrayModel, start: np.ndarray, upper: float, position: int, *,
                configure: Callable[[highspy.Highs, float], None], time_limit_s: float,
                mip_rel_gap: float, drop: np.ndarray | None = None) -> SplitResult:
    """Solve ``am`` as its two branches on ``w`` of configuration ``position``, at once
    (module docstring). ``start``: the column values of a plan of cost ``upper``;
    ``configure(h, seconds)``: sets every option of one branch's HiGHS (one thread, the
    time limit given) except the thread pool; ``drop``: row indices of ``am`` to leave out
    (:func:`milp.link_rows.select_link_rows`)."""
    wc, rc = am.cols["w"].start + position, am.cols["r"].start + position
    deadline = time.perf_counter() + time_limit_s
    lock = threading.Lock()
    best: dict[str, float | bool | None] = {"value": upper, "by": None}
    runs: dict[bool, BranchRun] = {}
    errors: list[BaseException] = []
    use_threads(1)

    def branch(is_open: bool) -> None:
        lb, ub = am.lb.copy(), am.ub.copy()
        if is_open:
            lb[wc] = ub[wc] = 1.0
            lb[rc] = max(lb[rc], 1.0)
        else:
            lb[wc] = ub[wc] = 0.0
            lb[rc] = ub[rc] = 0.0
        model = replace(am, lb=lb, ub=ub).to_highs_lp()
        holds_start = (start[wc] > 0.5) == is_open
        t0 = time.perf_counter()
        restarts = nodes = 0
        while True:
            with lock:
                cutoff = float(best["value"])  # type: ignore[arg-type]
            h = new_highs()
            configure(h, max(0.1, deadline - time.perf_counter()))
            h.passModel(model)
            if drop is not None and len(drop):
                h.deleteRows(len(drop), drop)
            if holds_start:
                set_start(h, start)
            if not holds_start or cutoff < upper:
                h.setOptionValue("objective_bound", cutoff)

            def on_callback(kind: Any, _msg: str, out: Any, inp: Any, _data: Any,
                            cutoff: float = cutoff) -> None:
                if kind == highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution:
                    with lock:
                        if out.objective_function_value < float(best["value"]):  # type: ignore[arg-type]
                            best["value"] = float(out.objective_function_value)
                            best["by"] = is_open
                    return
                with lock:  # the other branch found a plan below this run's cutoff
                    if (best["by"] is not None and best["by"] != is_open
                            and float(best["value"]) < cutoff * (1 - mip_rel_gap)):  # type: ignore[arg-type]
                        inp.user_interrupt = True

            h.setCallback(on_callback, None)
            h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipInterrupt)
            h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution)
            if run_highs(h) == highspy.HighsStatus.kError:
                raise RuntimeError("HiGHS failed on a branch of the split")
            status = h.getModelStatus()
            info = h.getInfo()
            nodes += int(info.mip_node_count)
            if (status == highspy.HighsModelStatus.kInterrupt
                    and deadline - time.perf_counter() > 0.1):
                restarts += 1
                continue
            found = (info.primal_solution_status == highspy.kSolutionStatusFeasible
                     and info.objective_function_value < cutoff)
            ended = status in _ENDED
            value = float(info.objective_function_value) if found else None
            if ended and status != highspy.HighsModelStatus.kOptimal:
                bound = cutoff  # nothing below the cutoff (infeasible under it)
            elif math.isfinite(info.mip_dual_bound):
                # (with a cutoff HiGHS may report a dual bound above it: cap it)
                bound = min(float(info.mip_dual_bound), cutoff)
            else:  # stopped before HiGHS had a bound
                bound = -math.inf
            if value is not None:
                bound = min(bound, value)
            runs[is_open] = BranchRun(
                is_open, ended, value, bound,
                np.asarray(h.getSolution().col_value) if found else None, nodes, restarts,
                time.perf_counter() - t0)
            return

    def guarded(is_open: bool) -> None:
        try:
            branch(is_open)
        except BaseException as exc:  # re-raised in the caller's thread below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(v,)) for v in (True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    pair = (runs[True], runs[False])
    plans = [b for b in pair if b.objective is not None]
    win = min(plans, key=lambda b: b.objective) if plans else None  # type: ignore[arg-type, return-value]
    objective = None if win is None else win.objective
    bound = min(b.bound for b in pair)
    bound = min(bound, upper if objective is None else objective)
    return SplitResult(position, None if win is None else win.values, objective, bound,
                       all(b.ended for b in pair), pair)


__all__ = ["BranchRun", "SplitResult", "solve_split", "split_position"]
