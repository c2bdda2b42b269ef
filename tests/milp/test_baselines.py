"""LPR and HF: feasible plans, never below the MILP optimum, evaluated on the full instance."""

from __future__ import annotations

import pytest

from hetserve.instances import Status
from hetserve.instances.generate import generate, paper_base
from hetserve.milp import MilpParams, solve
from hetserve.milp.baselines import hf, lpr


@pytest.mark.parametrize("make", [lambda: generate((4, 4, 4), 1),
                                  lambda: generate((4, 4, 4), 0, "high-penalty")])
def test_lpr_and_hf_not_better_than_milp(make):
    inst = make()
    opt = solve(inst)
    assert opt.status is Status.OPTIMAL
    a = lpr(inst)
    assert a.method == "lpr"
    if a.feasible:
        assert a.status is Status.FEASIBLE
        assert a.objective >= opt.objective * (1 - 1e-6)
    b = hf(inst, MilpParams(time_limit_s=30))
    assert b.method == "hf"
    if b.feasible:
        assert b.objective >= opt.objective * (1 - 1e-6)
        gpus = {d.gpu for d in b.solution.deployments}
        assert len(gpus) == 1
        assert b.stats["tier"] in {t.name for t in inst.tiers}


def test_lpr_is_feasible_on_base_instances():
    for inst in (paper_base(), generate((6, 6, 6), 3)):
        assert lpr(inst).feasible
