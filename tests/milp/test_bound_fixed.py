"""The fixed-model bound (milp.bound.fixed_model_bound, docs/milp.md "Certified bounds"):
min(U', HiGHS's dual bound on the model fixed by a plan of cost U) is never above a proven
optimum, never below the LP relaxation, and the by-product plan is no dearer than the start."""

from __future__ import annotations

import math

import pytest

from hetserve.heuristics import agh, gh
from hetserve.instances import Status
from hetserve.instances.bundled import bundled_path
from hetserve.instances.generate import generate
from hetserve.instances.io import read_instance
from hetserve.instances.solution import Solution
from hetserve.milp import MilpParams, solve
from hetserve.milp.bound import fixed_model_bound
from hetserve.milp.solve import lp_relaxation_bound
from tests.helpers import proven_optimum


@pytest.mark.parametrize("make", [
    lambda: read_instance(bundled_path("small-3x3x4")),
    lambda: generate((4, 4, 5), 0),
    lambda: generate((4, 4, 4), 1, "tight-budget"),
    lambda: generate((4, 4, 4), 2).replace(multi_parallelism=True),
    lambda: generate((3, 3, 4), 3).replace(delay_constraint="both"),
    lambda: generate((4, 5, 5), 4),
])
def test_fixed_bound_between_the_lp_and_the_optimum(make):
    inst = make()
    opt = proven_optimum(inst)
    assert opt.status is Status.OPTIMAL
    lp = lp_relaxation_bound(inst)
    start = gh(inst)  # a plan at or above the optimum: the fixing's U
    if not start.feasible:  # GH misses the tight budget
        start = agh(inst, seed=0)
    assert start.feasible and start.solution is not None
    lb, run = fixed_model_bound(inst, start.solution, time_limit_s=60.0)
    assert lb.value <= opt.objective * (1 + 1e-9)
    assert lb.value >= lp * (1 - 1e-6)
    assert lb.method in ("fixed-mip", "lagrangian")
    assert lb.stats["upper"] <= start.objective * (1 + 1e-12)
    # HiGHS starts from the plan, so its plan is evaluated and no dearer
    assert run.feasible and run.objective <= start.objective * (1 + 1e-9)
    if run.status is Status.OPTIMAL:  # a closed fixed model proves the optimum itself
        assert lb.value == pytest.approx(opt.objective, rel=1e-4)


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("seconds", [0.02, 0.2])
def test_fixed_bound_below_the_optimum_when_highs_stops_early(seed, seconds):
    """A time limit too short for HiGHS to close the fixed model, or for the closing's first
    master solve (0.02 s): the number is still a lower bound (min(U', B), the fixing's
    Lagrangian value, or L at zero multipliers) and the plan no dearer than the start."""
    inst = generate((6, 6, 6), 10 + seed)
    opt = proven_optimum(inst)
    assert opt.status is Status.OPTIMAL
    start = gh(inst)
    assert start.feasible and start.solution is not None
    lb, run = fixed_model_bound(inst, start.solution, time_limit_s=seconds)
    assert lb.value <= opt.objective * (1 + 1e-9)
    assert run.objective <= start.objective * (1 + 1e-9)


def test_infeasible_start_is_refused():
    inst = generate((3, 3, 4), 0)
    start = gh(inst)
    assert start.solution is not None
    r, x = start.solution.to_arrays(inst)
    bad = Solution.from_arrays(inst, r * 0, x)  # routes with no replicas: over capacity
    with pytest.raises(ValueError):
        fixed_model_bound(inst, bad)


def test_certified_bound_chooses_by_size_and_plan(monkeypatch):
    """agh-bound's entry point: the fixed model from a feasible plan, the Lagrangian without
    one or above FIXED_MODEL_MAX_ROUTES; every number below the optimum."""
    import hetserve.milp.bound as bound_mod

    inst = generate((4, 4, 5), 0)
    opt = proven_optimum(inst)
    assert opt.status is Status.OPTIMAL
    start = gh(inst)
    assert start.solution is not None
    fixed, run = bound_mod.certified_bound(inst, start.solution, time_limit_s=30.0)
    assert run is not None and fixed.stats["upper"] <= start.objective * (1 + 1e-12)
    alone, none = bound_mod.certified_bound(inst, None, time_limit_s=30.0)
    assert none is None and alone.method == "lagrangian"
    monkeypatch.setattr(bound_mod, "FIXED_MODEL_MAX_ROUTES", 0)
    capped, none2 = bound_mod.certified_bound(inst, start.solution, time_limit_s=30.0)
    assert none2 is None and capped.method == "lagrangian"
    for lb in (fixed, alone, capped):
        assert lb.value <= opt.objective * (1 + 1e-9)
    assert fixed.value >= capped.value - 1e-6 * abs(capped.value)


def test_certified_bound_takes_the_lagrangian_when_time_is_short(monkeypatch):
    import hetserve.milp.bound as bound_mod

    inst = generate((4, 4, 5), 0)
    start = gh(inst)
    assert start.solution is not None
    monkeypatch.setattr(bound_mod, "FIXED_MODEL_ROUTES_PER_S", 1e-9)
    lb, run = bound_mod.certified_bound(inst, start.solution, time_limit_s=30.0)
    assert run is None and lb.method == "lagrangian" and math.isfinite(lb.value)


