"""Closing configurations during the column generation (milp/bound.py: ``_Lagrangian.close``,
``replica_bounds``; milp/fixing.py: ``closing_caps``; docs/milp.md "Certified bounds"):
the forced-(c, r) Lagrangian bounds every plan with r replicas of c, so the optimum's
configurations and replica counts survive; the bound of the restricted model, min(U, L),
stays below the optimum; and the model built over the surviving configurations only has
the complete model's optimum."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hetserve.heuristics import gh
from hetserve.instances import Status
from hetserve.instances.generate import generate
from hetserve.milp import MilpParams, solve
from hetserve.milp.bound import _Lagrangian, fixed_model_bound, lagrangian_bound
from hetserve.milp.fixing import closing_caps
from hetserve.milp.index import make_index
from hetserve.milp.reductions import Reductions
from tests.helpers import bound_instances, known_uppers, random_lagrangian_multipliers

INSTANCES = bound_instances()


def _optimum(inst):
    opt = solve(inst, MilpParams(threads=1, reductions=Reductions.none()))
    assert opt.status is Status.OPTIMAL and opt.solution is not None
    return opt


def _optimum_and_start(inst):
    """The proven optimum and GH's plan as the known plan (the optimum where GH finds none)."""
    opt = _optimum(inst)
    start = gh(inst)
    return opt, (start if start.feasible else opt)


@pytest.mark.parametrize("make", INSTANCES)
def test_replica_bounds_keep_every_optimal_replica_count(make):
    """For random sign-valid multipliers (weak duality holds for any), the largest r with the
    forced-(c, r) Lagrangian ≤ the optimum is at least the optimum's r_c on every
    configuration it opens, and closing with U = the optimum keeps them all."""
    inst = make()
    opt = _optimum(inst)
    idx = make_index(inst)
    r, _ = opt.solution.to_arrays(inst)
    pos = -np.ones(len(inst.routes), dtype=np.int64)
    pos[idx.cfg] = np.arange(idx.n_cfg)
    used = pos[np.nonzero(r > 0)[0]]
    r_used = r[idx.cfg[used]]
    rng = np.random.default_rng(5)
    for _ in range(15):
        lg = _Lagrangian(inst, idx)
        nI, nA = lg.nI, len(lg.gpu_limits)
        mult = random_lagrangian_multipliers(rng, nI, nA)
        lag, _ = lg.evaluate(*mult)
        limit = opt.objective * (1 + 1e-9) + 1e-9
        caps = lg.replica_bounds(limit)
        assert np.all(caps[used] >= r_used)
        assert np.all(caps <= lg.rbar)
        lg.close(opt.objective)
        assert not lg.closed[used].any()
        assert np.all(lg.rbar[used] >= r_used)
        # the restricted model's Lagrangian at the same multipliers is no lower, and its
        # certified value min(U, L) is below the optimum
        again, _ = lg.evaluate(*mult)
        assert again >= lag - 1e-9 * max(1.0, abs(lag))
        assert lg.certified(again) <= opt.objective * (1 + 1e-9) + 1e-9


@pytest.mark.parametrize("make", INSTANCES)
@pytest.mark.parametrize("full_cover", [True, False])
def test_closing_generation_stays_below_the_optimum(make, full_cover):
    """The column generation that closes as it goes (both master shapes), with U = a
    heuristic's cost and with U = the optimum (the tightest valid one): certified,
    never above the optimum, no lower than without closing."""
    inst = make()
    opt = _optimum(inst)
    _start, uppers = known_uppers(inst, opt.objective)
    for upper in uppers:
        plain = lagrangian_bound(inst, upper_bound=upper, iterations=0, full_cover=full_cover)
        lb = lagrangian_bound(inst, upper_bound=upper, iterations=0, full_cover=full_cover,
                              close=True)
        assert math.isfinite(lb.value)
        assert lb.value <= opt.objective * (1 + 1e-9)
        assert lb.value >= plain.value - 1e-6 * max(1.0, abs(plain.value))
        assert lb.closing is not None
        closed = lb.closing["rbar"] < 1
        assert closed.sum() == lb.stats["closed"]


def test_closing_closes_and_caps_at_the_generation_multipliers():
    """Not a no-op: with U = the optimum most configurations are closed, some capped."""
    inst = generate((4, 4, 5), 0)
    opt = _optimum(inst)
    lb = lagrangian_bound(inst, upper_bound=opt.objective, iterations=0, close=True)
    idx = make_index(inst, None, Reductions(), opt.objective)
    assert lb.stats["closed"] > idx.n_cfg // 2
    assert lb.stats["capped"] > 0


@pytest.mark.parametrize("make", INSTANCES)
def test_surviving_configurations_build_has_the_complete_optimum(make):
    """``solve`` over the caps of ``closing_caps`` (the model built over the surviving
    configurations only, never the complete one) proves the complete model's optimum,
    and the caps keep the optimal plan's configurations."""
    inst = make()
    opt, start = _optimum_and_start(inst)
    idx = make_index(inst, None, Reductions(), start.objective)
    fixing = closing_caps(idx, start.objective, time_limit_s=30.0)
    assert fixing is not None
    assert fixing.bound <= opt.objective * (1 + 1e-9)
    run = solve(inst, MilpParams(threads=1), warm_start=start.solution, fixing=fixing)
    assert run.status is Status.OPTIMAL
    assert run.objective == pytest.approx(opt.objective, rel=1e-6, abs=1e-6)
    assert run.stats["n_vars"] <= solve(inst, MilpParams(threads=1, reductions=Reductions(
        reduced_cost=False)), warm_start=start.solution).stats["n_vars"]


