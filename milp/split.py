r"""Concurrent HiGHS runs over the subtrees of the start's open flags (docs/milp.md "Split
on one open flag").

Every integer point of the model has :math:`w_c = 1`, and then :math:`r_c \ge 1`
([minrep]), or :math:`w_c = 0`, and then :math:`r_c = 0` ([ub]), for every configuration
:math:`c`. So fixing one flag one way and the other partitions the plans, and so does
fixing more flags down a binary tree: the cheapest of the leaves' optima is the model's
optimum, and the smallest of their lower bounds bounds it.

HiGHS's branch-and-bound runs on one core (its MIP search is sequential; with two threads
the second core is mostly idle), so :func:`solve_split` searches subtrees at once, each
with a HiGHS of one thread (concurrent HiGHS instances in one process share its global
thread pool, which must then have one thread: :func:`milp.highs_run.use_threads` is called
once, before the threads start, never inside them).

* The first level splits on ``c*``, the start's costliest open configuration
  (:func:`split_position`): the subtree ``w_c* = 1`` holds the start, the other must prove
  that nothing without ``c*`` is cheaper. With ``eager`` that other subtree is queued
  already split on the start's next costliest open configuration (three subtrees from the
  start), so the thread freed when the start's subtree ends throws no search away.
* When a thread is idle (its subtree ended and none is queued) and another searches a
  subtree fewer than ``depth`` flags deep, that search is interrupted and its subtree split
  on the costliest open configuration not yet fixed in it of the best plan found so far
  (a subtree that ended found it; else the start's, :func:`split_order`); both halves are
  queued with the interrupted run's bound. Its tree is lost; what it proved is kept as the
  halves' bound. ``depth = 1`` is the two-branch split.
* At ``depth`` flags, a subtree that has searched ``chain_after_s`` seconds while a thread
  idles is split once more, into a *chain*: the idle thread solves its LP, takes the
  configurations ``D`` it opens fractionally at ``(1 − w_c)·π_c`` at least the gap between
  that LP and the best cost known (opening any one is near the cutoff at the root), and
  queues ``{d1 open}, {d1 closed, d2 open}, …, {all of D closed}`` (``d`` by falling
  ``w``), which partition the subtree.
* ``prepare`` (the link-row selection, :mod:`milp.link_rows`) runs on the second thread
  while the first already searches the subtree holding the start with every row; the
  subtrees started after it leave out the rows it returns.
* A subtree holding the start gets it as its MIP start; any other gets HiGHS's cutoff
  (``objective_bound``) at the best cost known, first the start's ``U``: it only looks for
  plans cheaper than that.
* When a run finds a plan cheaper than another's cutoff (HiGHS's improving-solution
  callback), the other is interrupted and restarted with that cost as its cutoff (its tree
  is lost; a tighter cutoff prunes more from the root on).
* A subtree that ends has no plan cheaper than its cutoff (bound: the cutoff) or found its
  optimum (bound: HiGHS's). One stopped by the time limit is bounded by
  ``min(HiGHS's dual bound, its cutoff)`` (nodes are pruned only at the cutoff), one still
  queued by the bound it inherited. The split's plan is the cheapest found (or the
  start), its bound the smallest leaf bound; it is proven when every leaf ended.

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


def split_order(am: ArrayModel, start: np.ndarray) -> list[int]:
    """Positions (in ``am.index.cfg``) of the open configurations of a plan's column values
    ``start``, costliest first (replicas × price per replica): the flags the split branches
    on, in this order (the best plan's first, then the start's)."""
    r = start[am.cols["r"]]
    cost = am.cost[am.cols["r"]] * r
    opened = np.flatnonzero(r > 0.5)
    return [int(k) for k in opened[np.argsort(-cost[opened], kind="stable")]]


def split_position(am: ArrayModel, start: np.ndarray) -> int | None:
    """Position (in ``am.index.cfg``) of the start's costliest open configuration
    (replicas × price per replica); None when the start opens none."""
    order = split_order(am, start)
    return order[0] if order else None


Fixings = tuple[tuple[int, bool], ...]
"""A subtree of the split: ``(position, open)`` pairs from the root down, ``open`` meaning
``w = 1`` with ``r ≥ 1`` and not open ``w = r = 0``."""


@dataclass(frozen=True)
class BranchRun:
    """How one leaf of the split ended."""

    fixings: Fixings
    """The leaf's subtree."""
    ended: bool
    """Searched all of its tree below its cutoff (False: stopped by the time limit)."""
    objective: float | None
    """HiGHS's value of the leaf's best plan cheaper than its cutoff (None: none)."""
    bound: float
    """No plan of this leaf costs less (within HiGHS's gap)."""
    values: np.ndarray | None
    """Column values of that plan."""
    nodes: int
    restarts: int
    seconds: float


