"""Shared plans for the stress tests: small instances, their MILP plans and the ``single``
baseline (cached per session)."""

from __future__ import annotations

import pytest

from hetserve.heuristics.baselines import single_route_plan
from hetserve.instances import Instance, Solution, evaluate
from hetserve.instances.generate import generate, paper_base
from hetserve.milp import MilpParams, solve


def milp_plan(inst: Instance, time_limit_s: float = 20.0) -> Solution | None:
    """The MILP's plan, or None when the MILP finds no feasible plan in the time limit
    (solver errors propagate: a broken ``milp`` must fail these tests)."""
    res = solve(inst, MilpParams(time_limit_s=time_limit_s), seed=0)
    return res.solution if res.feasible else None


@pytest.fixture(scope="session")
def small_instances() -> dict[str, Instance]:
    return {"paper-base": paper_base(), "gen-6x6x10": generate((6, 6, 10), 1)}


@pytest.fixture(scope="session")
def plans(small_instances) -> list[tuple[str, Instance, str, Solution]]:
    """(instance label, instance, method, plan): the MILP's plan (at least one instance's),
    plus ``single`` on a budget-free copy (where the single-route plan breaks the budget)."""
    out = []
    for label, inst in small_instances.items():
        sol = milp_plan(inst)
        if sol is not None:  # gen-6x6x10 may find no incumbent in 20 s on a loaded machine
            out.append((label, inst, "milp", sol))
        free = inst.replace(budget=None)
        single = single_route_plan(free)
        assert evaluate(free, single).feasible
        out.append((label + "/no-budget", free, "single", single))
    assert any(method == "milp" for _, _, method, _ in out), "the MILP produced no plan at all"
    return out
