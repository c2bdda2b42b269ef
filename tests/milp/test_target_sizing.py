"""The target model sized from the time left (milp/bound.py ``fixed_model_bound(...,
target_sizing=True)``, ``sized_target_routes``; docs/milp.md "Certified bounds", *a target
sized from the time left*): the route count is monotone in the time left and in the
machine's speed; whatever the sizing picks (a first target, a second larger one, or none
and more closing), the number returned stays ≤ the proven optimum and ≥ the closing's
*L*."""

from __future__ import annotations

import functools
import math

import pytest

import hetserve.milp.bound as bound_mod
from hetserve.milp.bound import (
    CLOSING_TUNING,
    fixed_model_bound,
    lagrangian_bound,
    resume_closing,
    sized_target_routes,
    speed_probe,
)
from hetserve.milp.index import make_index
from hetserve.milp.reductions import Reductions
from tests.helpers import below, cover_instances, known_uppers, proven_optimum

INSTANCES = cover_instances()


def test_sized_routes_are_monotone_in_time_and_speed():
    """More time never gives fewer routes, a slower machine (larger scale) never more;
    below the minimum there is no target, and the formula's value where there is one."""
    lefts = [0.0, 1.0, 10.0, 30.0, 60.0, 95.0, 100.0, 150.0, 300.0, 1e4]
    scales = [0.25, 0.5, 1.0, 1.1, 2.0, 4.0]
    for scale in scales:
        got = [sized_target_routes(t, scale) or 0 for t in lefts]
        assert got == sorted(got)
    for t in lefts:
        got = [sized_target_routes(t, s) or 0 for s in scales]
        assert got == sorted(got, reverse=True)
    assert sized_target_routes(0.0) is None and sized_target_routes(-5.0) is None
    assert sized_target_routes(100.0, 0.0) is None
    r = sized_target_routes(100.0)
    assert r is not None and r >= bound_mod.TARGET_SIZING_MIN_ROUTES
    assert r == int(bound_mod.TARGET_SIZING_ROUTES_PER_S
                    * (bound_mod.TARGET_SIZING_SAFETY * 100.0 - bound_mod.TARGET_SIZING_BASE_S))
    # beyond the measured range the line is not extrapolated: capped
    assert sized_target_routes(1e4) == bound_mod.TARGET_SIZING_MAX_ROUTES
    assert sized_target_routes(1e4, 0.25, 42.0, 270.0) == bound_mod.TARGET_SIZING_MAX_ROUTES
    smallest = min(v for t in lefts for s in scales if (v := sized_target_routes(t, s)))
    assert smallest >= bound_mod.TARGET_SIZING_MIN_ROUTES


def test_speed_probe_sums_the_first_master_solves():
    hist = [{"round": k, "master_cpu_s": float(k)} for k in range(1, 8)]
    assert speed_probe(hist) == pytest.approx(15.0)  # 1 + 2 + 3 + 4 + 5
    assert speed_probe(hist[:4]) is None
    assert speed_probe([{"skipped": "x"}, *hist]) == pytest.approx(15.0)
    assert speed_probe(None) is None


def _optimum_and_start(make):  # type: ignore[no-untyped-def]
    """The instance, its proven optimum, GH's plan (skips without one) and its route count."""
    inst = make()
    opt = proven_optimum(inst)
    start, _ = known_uppers(inst, opt.objective)
    if not start.feasible:
        pytest.skip("GH finds no plan to fix with")
    return inst, opt, start, make_index(inst, None, Reductions(), start.objective).n_routes


def _sized_run(inst, start, monkeypatch, routes):  # type: ignore[no-untyped-def]
    """``fixed_model_bound`` with the target path forced (everything "too large") and
    ``sized_target_routes`` returning ``routes(call)`` on its ``call``-th call."""
    calls = []

    def sized(left_s, scale=1.0, *rates):  # type: ignore[no-untyped-def]
        calls.append((left_s, scale))
        return routes(len(calls))

    monkeypatch.setattr(bound_mod, "FIXED_MODEL_MAX_SURVIVORS", 0)
    monkeypatch.setattr(bound_mod, "TARGET_SIZING_MIN_GAIN", 0.0)
    monkeypatch.setattr(bound_mod, "sized_target_routes", sized)
    lb, run = fixed_model_bound(inst, start.solution, time_limit_s=60.0, target_sizing=True)
    return lb, run, calls