@pytest.mark.parametrize("make", INSTANCES[:3])
def test_fixed_bound_without_closing_is_also_below_the_optimum(make):
    """The former path (``solve``'s fixing on the complete model) is still available and
    certified; the closing path (default) is no weaker than the LP relaxation's bound
    the other gives (both below the optimum)."""
    inst = make()
    opt, start = _optimum_and_start(inst)
    old, _ = fixed_model_bound(inst, start.solution, time_limit_s=30.0, closing=False)
    new, _ = fixed_model_bound(inst, start.solution, time_limit_s=30.0)
    for lb in (old, new):
        assert lb.value <= opt.objective * (1 + 1e-9)
    assert new.stats["fixing_method"] == "colgen+closing"


@pytest.mark.parametrize("make", INSTANCES[:4])
def test_ipm_master_is_certified_and_reaches_the_lp(make, monkeypatch):
    """The sparse master solved by interior point without crossover (the default from
    IPM_MASTER_MIN_ROUTES routes, forced here): every round's number is below the optimum,
    and the generation still reaches the LP bound of the simplex master."""
    import hetserve.milp.bound as bound_mod

    inst = make()
    opt = _optimum(inst)
    simplex = lagrangian_bound(inst, iterations=0, full_cover=False)
    monkeypatch.setattr(bound_mod, "IPM_MASTER_MIN_ROUTES", 0)
    lb = lagrangian_bound(inst, iterations=0, full_cover=False, keep_master=True)
    assert lb.master is not None and lb.master.ipm
    assert lb.value <= opt.objective * (1 + 1e-9)
    for row in lb.stats["cg_history"]:
        if "lagrangian" in row:
            assert row["lagrangian"] <= opt.objective * (1 + 1e-9)
    if simplex.stats["cg_converged"] and lb.stats["cg_converged"]:
        assert lb.value == pytest.approx(simplex.value, rel=1e-5, abs=1e-5)


def test_fixed_bound_skips_highs_when_too_much_survives(monkeypatch):
    """Above FIXED_MODEL_MAX_SURVIVORS surviving routes the fixed model is not built: the
    number is the closing's min(U, L), below the optimum, and the plan returned is
    evaluated and no dearer than the start."""
    import hetserve.milp.bound as bound_mod

    inst = generate((4, 4, 5), 0)
    opt = _optimum(inst)
    start = gh(inst)
    assert start.feasible and start.solution is not None
    monkeypatch.setattr(bound_mod, "FIXED_MODEL_MAX_SURVIVORS", 0)
    # the fixed route count (the time-left sizing would give this small model to HiGHS)
    lb, run = fixed_model_bound(inst, start.solution, time_limit_s=30.0, target_sizing=False)
    assert lb.method == "lagrangian" and lb.stats["highs_status"] == "not run"
    assert lb.value <= opt.objective * (1 + 1e-9)
    assert run.feasible and run.objective <= start.objective * (1 + 1e-9)
    assert run.objective == pytest.approx(lb.stats["plan"])


@pytest.mark.parametrize("make", INSTANCES[:4])
def test_resumed_closing_with_a_smaller_upper_bound_stays_below_the_optimum(make):
    """The generation goes on closing with a cheaper plan's cost (here the optimum, after a
    start from GH's): never above the optimum, never below the first phase, and it
    closes at least what the first phase closed."""
    from hetserve.milp.bound import resume_closing

    inst = make()
    opt = _optimum(inst)
    start = gh(inst)
    upper = start.objective if start.feasible else opt.objective * 1.2
    idx = make_index(inst, None, Reductions(), upper)
    lb = lagrangian_bound(inst, upper_bound=upper, index=idx, iterations=0, keep_master=True,
                          close=True)
    first_closed = lb.stats["closed"]
    again = resume_closing(lb, opt.objective, 30.0)
    assert again.value <= opt.objective * (1 + 1e-9)
    assert again.value >= lb.value
    assert again.stats["closed"] >= first_closed
    assert again.closing is not None


@pytest.mark.parametrize("make", INSTANCES)
def test_target_cost_fixed_model_stays_below_the_optimum(make, monkeypatch):
    """When too many routes survive U', the fixed model is built for a target V < U'
    (only configurations whose forced-open Lagrangian is below V): min(V, B_V) is still
    below the optimum, and the returned plan is evaluated and no dearer than the start."""
    import hetserve.milp.bound as bound_mod

    inst = make()
    opt, start = _optimum_and_start(inst)
    idx = make_index(inst, None, Reductions(), start.objective)
    monkeypatch.setattr(bound_mod, "FIXED_MODEL_MAX_SURVIVORS", max(1, idx.n_routes // 10))
    monkeypatch.setattr(bound_mod, "FIXED_MODEL_TARGET_ROUTES", max(1, idx.n_routes // 10))
    monkeypatch.setattr(bound_mod, "FIXED_MODEL_TARGET_ROUTES_COVERS", max(1, idx.n_routes // 10))
    lb, run = fixed_model_bound(inst, start.solution, time_limit_s=30.0, target_sizing=False)
    assert lb.value <= opt.objective * (1 + 1e-9)
    assert run.feasible and run.objective <= start.objective * (1 + 1e-9)
    if lb.stats.get("target") is not None:
        assert lb.stats["target"] < lb.stats["upper"]
