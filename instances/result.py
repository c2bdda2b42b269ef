"""One result type for every method (MILP, GH, AGH, baselines).

The status is honest: ``optimal`` only when the solver proved the gap closed (within its
tolerance); ``feasible`` for a time-limited MILP incumbent or a heuristic plan that the
evaluator accepts; ``infeasible`` when the model is proven infeasible or a heuristic's
plan breaks a constraint; ``no_solution`` when a limit was hit before any plan was found.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

from hetserve.instances.evaluate import Evaluation, relative_gap
from hetserve.instances.solution import Solution


class Status(str, enum.Enum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class RunResult:
    """What one method returned on one instance.

    ``objective`` is always the evaluator's total cost of ``solution`` (∞ without a plan
    or when the plan is infeasible), so results of different methods compare directly.
    ``bound`` is a proven lower bound (MILP only), ``gap`` = :func:`relative_gap`.
    """

    method: str
    status: Status
    solution: Solution | None
    evaluation: Evaluation | None
    runtime_s: float
    bound: float | None = None
    seed: int | None = None
    diagnosis: tuple[str, ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.runtime_s < 0 or not math.isfinite(self.runtime_s):
            raise ValueError(f"runtime_s = {self.runtime_s!r} not understood")

    @property
    def feasible(self) -> bool:
        return self.evaluation is not None and self.evaluation.feasible

    @property
    def objective(self) -> float:
        return self.evaluation.objective if self.feasible else math.inf  # type: ignore[union-attr]

    @property
    def gap(self) -> float:
        return relative_gap(self.objective if self.feasible else None, self.bound)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` object of ``hetserve solve``."""

        def finite(v: float | None) -> float | None:
            return None if v is None or not math.isfinite(v) else v

        ev = self.evaluation
        sol = self.solution
        unmet = ev.unmet if ev is not None else {}
        return {
            "method": self.method,
            "status": self.status.value,
            "objective": finite(self.objective),
            "bound": finite(self.bound),
            "gap": finite(self.gap),
            "runtime_s": self.runtime_s,
            "feasible": self.feasible,
            "seed": self.seed,
            "cost": ev.cost.to_dict() if ev is not None else None,
            "violations": [v.message for v in ev.violations] if ev is not None else [],
            "warnings": list(ev.warnings) if ev is not None else [],
            "deployments": [d.__dict__ for d in sol.deployments] if sol else [],
            "routing": [r.__dict__ for r in sol.routing] if sol else [],
            "unmet": unmet,
            "gpus_by_type": ev.gpus_by_type if ev is not None else {},
            "diagnosis": list(self.diagnosis),
            "stats": self.stats,
        }
