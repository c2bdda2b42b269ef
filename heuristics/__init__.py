"""Heuristics of hetserve: GH and AGH (arXiv 2604.07472, docs/semantics.md#heuristics) and baselines.

``gh(instance, params)`` is one deterministic greedy pass with the paper's three
mechanisms (M1 TP-aware feasibility selection, M2 cost-per-effective-coverage ranking,
M3 TP upgrade); ``agh(instance, params, seed=...)`` is multi-start GH plus local search
with the operators of ``OPERATORS``; ``dvr`` is the decoupled baseline. All return an
:class:`instances.RunResult` whose plan went through the one evaluator. This package
never imports ``milp``. See ``docs/heuristics.md``.
"""

from hetserve.heuristics.adaptive import agh as agh
from hetserve.heuristics.baselines import dvr as dvr
from hetserve.heuristics.greedy import gh as gh
from hetserve.heuristics.operators import OPERATORS as OPERATORS
from hetserve.heuristics.params import AghParams as AghParams
from hetserve.heuristics.params import GhParams as GhParams

__all__ = ["OPERATORS", "AghParams", "GhParams", "agh", "dvr", "gh"]
