"""Reduced-cost fixing (milp/fixing.py): a certified bound, and the optimum survives."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from hetserve.heuristics import GhParams, gh
from hetserve.instances import Status
from hetserve.instances.bundled import bundled_path
from hetserve.instances.generate import generate
from hetserve.instances.io import read_instance
from hetserve.milp import MilpParams, solve
from hetserve.milp.fixing import lagrangian_value, reduced_cost_caps
from hetserve.milp.highs_model import build_arrays
from hetserve.milp.index import make_index
from hetserve.milp.reductions import Reductions
from hetserve.milp.solve import lp_relaxation_bound

NO_FIXING = Reductions(reduced_cost=False)


def test_lagrangian_is_a_lower_bound_for_any_multipliers():
    """Weak duality: L(y) ≤ the optimum for random y (signs clipped inside), and at the
    LP's own duals it equals the LP bound."""
    inst = generate((4, 4, 5), 0)
    opt = solve(inst, MilpParams(reductions=Reductions.none(), threads=1))
    assert opt.status is Status.OPTIMAL
    am = build_arrays(inst)
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.normal(scale=rng.choice([0.1, 1.0, 50.0]), size=am.n_rows)
        value, _ = lagrangian_value(am, y)
        assert value <= opt.objective + 1e-6
    fix = reduced_cost_caps(am, opt.objective)
    assert fix is not None
    assert fix.bound == pytest.approx(lp_relaxation_bound(inst), rel=1e-6)
    assert fix.bound <= opt.objective + 1e-6


@pytest.mark.parametrize("make", [
    pytest.param(lambda: read_instance(bundled_path("paper-base")), marks=pytest.mark.slow),
    pytest.param(lambda: generate((6, 6, 10), 1), marks=pytest.mark.slow),
    lambda: read_instance(bundled_path("small-3x3x4")),
    lambda: generate((5, 5, 6), 3, "tight-budget"),
    lambda: generate((4, 4, 5), 4).replace(multi_parallelism=True),
])
def test_fixing_from_a_heuristic_start_keeps_the_optimum(make, monkeypatch):
    """With GH's plan as U, the model fixed from the full LP's duals (the solve's path up
    to ``FIXING_MAX_ROUTES``, forced here at every size) has the optimum of the model
    without fixing; the model really shrinks. (The column-generation path:
    test_fixing_colgen.py.)"""
    monkeypatch.setattr(importlib.import_module("hetserve.milp.solve"), "FIXING_MAX_ROUTES",
                        10**9)
    solve_and_compare_fixing(make(), "lp")


def solve_and_compare_fixing(inst, method: str):
    """Solve ``inst`` from GH's plan with and without the reduced-cost fixing: both proven
    optimal with the same objective, the fixing came from ``method`` (a prefix of
    ``stats["fixing"]["method"]``), its bound is ≤ the optimum and the model shrank.
    Returns the fixed solve's result."""
    start = gh(inst, GhParams())
    assert start.feasible
    plain = solve(inst, MilpParams(reductions=NO_FIXING, threads=1), warm_start=start.solution)
    fixed = solve(inst, MilpParams(threads=1), warm_start=start.solution)
    assert plain.status is Status.OPTIMAL and fixed.status is Status.OPTIMAL
    assert fixed.objective == pytest.approx(plain.objective, rel=2e-4)
    assert fixed.stats["fixing"] is not None
    assert fixed.stats["fixing"]["method"].startswith(method)
    assert fixed.stats["fixing"]["bound"] <= plain.objective * (1 + 1e-9)
    assert fixed.stats["n_vars"] <= plain.stats["n_vars"]
    return fixed


@pytest.mark.slow
def test_fixing_drops_configurations_on_paper_base_but_not_the_optimal_ones():
    """With the optimum as U the fixing is tightest; every configuration the optimal plan
    opens keeps its columns and enough replicas."""
    inst = read_instance(bundled_path("paper-base"))
    opt = solve(inst, MilpParams(threads=1, reductions=Reductions.none()))
    assert opt.status is Status.OPTIMAL
    idx = make_index(inst, reductions=NO_FIXING, upper_bound=opt.objective)
    fix = reduced_cost_caps(build_arrays(inst, index=idx), opt.objective)
    assert fix is not None and fix.dropped > 0
    assert fix.bound <= opt.objective + 1e-6
    r, _ = opt.solution.to_arrays(inst)
    used = np.nonzero(r > 0)[0]
    assert np.all(fix.caps[used] >= r[used])