@pytest.mark.parametrize("make", INSTANCES)
def test_sized_targets_stay_below_the_optimum(make, monkeypatch):
    """A first target of a 25th of the routes and, once proven, a second of an 8th: the
    certified number is ≤ the proven optimum and ≥ the closing's L, the plan is evaluated
    and no dearer than GH's."""
    inst, opt, start, n = _optimum_and_start(make)
    lb, run, calls = _sized_run(inst, start, monkeypatch,
                                lambda k: max(1, n // 25) if k == 1 else max(2, n // 8))
    assert below(lb.value, opt.objective)
    assert lb.value >= lb.stats["lagrangian"] - 1e-6 * max(1.0, abs(lb.value))
    assert run.feasible and run.objective <= start.objective * (1 + 1e-9)
    sizing = lb.stats["target_sizing"]
    assert sizing is not None and len(calls) >= 1
    if sizing["target"] is not None and lb.stats["target"] is not None:
        assert lb.stats["target"] < lb.stats["upper"]
    second = sizing.get("second")
    if second is not None and second.get("value") is not None:
        assert below(second["value"], opt.objective)


def test_second_target_is_tried_and_certified(monkeypatch):
    """On 4x4x5 s4 with multi-parallelism (536 routes) the first target (21 routes) is
    proven and the second (67 routes) lies above it: HiGHS proves no plan below V₂ either,
    so the number is V₂ > V₁, still ≤ the proven optimum."""
    inst = INSTANCES[3]()
    opt = proven_optimum(inst)
    start, _ = known_uppers(inst, opt.objective)
    n = make_index(inst, None, Reductions(), start.objective).n_routes
    lb, _, calls = _sized_run(inst, start, monkeypatch,
                              lambda k: max(1, n // 25) if k == 1 else max(2, n // 8))
    sizing = lb.stats["target_sizing"]
    second = sizing["second"]
    assert len(calls) == 2 and second["routes"] > sizing["routes"]
    assert second["target"] > sizing["target"]
    assert lb.value == pytest.approx(second["value"], rel=1e-8)
    assert lb.value > sizing["target"]
    assert below(lb.value, opt.objective)


@pytest.mark.parametrize("make", INSTANCES[:3])
def test_whole_model_when_the_time_suffices(make, monkeypatch):
    """With the real time model on a small instance (its closing's solves take
    milliseconds, so more routes are predicted than survive): the model fixed by U'
    itself goes to HiGHS (no target), and the number is ≤ the proven optimum."""
    inst = make()
    opt = proven_optimum(inst)
    start, _ = known_uppers(inst, opt.objective)
    if not start.feasible:
        pytest.skip("GH finds no plan to fix with")
    monkeypatch.setattr(bound_mod, "FIXED_MODEL_MAX_SURVIVORS", 0)
    monkeypatch.setattr(bound_mod, "SPEED_SOLVES", 1)
    lb, run = fixed_model_bound(inst, start.solution, time_limit_s=60.0, target_sizing=True)
    sizing = lb.stats["target_sizing"]
    assert sizing["whole"] and sizing["target"] is None and lb.stats["target"] is None
    assert lb.stats["highs_status"] != "not run"
    assert below(lb.value, opt.objective)
    assert run.feasible and run.objective <= start.objective * (1 + 1e-9)


@pytest.mark.parametrize("make", INSTANCES[:4])
def test_no_target_gives_the_closing_its_time(make, monkeypatch):
    """Where the sizing finds no target the result is the closing's L (HiGHS not run),
    still ≤ the proven optimum."""
    inst = make()
    opt = proven_optimum(inst)
    start, _ = known_uppers(inst, opt.objective)
    if not start.feasible:
        pytest.skip("GH finds no plan to fix with")
    lb, run, calls = _sized_run(inst, start, monkeypatch, lambda k: None)
    assert lb.stats["highs_status"] == "not run" and lb.method == "lagrangian"
    assert below(lb.value, opt.objective)
    assert lb.stats["target_sizing"]["routes"] is None and len(calls) == 1
    assert run.feasible and run.objective <= start.objective * (1 + 1e-9)


@pytest.mark.parametrize("make", INSTANCES)
def test_closing_resumed_with_more_separations_stays_a_bound(make):
    """A closing stopped after two rounds and resumed with the same U, B' tuning and two
    more separations of weighted covers: never above the optimum, never below the first
    phase."""
    inst = make()
    opt = proven_optimum(inst)
    _, uppers = known_uppers(inst, opt.objective)
    upper = uppers[-1]
    idx = make_index(inst, None, Reductions(), upper)
    lb = lagrangian_bound(inst, upper_bound=upper, index=idx, iterations=0, keep_master=True,
                          close=True, full_cover=False, cg_max_rounds=2, wcover_rounds=1)
    if lb.closing is None or not math.isfinite(lb.value):
        pytest.skip("no finished master solve to resume from")
    more = resume_closing(lb, upper, 30.0, wcover_rounds=2, wcover_per_row=2,
                          tuning=CLOSING_TUNING)
    assert below(more.value, opt.objective)
    assert more.value >= lb.value


def test_sizing_is_the_default_unless_a_route_count_is_given(monkeypatch):
    """``target_sizing=None`` (the default) sizes from the time left; an explicit
    ``target_routes`` keeps the fixed count (the sizing is not consulted)."""
    from hetserve.instances.generate import generate

    inst = generate((4, 4, 5), 0)
    start, _ = known_uppers(inst, proven_optimum(inst).objective)
    calls = []

    def sized(left_s, scale=1.0, *rates):  # type: ignore[no-untyped-def]
        calls.append(left_s)

    monkeypatch.setattr(bound_mod, "FIXED_MODEL_MAX_SURVIVORS", 0)
    monkeypatch.setattr(bound_mod, "sized_target_routes", sized)
    lb, _ = fixed_model_bound(inst, start.solution, time_limit_s=30.0)
    assert len(calls) == 1 and lb.stats["target_sizing"] is not None
    lb, _ = fixed_model_bound(inst, start.solution, time_limit_s=30.0, target_routes=50)
    assert len(calls) == 1 and lb.stats.get("target_sizing") is None


@pytest.mark.parametrize("make", INSTANCES)
def test_closing_cover_rows_keep_the_optimum(make):
    """The closing's weighted covers as rows over the complete model's columns (another
    index than the closing's): the proven optimum's plan satisfies every one."""
    from hetserve.milp.bound import closing_cover_rows
    from hetserve.milp.highs_model import build_arrays
    from hetserve.milp.solve import _start_vector

    inst = make()
    opt = proven_optimum(inst)
    _, uppers = known_uppers(inst, opt.objective)
    idx = make_index(inst, None, Reductions(), uppers[-1])
    lb = lagrangian_bound(inst, upper_bound=uppers[-1], index=idx, iterations=0,
                          keep_master=True, close=True, full_cover=False, wcover_rounds=6,
                          wcover_per_row=2)
    covers = lb.master.covers
    if covers is None or covers.n == 0:
        pytest.skip("no cover rows separated")
    am = build_arrays(inst, index=make_index(inst, None, Reductions.none(), None))
    A, lo = closing_cover_rows(am, covers, idx)
    assert A.shape == (covers.n, am.n_cols) and (lo <= 1.0).all()
    v = _start_vector(am, inst, opt.solution)
    assert (A @ v >= lo - 1e-9).all()


def _force_small_target(monkeypatch, n: int) -> None:  # type: ignore[no-untyped-def]
    """The target path on a small instance: every survivor count above the threshold, any
    gain worth a target, and a target model of a 25th of the ``n`` routes."""
    monkeypatch.setattr(bound_mod, "FIXED_MODEL_MAX_SURVIVORS", 0)
    monkeypatch.setattr(bound_mod, "TARGET_SIZING_MIN_GAIN", 0.0)
    monkeypatch.setattr(bound_mod, "sized_target_routes",
                        lambda left_s, scale=1.0, *rates: max(1, n // 25))


@pytest.mark.parametrize("make", INSTANCES)
def test_target_with_cover_rows_stays_below_the_optimum(make, monkeypatch):
    """``target_covers``: the target model with the closing's cover rows (a 25th of the
    routes, forced): the number is ≤ the proven optimum and ≥ the closing's L."""
    inst, opt, start, n = _optimum_and_start(make)
    _force_small_target(monkeypatch, n)
    lb, run = fixed_model_bound(inst, start.solution, time_limit_s=60.0, target_covers=True)
    if make is INSTANCES[-1]:  # 6x6x8 s1: rows separated, so HiGHS solved the model with them
        assert lb.stats["target"] is not None and lb.stats["target_cover_rows"] > 0
    assert below(lb.value, opt.objective)
    assert lb.value >= lb.stats["lagrangian"] - 1e-6 * max(1.0, abs(lb.value))
    assert run.feasible and run.objective <= start.objective * (1 + 1e-9)


def test_cover_rows_are_in_the_target_model_by_default(monkeypatch):
    """Since round 10 ``fixed_model_bound`` appends the closing's cover rows to the target
    model unless ``target_covers=False`` (results/milp/exact-r10-pairs/): on 6x6x8 s1 (rows
    separated) the default run has them, the run without has none, and both bound."""
    make = INSTANCES[-1]
    inst, opt, start, n = _optimum_and_start(make)
    _force_small_target(monkeypatch, n)
    default, _ = fixed_model_bound(inst, start.solution, time_limit_s=60.0)
    without, _ = fixed_model_bound(inst, start.solution, time_limit_s=60.0, target_covers=False)
    assert default.stats["target"] is not None and default.stats["target_cover_rows"] > 0
    assert not without.stats.get("target_cover_rows")
    assert below(default.value, opt.objective) and below(without.value, opt.objective)


@pytest.mark.parametrize("covers", [True, False])
def test_concurrent_closing_stays_a_bound(covers, monkeypatch):
    """``concurrent_closing``: HiGHS proves the target on a second thread while the closing
    goes on; the number is ≤ the proven optimum, ≥ the closing's L at the fork, and the
    run records the closing's final L (6x6x8 s1, the target path forced)."""
    make = INSTANCES[-1]
    inst, opt, start, n = _optimum_and_start(make)
    _force_small_target(monkeypatch, n)
    # a closing of one round and no support MIP, so that something is left to close when
    # the target model is built (round limits, not time: the same on any machine)
    monkeypatch.setattr(bound_mod, "lagrangian_bound",
                        functools.partial(bound_mod.lagrangian_bound, cg_max_rounds=1))
    monkeypatch.setattr(bound_mod, "SUPPORT_MIP_MIN_ROOM", math.inf)
    lb, run = fixed_model_bound(inst, start.solution, time_limit_s=20.0, target_covers=covers,
                                concurrent_closing=True)
    assert not lb.stats["closing_converged"]
    more = lb.stats["target_sizing"]["concurrent"]["closing_bound"]
    first = lb.stats["target_sizing"]["closing_more"]
    assert first is not None and first["rounds"] >= 1  # the closing went on
    assert lb.value >= more - 1e-6 * max(1.0, abs(more))
    assert below(lb.value, opt.objective)
    assert lb.value >= lb.stats["lagrangian"] - 1e-6 * max(1.0, abs(lb.value))
    assert run.feasible and run.objective <= start.objective * (1 + 1e-9)
