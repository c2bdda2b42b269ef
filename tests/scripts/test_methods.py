"""The CLI's method registry: ``agh`` (with the fleet-MIP neighbourhood) and ``agh-paper``
(the paper's operators only) are two named methods over one AGH implementation."""

from __future__ import annotations

import pytest

from hetserve.cli.methods import MethodSettings, run_method
from hetserve.instances.evaluate import evaluate
from hetserve.instances.generate import generate


@pytest.fixture(scope="module")
def s1001():
    # 6x6x10 seed 1001: the paper's AGH stops about 12 % above the optimum here and the
    # fleet MIP reaches it (results/milp/agh-gap/compare.md)
    return generate((6, 6, 10), 1001)


def test_agh_paper_runs_without_the_fleet_mip(s1001):
    paper = run_method("agh-paper", s1001, MethodSettings(seed=0))
    full = run_method("agh", s1001, MethodSettings(seed=0))
    assert paper.method == "agh-paper" and full.method == "agh"
    assert paper.stats["fleet_mip"] == {"improved": 0, "lp_guided_improved": 0,
                                       "rounds_allowed": 0}
    assert full.stats["fleet_mip"]["rounds_allowed"] > 0
    # both plans go through the one evaluator, and the neighbourhood only ever improves
    for res in (paper, full):
        assert evaluate(s1001, res.solution).feasible
        assert evaluate(s1001, res.solution).objective == pytest.approx(res.objective)
    assert full.objective < paper.objective * (1 - 0.01)
