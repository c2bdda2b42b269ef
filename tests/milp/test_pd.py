"""P/D-aware planning: the MILP over aggregated + disaggregated or mixed/solo options
(docs/pd.md)."""

import pytest

from hetserve.heuristics.adaptive import agh
from hetserve.instances.disagg import PdConfig
from hetserve.instances.evaluate import evaluate
from hetserve.instances.generate import generate
from hetserve.instances.mixed_solo import MixedSoloConfig
from hetserve.milp.solve import MilpParams, solve
from tests.helpers import OBJ_RTOL

PARAMS = MilpParams(time_limit_s=60.0, mip_rel_gap=0.0, threads=1)


MODES = {
    "disaggregated": ({"deployment_modes": ("aggregated", "disaggregated"),
                       "pd_ratios": ((2, 1), (1, 1), (1, 2))}, PdConfig),
    "mixed-solo": ({"deployment_modes": ("aggregated", "mixed-solo")}, MixedSoloConfig),
}


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_optimum_with_a_mode_is_never_worse_than_the_aggregated_optimum(seed, mode):
    """The enabled model holds every aggregated column unchanged plus the mode's
    configurations, so its optimum can only be lower; both solved to optimality and checked
    by the evaluator."""
    changes, kind = MODES[mode]
    agg = generate((3, 3, 3), seed)
    both = agg.replace(**changes)
    assert any(isinstance(c, kind) for c in both.routes.configs)
    a = solve(agg, PARAMS, seed=0)
    b = solve(both, PARAMS, seed=0, warm_start=agh(both, seed=0).solution)
    assert a.status == "optimal" and b.status == "optimal"
    ev = evaluate(both, b.solution)
    assert ev.feasible, ev.violations
    assert ev.objective == pytest.approx(b.stats["objective_solver"], rel=OBJ_RTOL)
    assert b.objective <= a.objective * (1 + 1e-6)
    # and the aggregated plan is a plan of the enabled instance at the same cost
    same = evaluate(both, a.solution)
    assert same.feasible and same.objective == pytest.approx(a.objective, rel=1e-9)


def test_agh_plans_with_pd_units_and_the_evaluator_accepts_them():
    inst = generate((4, 3, 4), 3).replace(deployment_modes=("aggregated", "disaggregated"))
    res = agh(inst, seed=0)
    ev = evaluate(inst, res.solution)
    assert ev.feasible, ev.violations
    assert res.solution.deployments