@dataclass(frozen=True)
class SplitResult:
    """The split's outcome: the best plan found (None: none cheaper than the start's cost
    ``U``), its value, the bound, and whether it is proven (every leaf ended)."""

    position: int
    values: np.ndarray | None
    objective: float | None
    bound: float
    proven: bool
    branches: tuple[BranchRun, ...]
    """The leaves: the subtrees searched to their end or stopped by the time limit (a
    subtree still queued at the time limit is a leaf with no nodes)."""
    resplits: int = 0
    """Subtrees interrupted and split again because a thread was idle."""
    nodes: int = 0
    """HiGHS's nodes over every run, the interrupted ones included."""

    def stats(self) -> dict[str, object]:
        return {"position": self.position, "proven": self.proven, "bound": self.bound,
                "resplits": self.resplits, "nodes": self.nodes,
                "branches": [{"fixings": [list(f) for f in b.fixings], "ended": b.ended,
                              "objective": b.objective, "bound": b.bound, "nodes": b.nodes,
                              "restarts": b.restarts, "seconds": b.seconds}
                             for b in self.branches]}


@dataclass
class _Subtree:
    """A subtree queued or being searched (mutable: the idle thread marks it to split)."""

    fixings: Fixings
    bound: float
    """Inherited: the dual bound of the run it was split from (-inf at the first level)."""
    children: list[Fixings] | None = None
    """Set by an idle thread: interrupt the search and queue these subtrees instead (they
    partition this one)."""
    examined: bool = False
    """An idle thread has solved its LP for a chain split (once per subtree)."""
    started: float = math.inf
    """``time.perf_counter()`` when its search began (inf: queued)."""


