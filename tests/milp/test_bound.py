"""The certified bound (milp/bound.py, milp/colgen.py): never above a proven optimum,
equal to the LP relaxation where the column generation converges, certified at every
round; price-and-branch returns an evaluated plan no dearer than its start."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hetserve.instances import Status
from hetserve.instances.bundled import bundled_path
from hetserve.instances.evaluate import evaluate_arrays
from hetserve.instances.generate import generate
from hetserve.instances.io import read_instance
from hetserve.milp.bound import _Lagrangian, lagrangian_bound, price_and_branch
from hetserve.milp.index import make_index
from hetserve.milp.solve import lp_relaxation_bound
from tests.helpers import proven_optimum


@pytest.mark.parametrize("make", [
    lambda: read_instance(bundled_path("tiny")),
    lambda: read_instance(bundled_path("small-3x3x4")),
    lambda: generate((4, 4, 5), 0),
    lambda: generate((4, 4, 4), 1, "tight-budget"),
    lambda: generate((4, 4, 4), 2).replace(multi_parallelism=True),
    lambda: generate((3, 3, 4), 3).replace(delay_constraint="both"),
])
def test_bound_never_above_the_proven_optimum(make):
    inst = make()
    opt = proven_optimum(inst)
    assert opt.status is Status.OPTIMAL
    for upper in (None, opt.objective):
        for full_cover in (True, False):
            lb = lagrangian_bound(inst, upper_bound=upper, iterations=150,
                                  full_cover=full_cover)
            assert math.isfinite(lb.value)
            assert lb.value <= opt.objective * (1 + 1e-9)
            assert lb.method == "lagrangian" and lb.seconds >= 0
            # every round's number is certified on its own (Farley / Lagrangian bound)
            for row in lb.stats["cg_history"]:
                if "lagrangian" in row:
                    assert row["lagrangian"] <= opt.objective * (1 + 1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_bound_below_the_optimum_on_generated_instances(seed):
    """A loop over generated seeds and sizes (the incumbent reduction uses the optimum,
    the tightest valid upper bound)."""
    size = [(3, 3, 4), (4, 4, 4), (4, 4, 5)][seed % 3]
    inst = generate(size, 100 + seed)
    opt = proven_optimum(inst)
    assert opt.status is Status.OPTIMAL
    lb = lagrangian_bound(inst, upper_bound=opt.objective, iterations=50)
    assert lb.value <= opt.objective * (1 + 1e-9)
    assert lb.value >= 0.5 * opt.objective  # a useful number, not a trivial one


@pytest.mark.parametrize("make", [
    lambda: read_instance(bundled_path("paper-base")),
    lambda: generate((6, 6, 8), 4),
    pytest.param(lambda: generate((8, 8, 8), 5), marks=pytest.mark.slow),
])
@pytest.mark.parametrize("full_cover", [True, False])
def test_column_generation_converges_to_the_lp_relaxation(make, full_cover):
    """Where nothing prices out, the restricted master is the full LP: its value is the
    LP relaxation, and the Lagrangian at its duals reaches it (the bound is at least the
    LP bound, since r stays integer in the subproblem)."""
    inst = make()
    lp = lp_relaxation_bound(inst)
    lb = lagrangian_bound(inst, iterations=0, full_cover=full_cover)
    st = lb.stats
    assert st["cg_converged"]
    assert st["master_lp"] == pytest.approx(lp, rel=1e-6)
    assert lb.value >= lp * (1 - 1e-6)
    assert st["cg_routes"] < st["routes"]  # it did not need every route


def test_the_deadline_still_gives_a_certified_number():
    inst = generate((4, 4, 5), 0)
    opt = proven_optimum(inst).objective
    one = lagrangian_bound(inst, iterations=0, cg_max_rounds=1)
    assert one.stats["cg_rounds"] == 1 and not one.stats["cg_converged"]
    assert one.value <= opt * (1 + 1e-9)


def test_bound_is_useful_on_paper_base():
    """Not a trivial number: within 15 % of the optimum (measured: about 11 %)."""
    inst = read_instance(bundled_path("paper-base"))
    res = proven_optimum(inst)
    assert res.status is Status.OPTIMAL
    opt = res.objective
    lb = lagrangian_bound(inst, upper_bound=opt, iterations=200)
    assert 0.85 * opt <= lb.value <= opt * (1 + 1e-9)


def test_any_multipliers_give_a_bound():
    """Weak duality holds for arbitrary multipliers of the right signs, not only the
    ones the subgradient finds."""
    inst = generate((4, 4, 5), 0)
    opt = proven_optimum(inst).objective
    lg = _Lagrangian(inst, make_index(inst))
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.uniform(-50, 200, lg.nI)
        value, _ = lg.evaluate(y, rng.uniform(0, 50, lg.nI), np.zeros(lg.nI),
                               float(rng.uniform(0, 1)), rng.uniform(0, 5, len(lg.gpu_limits)),
                               0.0, rng.uniform(0, 30, lg.nI))
        assert value <= opt * (1 + 1e-9)


@pytest.mark.parametrize("seed", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_price_and_branch_plan_is_evaluated_and_no_dearer_than_its_start(seed):
    from hetserve.heuristics import gh

    inst = generate((5, 5, 6), seed)
    start = gh(inst)
    opt = proven_optimum(inst)
    res = price_and_branch(inst, time_limit_s=60, start=start.solution)
    assert res.status is Status.FEASIBLE and res.feasible
    again = evaluate_arrays(inst, *res.solution.to_arrays(inst))
    assert res.objective == pytest.approx(again.objective)
    assert opt.objective * (1 - 1e-9) <= res.objective <= start.objective * (1 + 1e-9)
    assert res.bound is not None and res.bound <= opt.objective * (1 + 1e-9)


def test_cli_price_and_branch_prints_one_json_document_with_the_bound():
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "hetserve.cli", "solve", "small-3x3x4",
                          "--method", "price-and-branch", "--time-limit", "30", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["method"] == "price-and-branch" and doc["feasible"]
    assert doc["bound"] <= doc["objective"] * (1 + 1e-9)
    assert doc["stats"]["bound_method"] == "lagrangian"
    assert doc["objective"] <= doc["stats"]["agh_objective"] * (1 + 1e-9)
