"""The Lagrangian bound (milp/bound.py): never above a proven optimum; exact evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hetserve.instances import Status
from hetserve.instances.bundled import bundled_path
from hetserve.instances.generate import generate
from hetserve.instances.io import read_instance
from hetserve.milp import MilpParams, solve
from hetserve.milp.bound import _Lagrangian, lagrangian_bound
from hetserve.milp.index import make_index


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
    opt = solve(inst, MilpParams(threads=1))
    assert opt.status is Status.OPTIMAL
    for upper in (None, opt.objective):
        lb = lagrangian_bound(inst, upper_bound=upper, iterations=150)
        assert math.isfinite(lb.value)
        assert lb.value <= opt.objective * (1 + 1e-9)
        assert lb.method == "lagrangian" and lb.seconds >= 0


def test_bound_is_useful_on_paper_base():
    """Not a trivial number: within 15 % of the optimum (measured: about 11 %)."""
    inst = read_instance(bundled_path("paper-base"))
    res = solve(inst, MilpParams(threads=1))
    assert res.status is Status.OPTIMAL
    opt = res.objective
    lb = lagrangian_bound(inst, upper_bound=opt, iterations=200)
    assert 0.85 * opt <= lb.value <= opt * (1 + 1e-9)


def test_any_multipliers_give_a_bound():
    """Weak duality holds for arbitrary multipliers of the right signs, not only the
    ones the subgradient finds."""
    inst = generate((4, 4, 5), 0)
    opt = solve(inst, MilpParams(threads=1)).objective
    lg = _Lagrangian(inst, make_index(inst))
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.uniform(-50, 200, lg.nI)
        value, _ = lg.evaluate(y, rng.uniform(0, 50, lg.nI), np.zeros(lg.nI),
                               float(rng.uniform(0, 1)), rng.uniform(0, 5, len(lg.gpu_limits)),
                               0.0)
        assert value <= opt * (1 + 1e-9)
