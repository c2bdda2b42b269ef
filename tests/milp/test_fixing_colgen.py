"""Reduced-cost fixing from column-generation duals (milp/fixing.py: colgen_caps), the path
``solve`` takes above ``FIXING_MAX_ROUTES`` (docs/milp.md §Reductions, 4). The threshold is
forced down so the path runs on small instances: the optimum survives, the configurations
the proven optimum opens are never dropped, and the Lagrangian it fixes with is ≤ the
optimum."""

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
from hetserve.milp.bound import _Lagrangian
from hetserve.milp.fixing import colgen_caps, complete_link_duals, lagrangian_value
from hetserve.milp.highs_model import build_arrays
from hetserve.milp.index import make_index
from hetserve.milp.reductions import Reductions
from hetserve.milp.solve import lp_relaxation_bound
from tests.helpers import random_lagrangian_multipliers

from .test_fixing import solve_and_compare_fixing

NO_FIXING = Reductions(reduced_cost=False)
solve_module = importlib.import_module("hetserve.milp.solve")  # the package exports solve()

INSTANCES = [
    lambda: read_instance(bundled_path("small-3x3x4")),
    lambda: generate((5, 5, 6), 3, "tight-budget"),
    lambda: generate((4, 4, 5), 4).replace(multi_parallelism=True),
    lambda: generate((4, 4, 5), 6, "high-penalty"),
    lambda: generate((3, 3, 4), 3).replace(delay_constraint="both"),
    lambda: generate((4, 4, 4), 7).replace(single_placement=True),
    pytest.param(lambda: read_instance(bundled_path("paper-base")), marks=pytest.mark.slow),
    pytest.param(lambda: generate((6, 6, 10), 1), marks=pytest.mark.slow),
]


@pytest.fixture
def colgen_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """``solve`` fixes from column generation at every size (threshold 0)."""
    monkeypatch.setattr(solve_module, "FIXING_MAX_ROUTES", 0)
    monkeypatch.setattr(solve_module, "COLGEN_FIXING", True)


@pytest.mark.parametrize("make", INSTANCES)
def test_colgen_fixing_keeps_the_optimum(make, colgen_everywhere):
    """With GH's plan as U, the solve fixed from column-generation duals reaches the
    optimum of the solve without fixing, with a bound ≤ that optimum (what the optimal
    plan opens is checked in the next test)."""
    solve_and_compare_fixing(make(), "colgen")


@pytest.mark.parametrize("make", INSTANCES)
def test_colgen_fixing_never_drops_what_the_optimum_uses(make):
    """With the proven optimum as U (the tightest valid U, so the most is dropped): the
    certified L is ≤ the optimum and every configuration of the optimal plan keeps its
    columns and at least its replicas."""
    inst = make()
    opt = solve(inst, MilpParams(threads=1, reductions=Reductions.none()))
    assert opt.status is Status.OPTIMAL
    idx = make_index(inst, reductions=NO_FIXING, upper_bound=opt.objective)
    am = build_arrays(inst, index=idx)
    fix = colgen_caps(am, opt.objective)
    assert fix is not None and fix.method.startswith("colgen")
    assert fix.bound <= opt.objective * (1 + 1e-9)
    r, _ = opt.solution.to_arrays(inst)
    used = np.nonzero(r > 0)[0]
    assert np.all(fix.caps[used] >= r[used])


@pytest.mark.parametrize("make", [
    lambda: read_instance(bundled_path("paper-base")),
    lambda: generate((6, 6, 8), 4),
    lambda: generate((5, 5, 6), 3, "tight-budget"),
])
def test_colgen_duals_reach_the_lp_bound_and_fix(make):
    """Run until nothing prices out, the master's duals placed on the full model give
    L = the LP relaxation (so the fixing is as strong as the full LP's bound), and with
    GH's plan as U they drop configurations."""
    inst = make()
    start = gh(inst, GhParams())
    assert start.feasible
    idx = make_index(inst, reductions=Reductions(), upper_bound=start.objective)
    am = build_arrays(inst, index=idx)
    fix = colgen_caps(am, start.objective)
    assert fix is not None
    lp = lp_relaxation_bound(inst)  # the complete model's LP: ≤ the reduced model's
    assert fix.lp_value == pytest.approx(fix.bound, rel=1e-6)
    assert fix.bound >= lp * (1 - 1e-6)
    assert fix.dropped + fix.lowered > 0


def test_completing_link_duals_never_lowers_the_lagrangian():
    """``complete_link_duals`` keeps the multipliers valid (L ≤ the optimum) and never
    lowers L, for random multipliers of every scale."""
    inst = generate((4, 4, 5), 0)
    opt = solve(inst, MilpParams(reductions=Reductions.none(), threads=1))
    assert opt.status is Status.OPTIMAL
    am = build_arrays(inst)
    rng = np.random.default_rng(1)
    gained = 0
    for _ in range(20):
        y = rng.normal(scale=rng.choice([0.1, 1.0, 50.0]), size=am.n_rows)
        before, _ = lagrangian_value(am, y)
        after, d = lagrangian_value(am, complete_link_duals(am, y))
        assert after <= opt.objective + 1e-6
        assert after >= before - 1e-9 * max(1.0, abs(before))
        assert np.all(d[am.cols["x"]] >= -1e-9)  # the routes' reduced costs moved to w
        gained += after > before + 1e-9
    assert gained > 0  # it does something on random multipliers


@pytest.mark.parametrize("make", INSTANCES[:6])
def test_open_bounds_are_below_the_optimum_for_what_it_opens(make):
    """The Lagrangian with ``w_c = 1`` forced (``_Lagrangian.open_bounds``) bounds every plan
    that opens c: for random sign-valid multipliers, never above the optimum for the
    configurations the optimal plan opens, and never below L itself."""
    inst = make()
    opt = solve(inst, MilpParams(threads=1, reductions=Reductions.none()))
    assert opt.status is Status.OPTIMAL
    idx = make_index(inst)
    lg = _Lagrangian(inst, idx)
    r, _ = opt.solution.to_arrays(inst)
    pos = -np.ones(len(inst.routes), dtype=np.int64)
    pos[idx.cfg] = np.arange(idx.n_cfg)
    used = pos[np.nonzero(r > 0)[0]]
    assert np.all(used >= 0)
    rng = np.random.default_rng(2)
    nI, nA = lg.nI, len(lg.gpu_limits)
    for _ in range(20):
        mult = random_lagrangian_multipliers(rng, nI, nA)
        lag, open_c = lg.open_bounds(*mult)
        assert lag <= opt.objective * (1 + 1e-9) + 1e-9
        assert np.all(open_c >= lag - 1e-9 * max(1.0, abs(lag)))
        assert np.all(open_c[used] <= opt.objective * (1 + 1e-9) + 1e-9)