@pytest.mark.parametrize("make", [
    lambda: read_instance(bundled_path("small-3x3x4")),
    lambda: generate((4, 4, 5), 0),
])
def test_cutoff_below_the_optimum_is_infeasible_without_a_diagnosis(make):
    """With HiGHS's cutoff (objective_bound, the target-cost model's V) below the optimum
    and the target model's heuristic settings, HiGHS finds no plan below it: status
    INFEASIBLE with no diagnosis (the instance itself is feasible; small-3x3x4), or a plan
    not below the cutoff (HiGHS may still report one above it: 4x4x5 s0); with the cutoff
    above the optimum the same model is solved to the optimum."""
    from hetserve.milp.bound import TARGET_HIGHS_OPTIONS

    inst = make()
    opt = proven_optimum(inst)
    assert opt.status is Status.OPTIMAL and opt.objective is not None
    cut = MilpParams(threads=1, support_mip=False, highs_options=(
        ("objective_bound", 0.99 * opt.objective), *TARGET_HIGHS_OPTIONS))
    run = solve(inst, cut)
    if run.status is Status.INFEASIBLE:
        assert run.diagnosis == ()
    else:
        assert run.status is Status.OPTIMAL and run.objective is not None
        assert run.objective >= 0.99 * opt.objective * (1 - 1e-9)
    above = solve(inst, MilpParams(threads=1, support_mip=False, highs_options=(
        ("objective_bound", 1.01 * opt.objective), *TARGET_HIGHS_OPTIONS)))
    assert above.status is Status.OPTIMAL
    assert above.objective == pytest.approx(opt.objective, rel=1e-6)


@pytest.mark.parametrize("make", [
    lambda: generate((6, 6, 6), 10),
    lambda: generate((6, 6, 6), 11),
    lambda: generate((4, 4, 4), 1, "tight-budget"),
    lambda: generate((3, 3, 4), 3).replace(delay_constraint="both"),
])
def test_wcover_lp_bound_below_the_optimum(make, monkeypatch):
    """``wcover_rounds``: min(U', C) (the fixed model's LP with weighted error covers,
    certified by its duals) and min(V, C) on a target-cost model (forced here with
    FIXED_MODEL_MAX_SURVIVORS = 0) are never above the proven optimum, and the rounds
    lift the certified value above the plain LP's (round 0)."""
    import hetserve.milp.bound as bound_mod

    inst = make()
    opt = proven_optimum(inst)
    assert opt.status is Status.OPTIMAL
    start = gh(inst)
    if not start.feasible:
        start = agh(inst, seed=0)
    assert start.feasible and start.solution is not None
    lb, run = fixed_model_bound(inst, start.solution, time_limit_s=60.0, wcover_rounds=10)
    assert lb.value <= opt.objective * (1 + 1e-9)
    assert lb.method in ("fixed-lp-wcover", "lagrangian")
    hist = lb.stats["wcover_history"]
    assert hist[0]["rows"] == 0 and all(h["certified"] <= opt.objective * (1 + 1e-9)
                                        for h in hist)
    assert lb.stats["wcover_bound"] >= hist[0]["certified"]
    assert run.feasible and run.objective <= start.objective * (1 + 1e-9)
    monkeypatch.setattr(bound_mod, "FIXED_MODEL_MAX_SURVIVORS", 0)
    n = int(lb.stats["surviving_routes"])
    lbt, _ = fixed_model_bound(inst, start.solution, time_limit_s=60.0, wcover_rounds=10,
                               target_routes=max(1, n // 2))
    assert lbt.value <= opt.objective * (1 + 1e-9)
    if lbt.stats["target"] is not None:
        assert lbt.value <= lbt.stats["target"] * (1 + 1e-9)


def test_wcover_lp_bound_is_weak_duality():
    """wcover_lp_bound's number is the Lagrangian at the LP duals: with no rounds it equals
    the LP relaxation's value of the same model (strong duality at an optimal basis)."""
    from hetserve.milp.bound import wcover_lp_bound
    from hetserve.milp.highs_model import build_arrays
    from hetserve.milp.index import make_index

    inst = generate((4, 4, 5), 0)
    am = build_arrays(inst, index=make_index(inst))
    value, _ = wcover_lp_bound(am, 0, time_limit_s=30.0)
    assert value == pytest.approx(lp_relaxation_bound(inst), rel=1e-6)
    lifted, st2 = wcover_lp_bound(am, 5, time_limit_s=30.0)
    assert lifted >= value - 1e-9 and len(st2["wcover_history"]) >= 1


def test_agh_bound_runs_closing_and_target_side_by_side_with_two_threads(monkeypatch):
    """``agh-bound`` with ``--threads 2`` (the CLI's default) asks the fixed-model bound for
    its concurrent closing (results/milp/exact-r10-pairs/), with one thread it does not."""
    import hetserve.milp.bound as bound_mod
    from hetserve.cli.methods import MethodSettings, run_method

    seen: list[bool] = []
    real = bound_mod.fixed_model_bound

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(bool(kwargs.get("concurrent_closing")))
        return real(*args, **kwargs)

    monkeypatch.setattr(bound_mod, "fixed_model_bound", spy)
    inst = generate((4, 4, 5), 0)
    opt = proven_optimum(inst)
    for threads in (2, 1):
        res = run_method("agh-bound", inst, MethodSettings(seed=0, time_limit_s=30.0,
                                                           threads=threads))
        assert res.bound is not None and res.bound <= opt.objective * (1 + 1e-9)
    assert seen == [True, False]
