"""Shared plans for the stress tests: small instances, MILP plans when the solver is
importable, else the ``single`` baseline (cached per session)."""

from __future__ import annotations

import pytest

from hetserve.instances import Instance, Solution, evaluate
from hetserve.instances.generate import generate, paper_base
from hetserve.heuristics.baselines import single_route_plan


def milp_plan(inst: Instance, time_limit_s: float = 20.0) -> Solution | None:
    try:
        from hetserve.milp import MilpParams, solve
    except ImportError:
        return None
    try:
        res = solve(inst, MilpParams(time_limit_s=time_limit_s), seed=0)
    except Exception:  # the solver is being written concurrently; fall back to `single`
        return None
    return res.solution if res.feasible else None


@pytest.fixture(scope="session")
def small_instances() -> dict[str, Instance]:
    return {"paper-base": paper_base(), "gen-6x6x10": generate((6, 6, 10), 1)}


@pytest.fixture(scope="session")
def plans(small_instances) -> list[tuple[str, Instance, str, Solution]]:
    """(instance label, instance, method, plan): MILP where it solves, plus ``single``
    (on a budget-free copy of paper-base, where the single-route plan breaks the budget)."""
    out = []
    for label, inst in small_instances.items():
        sol = milp_plan(inst)
        if sol is not None:
            out.append((label, inst, "milp", sol))
        free = inst.replace(budget=None)
        single = single_route_plan(free)
        assert evaluate(free, single).feasible
        out.append((label + "/no-budget", free, "single", single))
    return out
