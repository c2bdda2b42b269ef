"""The support MIP before HiGHS (milp.solve.support_mip) and re-fixing with its plan
(milp.fixing.Fixing.with_upper): the optimum is unchanged, the plan is a real one."""

from __future__ import annotations

import numpy as np
import pytest

from hetserve.heuristics import GhParams, gh
from hetserve.instances import Status
from hetserve.instances.bundled import bundled_path
from hetserve.instances.evaluate import evaluate
from hetserve.instances.generate import generate
from hetserve.instances.io import read_instance
from hetserve.milp import MilpParams, solve
from hetserve.milp.fixing import reduced_cost_caps
from hetserve.milp.highs_model import build_arrays
from hetserve.milp.index import make_index
from hetserve.milp.reductions import Reductions
from hetserve.milp.solve import support_mip
from tests.helpers import gh_start_with_and_without, small_milp_instances

INSTANCES = small_milp_instances()


@pytest.mark.parametrize("make", INSTANCES)
def test_support_mip_keeps_the_optimum(make):
    """From GH's plan (10-40 % above the optimum on these), the solve with the support MIP
    and the re-fixing ends at the same proven optimum as without; the support MIP's plan
    is feasible, priced by the evaluator, and between the optimum and GH's."""
    inst = make()
    start, off, on = gh_start_with_and_without(inst, support_mip=False)
    assert off.stats["support_mip"] is None
    sub = on.stats["support_mip"]
    assert sub["objective"] <= start.objective + 1e-9
    assert sub["objective"] >= off.objective * (1 - 2e-4)

    idx = make_index(inst, reductions=Reductions(reduced_cost=False),
                     upper_bound=start.objective)
    fix = reduced_cost_caps(build_arrays(inst, index=idx), start.objective)
    assert fix is not None
    plan, cost, _ = support_mip(inst, MilpParams(threads=1), 0, idx, fix, start.objective,
                                start.solution)
    ev = evaluate(inst, plan)
    assert ev.feasible and ev.objective == pytest.approx(cost, rel=1e-9)
    assert off.objective * (1 - 2e-4) <= cost <= start.objective


def test_support_mip_improves_gh_on_a_generated_instance():
    """The case it is for: GH's plan is 30 % above the optimum on 4x4x5 s0, and the MILP
    over the LP's support finds the optimum (the full solve proves it)."""
    inst = generate((4, 4, 5), 0)
    start = gh(inst, GhParams())
    res = solve(inst, MilpParams(threads=1), warm_start=start.solution)
    assert res.status is Status.OPTIMAL
    sub = res.stats["support_mip"]
    assert sub["improved"] and sub["objective"] < start.objective * 0.9
    assert sub["objective"] == pytest.approx(res.objective, rel=2e-4)
    assert sub["configs"] < res.stats["n_vars"]


@pytest.mark.parametrize("make", [lambda: read_instance(bundled_path("small-3x3x4")),
                                  lambda: generate((5, 5, 6), 1)])
def test_with_upper_is_the_fixing_for_the_cheaper_plan(make):
    """Re-applying the rule to a smaller U from the stored reduced costs gives exactly the
    caps a new fixing LP would (same model, same duals), never more than before, and
    keeps every configuration of an optimal plan."""
    inst = make()
    start = gh(inst, GhParams())
    opt = solve(inst, MilpParams(threads=1, reductions=Reductions.none()))
    assert opt.status is Status.OPTIMAL and opt.objective < start.objective
    idx = make_index(inst, reductions=Reductions(reduced_cost=False),
                     upper_bound=start.objective)
    am = build_arrays(inst, index=idx)
    loose = reduced_cost_caps(am, start.objective)
    tight = reduced_cost_caps(am, opt.objective)
    assert loose is not None and tight is not None
    again = loose.with_upper(opt.objective)
    np.testing.assert_array_equal(again.caps, tight.caps)
    assert again.dropped == tight.dropped >= loose.dropped
    assert np.all(again.caps <= loose.caps)
    r, _ = opt.solution.to_arrays(inst)
    used = np.nonzero(r > 0)[0]
    assert np.all(again.caps[used] >= r[used])


def test_support_mip_is_skipped_below_its_room_and_by_the_toggle(monkeypatch):
    """Not run when (U − L)/U is at most SUPPORT_MIP_MIN_ROOM, nor with the benchmark
    toggle; the solve is then the one without it."""
    import importlib

    solve_module = importlib.import_module("hetserve.milp.solve")
    inst = generate((4, 4, 5), 0)
    start = gh(inst, GhParams())
    on = solve(inst, MilpParams(threads=1), warm_start=start.solution)
    assert on.stats["support_mip"] is not None
    monkeypatch.setattr(solve_module, "SUPPORT_MIP_MIN_ROOM", 1.0)
    skipped = solve(inst, MilpParams(threads=1), warm_start=start.solution)
    monkeypatch.undo()
    monkeypatch.setenv("HETSERVE_MILP_SUPPORT_MIP", "0")
    toggled = solve(inst, MilpParams(threads=1), warm_start=start.solution)
    for res in (skipped, toggled):
        assert res.stats["support_mip"] is None
        assert res.status is Status.OPTIMAL
        assert res.objective == pytest.approx(on.objective, rel=2e-4)