def solve_split(am: ArrayModel, start: np.ndarray, upper: float, position: int, *,
                configure: Callable[[highspy.Highs, float], None], time_limit_s: float,
                mip_rel_gap: float, drop: np.ndarray | None = None,
                prepare: Callable[[], np.ndarray | None] | None = None,
                depth: int = 1, threads: int = 2,
                chain_after_s: float = math.inf, eager: bool = False) -> SplitResult:
    """Solve ``am`` as subtrees on ``w`` of the start's open configurations, ``threads``
    at once (module docstring). The first level splits on ``position``; while a thread is
    idle and another searches a subtree less than ``depth`` flags deep, that search is
    interrupted and its subtree split on the costliest open configuration not fixed in it
    of the best plan found so far, else of the start (:func:`split_order`). At ``depth``,
    a subtree whose search has run ``chain_after_s`` seconds or more while a thread idles
    is split, once, into the chain over the configurations its LP opens but cannot afford
    (module docstring). ``eager``: the subtree ``w = 0`` on ``position`` is queued already
    split on the start's next configuration (with ``depth`` ≥ 2). ``start``: the column
    values of a plan of cost ``upper``; ``configure(h, seconds)``: sets every option of one
    run's HiGHS (one thread, the time limit given) except the thread pool; ``drop``: row
    indices of ``am`` to leave out (:func:`milp.link_rows.select_link_rows`).
    ``prepare``: run by the second thread before it takes a subtree, while the first
    searches the subtree holding the start with ``drop``; the rows it returns are left out
    of every subtree started after it (the link-row selection, so that it costs no time of
    the start's branch; it must not rebuild HiGHS's thread pool)."""
    order = [position] + [k for k in split_order(am, start) if k != position]
    w0, r0 = am.cols["w"].start, am.cols["r"].start
    deadline = time.perf_counter() + time_limit_s
    cond = threading.Condition()
    best: dict[str, Any] = {"value": upper, "by": None}
    plans: list[tuple[float, np.ndarray]] = []
    queue = [_Subtree(((position, True),), -math.inf), _Subtree(((position, False),), -math.inf)]
    running: dict[int, _Subtree] = {}
    leaves: list[BranchRun] = []
    counts = {"nodes": 0, "resplits": 0}
    errors: list[BaseException] = []
    dropping = {"rows": drop}  # what subtrees started from now on leave out
    use_threads(1)

    def next_flag(sub: _Subtree) -> int | None:
        if len(sub.fixings) >= depth:
            return None
        fixed = {k for k, _ in sub.fixings}
        ranked = order
        if plans:  # the best plan found so far ranks first, then the start's order
            ranked = split_order(am, min(plans, key=lambda p: p[0])[1]) + order
        return next((k for k in ranked if k not in fixed), None)

    def halves(fixings: Fixings, flag: int) -> list[Fixings]:
        return [(*fixings, (flag, True)), (*fixings, (flag, False))]

    if eager and depth >= 2:
        # the branch without the start split at once, on the flag an idle thread would
        # pick for it now (the start's next: no plan has been found yet)
        flag = next_flag(queue[1])
        if flag is not None:
            queue[1:] = [_Subtree(f, -math.inf) for f in halves(queue[1].fixings, flag)]

    def chain_parts(sub: _Subtree) -> list[Fixings] | None:
        """The chain partition of ``sub`` over the configurations its LP opens that it
        cannot afford: ``0 < w_c < 1`` and ``(1 − w_c)·π_c`` at least the gap between its
        LP value and the best cost known. Opening any one of them is then near the cutoff
        at the root, and closing them all removes what the LP leans on. Parts:
        ``{d1 open}, {d1 closed, d2 open}, …, {all closed}`` (``d`` by falling ``w``);
        None when fewer than two such configurations."""
        lb, ub = bounds_of(sub.fixings)
        lp = replace(am, lb=lb, ub=ub).to_highs_lp()
        lp.integrality_ = []
        h = new_highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.passModel(lp)
        with cond:
            rows, upper_now = dropping["rows"], float(best["value"])
        if rows is not None and len(rows):
            h.deleteRows(len(rows), rows)
        if (run_highs(h) == highspy.HighsStatus.kError
                or h.getModelStatus() != highspy.HighsModelStatus.kOptimal):
            return None
        x = np.asarray(h.getSolution().col_value)
        w = x[am.cols["w"]]
        price = am.cost[am.cols["r"]]
        room = upper_now - float(h.getInfo().objective_function_value)
        fixed = {k for k, _ in sub.fixings}
        dear = [int(k) for k in np.flatnonzero((w > 1e-2) & (w < 1 - 1e-2)
                                               & ((1 - w) * price >= room))
                if int(k) not in fixed]
        if len(dear) < 2 or room <= 0:
            return None
        dear.sort(key=lambda k: -w[k])
        closed = tuple((k, False) for k in dear)
        return ([(*sub.fixings, *closed)]
                + [(*sub.fixings, *closed[:i], (d, True)) for i, d in enumerate(dear)])

    def bounds_of(fixings: Fixings) -> tuple[np.ndarray, np.ndarray]:
        lb, ub = am.lb.copy(), am.ub.copy()
        for k, is_open in fixings:
            lb[w0 + k] = ub[w0 + k] = 1.0 if is_open else 0.0
            if is_open:
                lb[r0 + k] = max(lb[r0 + k], 1.0)
            else:
                lb[r0 + k] = ub[r0 + k] = 0.0
        return lb, ub

    def search(sub: _Subtree) -> BranchRun | list[_Subtree]:
        lb, ub = bounds_of(sub.fixings)
        model = replace(am, lb=lb, ub=ub).to_highs_lp()
        holds_start = all((start[w0 + k] > 0.5) == is_open for k, is_open in sub.fixings)
        with cond:
            rows = dropping["rows"]
        t0 = time.perf_counter()
        restarts = nodes = 0
        while True:
            with cond:
                cutoff = float(best["value"])
            h = new_highs()
            configure(h, max(0.1, deadline - time.perf_counter()))
            h.passModel(model)
            if rows is not None and len(rows):
                h.deleteRows(len(rows), rows)
            if holds_start:
                set_start(h, start)
            if not holds_start or cutoff < upper:
                h.setOptionValue("objective_bound", cutoff)

            def on_callback(kind: Any, _msg: str, out: Any, inp: Any, _data: Any,
                            cutoff: float = cutoff) -> None:
                if kind == highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution:
                    with cond:
                        if out.objective_function_value < float(best["value"]):
                            best["value"] = float(out.objective_function_value)
                            best["by"] = sub
                    return
                with cond:  # an idle thread asks for a split, or another subtree found a
                    # plan below this run's cutoff
                    if errors or sub.children is not None or (
                            best["by"] is not None and best["by"] is not sub
                            and float(best["value"]) < cutoff * (1 - mip_rel_gap)):
                        inp.user_interrupt = True

            h.setCallback(on_callback, None)
            h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipInterrupt)
            h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution)
            if run_highs(h) == highspy.HighsStatus.kError:
                raise RuntimeError("HiGHS failed on a subtree of the split")
            status = h.getModelStatus()
            info = h.getInfo()
            nodes += int(info.mip_node_count)
            found = (info.primal_solution_status == highspy.kSolutionStatusFeasible
                     and info.objective_function_value < cutoff)
            value = float(info.objective_function_value) if found else None
            values = np.asarray(h.getSolution().col_value) if found else None
            if found:
                with cond:
                    plans.append((float(value), values))  # type: ignore[arg-type]
            if math.isfinite(info.mip_dual_bound):
                # (with a cutoff HiGHS may report a dual bound above it: cap it)
                bound = max(sub.bound, min(float(info.mip_dual_bound), cutoff))
            else:  # stopped before HiGHS had a bound
                bound = sub.bound
            if (status == highspy.HighsModelStatus.kInterrupt
                    and deadline - time.perf_counter() > 0.1 and not errors):
                with cond:
                    counts["nodes"] += int(info.mip_node_count)
                    children = sub.children
                if children is not None:  # its parts, each bounded by this run
                    return [_Subtree(f, bound) for f in children]
                restarts += 1
                continue
            with cond:
                counts["nodes"] += int(info.mip_node_count)
            ended = status in _ENDED
            if ended and status != highspy.HighsModelStatus.kOptimal:
                bound = cutoff  # nothing below the cutoff (infeasible under it)
            if value is not None:
                bound = min(bound, value)
            return BranchRun(sub.fixings, ended, value, bound, values, nodes, restarts,
                             time.perf_counter() - t0)

    def worker(wid: int) -> None:
        try:
            if wid == 1 and prepare is not None:
                prepared = prepare()
                with cond:
                    dropping["rows"] = prepared
            while True:
                with cond:
                    while not queue:
                        if not running or errors:
                            return
                        examine = None
                        for other in running.values():  # idle: split a running search
                            if other.children is None:
                                flag = next_flag(other)
                                if flag is not None:
                                    other.children = halves(other.fixings, flag)
                                elif (not other.examined
                                      and time.perf_counter() - other.started >= chain_after_s):
                                    other.examined = True
                                    examine = other
                        if examine is not None:  # its LP, outside the lock
                            cond.release()
                            try:
                                parts = chain_parts(examine)
                            finally:
                                cond.acquire()
                            if parts is not None and any(examine is r for r in running.values()):
                                examine.children = parts
                            continue
                        cond.wait(0.02)
                    if errors or deadline - time.perf_counter() <= 0.1:
                        return  # what is queued stays a leaf with its inherited bound
                    sub = queue.pop(0)
                    sub.started = time.perf_counter()
                    running[wid] = sub
                try:
                    out = search(sub)
                except BaseException:
                    with cond:
                        del running[wid]
                    raise
                with cond:  # one step, so no thread sees an empty queue and nothing running
                    del running[wid]
                    if isinstance(out, BranchRun):
                        leaves.append(out)
                    else:
                        counts["resplits"] += 1
                        queue.extend(out)
                    cond.notify_all()
        except BaseException as exc:  # re-raised in the caller's thread below
            with cond:
                errors.append(exc)
                queue.clear()
                cond.notify_all()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    leaves.extend(BranchRun(sub.fixings, False, None, sub.bound, None, 0, 0, 0.0)
                  for sub in queue)
    win = min(plans, key=lambda p: p[0]) if plans else None
    objective = None if win is None else win[0]
    bound = min(b.bound for b in leaves)
    bound = min(bound, upper if objective is None else objective)
    return SplitResult(position, None if win is None else win[1], objective, bound,
                       all(b.ended for b in leaves), tuple(leaves), counts["resplits"],
                       counts["nodes"])


__all__ = ["BranchRun", "Fixings", "SplitResult", "solve_split", "split_order",
           "split_position"]
