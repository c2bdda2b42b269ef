"""The work budget of an AGH run (docs/heuristics.md §4, "Work, not seconds")."""

from __future__ import annotations

import time


class WorkMeter:
    """The run's work budget, in *evaluations*: one per candidate move an operator of
    :mod:`heuristics.operators` prices (its vectorised target scans charge their size),
    one per trial move applied (every :meth:`PlanState.checkpoint` of a state whose
    ``meter`` is this one), for the LP fleet moves of :mod:`heuristics.lp_moves` (which
    price whole fleets) ``n_types × n_open²`` per sweep, the size of one routing LP per
    open configuration, and for the fleet MIP (:mod:`heuristics.fleet_mip`) its columns
    × (nodes + 1). Deterministic counts, roughly proportional to CPU time.

    A :class:`~heuristics.state.PlanState` carries its meter as the explicit field
    ``meter`` (``None``: not counted); operators check :attr:`exhausted` between moves
    and AGH's local search between operators."""

    def __init__(self, budget: int, cpu_deadline: float | None = None) -> None:
        self.budget = budget
        self.used = 0
        self.cpu_deadline = cpu_deadline
        self.timed_out = False

    def charge(self, evaluations: int) -> None:
        self.used += int(evaluations)

    def out_of_time(self) -> bool:
        """Whether the optional CPU deadline has passed (recorded in :attr:`timed_out`)."""
        if self.cpu_deadline is not None and time.process_time() > self.cpu_deadline:
            self.timed_out = True
        return self.timed_out

    @property
    def exhausted(self) -> bool:
        return self.used >= self.budget or self.out_of_time()
