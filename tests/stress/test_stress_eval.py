"""Stress semantics: exact at inflation 1.0, hand-checked shedding, monotone violations,
re-routing never worse than frozen routing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hetserve.instances import InstanceError, Solution, evaluate
from hetserve.instances.solution import Deployment, Route
from hetserve.instances.stress import random_inflation, stress_arrays, stress_evaluate
from tests.helpers import query, round_model, tiny_instance


def test_inflation_one_reproduces_nominal_exactly(plans):
    for label, inst, method, sol in plans:
        ev = evaluate(inst, sol)
        assert ev.feasible, (label, method)
        o = stress_evaluate(inst, sol)
        assert o.total == ev.objective, (label, method)
        assert (o.rental, o.storage, o.delay_penalty, o.unmet_penalty) == (
            ev.cost.rental, ev.cost.storage, ev.cost.delay_penalty, ev.cost.unmet_penalty)
        assert o.violation_rate == 0.0
        # an explicitly rebuilt copy at factor 1.0 gives the same numbers
        r, x = sol.to_arrays(inst)
        o2 = stress_arrays(inst, inst.inflated(delay=1.0, error=1.0, demand=1.0), r, x)
        assert o2.total == ev.objective and o2.violation_rate == 0.0
        lam = np.array([q.rate_per_s for q in inst.query_types])
        unmet = np.array([ev.unmet[q.name] for q in inst.query_types])
        assert o.unmet_rate == pytest.approx(float(lam @ unmet) / lam.sum(), abs=1e-12)


GRID = [round(1.0 + 0.05 * k, 2) for k in range(11)]


@pytest.mark.parametrize("kind", ["delay", "error", "demand", "joint"])
def test_violation_monotone_in_each_factor(plans, kind):
    for label, inst, method, sol in plans:
        prev = prev_total = -1.0
        for g in GRID:
            kw = {"delay": g, "error": g} if kind == "joint" else {kind: g}
            o = stress_evaluate(inst, sol, **kw)
            assert o.violation_rate >= prev - 1e-9, (label, method, kind, g)
            assert o.violation_rate_total >= prev_total - 1e-9
            assert math.isclose(o.violation_rate, o.violation_delay + o.violation_capacity
                                + o.violation_error, abs_tol=1e-12)
            assert 0.0 <= o.violation_rate <= 1.0 + 1e-12
            prev, prev_total = o.violation_rate, o.violation_rate_total


def test_reroute_never_worse_than_frozen(plans):
    rng = np.random.default_rng(3)
    for label, inst, method, sol in plans:
        points = [{"delay": g, "error": g} for g in (1.0, 1.1, 1.2, 1.3, 1.5)]
        points += [{"demand": 1.3}, {"delay": 1.5}, {"error": 1.5}]
        points += [random_inflation(inst, rng) for _ in range(3)]
        for kw in points:
            fz = stress_evaluate(inst, sol, recourse="frozen", **kw)
            rr = stress_evaluate(inst, sol, recourse="reroute", **kw)
            assert rr.recourse == "reroute"
            assert rr.total <= fz.total * (1 + 1e-12), (label, method, kw)
            assert rr.rental == fz.rental and rr.storage == fz.storage
        # at nominal parameters the LP cannot find anything worse than the plan itself
        assert stress_evaluate(inst, sol, recourse="reroute").total <= evaluate(inst, sol).objective


def _one_route(rate: float, replicas: int, **qkw):
    inst = tiny_instance(query_types=(query(rate=rate, **qkw),), tp_degrees=(1,))
    sol = Solution((Deployment("M10", "G100", "fp16", 1, 1, replicas),),
                   (Route("q", "M10", "G100", "fp16", 1, 1, 1.0),))
    return inst, sol


def test_capacity_shedding_by_hand():
    inst, _ = _one_route(1.0, 1)
    mu = float(inst.routes.capacity[0, 0])
    inst, sol = _one_route(0.8 * mu, 1, unmet_penalty=0.01)
    assert evaluate(inst, sol).feasible
    o = stress_evaluate(inst, sol, demand=1.5)  # u = 1.2: 1 − 1/1.2 of the traffic is lost
    assert o.violation_capacity == pytest.approx(1 - 1 / 1.2)
    assert o.violation_rate == o.violation_capacity
    lam = 1.5 * 0.8 * mu
    assert o.unmet_penalty == pytest.approx(86400 * 0.01 * lam * (1 - 1 / 1.2))
    # delay inflation: the capacity drops to the inflated table's μ'
    od = stress_evaluate(inst, sol, delay=1.3)
    mu2 = float(inst.inflated(delay=1.3).routes.capacity[0, 0])
    assert od.violation_capacity == pytest.approx(max(0.0, 1 - mu2 / (0.8 * mu)))
    assert od.per_type[0].mean_delay_s == pytest.approx(
        float(inst.inflated(delay=1.3).routes.delay[0, 0]))


def test_delay_violation_when_route_unusable():
    inst, sol = _one_route(0.01, 1)
    d1 = float(inst.routes.delay_at_1[0, 0])
    inst, sol = _one_route(0.01, 1, delay=1.1 * d1)
    assert evaluate(inst, sol).feasible
    assert stress_evaluate(inst, sol, delay=1.05).violation_rate == 0.0
    o = stress_evaluate(inst, sol, delay=1.2)
    assert o.violation_delay == 1.0 and o.violation_capacity == 0.0


def test_error_shedding_worst_route_first_by_hand():
    """Two models of error 0.1 and 0.3, SLO 0.2, traffic split 50/50 (mean 0.2). At γ_e
    = 1.2 the errors are 0.12 and 0.36: keep a of the 0.36 route with
    (0.06 + 0.36 a)/(0.5 + a) = 0.2 → a = 0.04/0.16 = 0.25, so 0.25 is shed."""
    inst = tiny_instance(query_types=(query(rate=0.01, error=0.2, unmet_penalty=0.01),),
                         models=(round_model("A", error=0.1), round_model("B", error=0.3)),
                         tp_degrees=(1,))
    sol = Solution((Deployment("A", "G100", "fp16", 1, 1, 1),
                    Deployment("B", "G100", "fp16", 1, 1, 1)),
                   (Route("q", "A", "G100", "fp16", 1, 1, 0.5),
                    Route("q", "B", "G100", "fp16", 1, 1, 0.5)))
    assert evaluate(inst, sol).feasible
    o = stress_evaluate(inst, sol, error=1.2)
    assert o.violation_error == pytest.approx(0.25)
    assert o.per_type[0].mean_error == pytest.approx(0.2)
    assert o.per_type[0].served == pytest.approx(0.75)
    # re-routing moves everything to the low-error model (capacity allows it): no violation
    rr = stress_evaluate(inst, sol, error=1.2, recourse="reroute")
    assert rr.violation_rate == pytest.approx(0.0, abs=1e-9)
    assert rr.total < o.total


def test_reroute_classifies_lp_shortfall():
    """A deployment too small for the inflated demand: the LP serves what fits; the rest is
    violated (capacity) since the plan had no planned unmet."""
    inst, _ = _one_route(1.0, 1)
    mu = float(inst.routes.capacity[0, 0])
    inst, sol = _one_route(0.9 * mu, 1, unmet_penalty=0.01)
    rr = stress_evaluate(inst, sol, demand=2.0, recourse="reroute")
    fz = stress_evaluate(inst, sol, demand=2.0)
    assert rr.violation_capacity == pytest.approx(fz.violation_capacity, rel=1e-6)
    assert rr.unmet_rate == 0.0
    assert rr.total == pytest.approx(fz.total, rel=1e-5)  # the LP keeps FEAS_TOL/2 slack


def test_random_inflation_and_bad_input():
    inst = tiny_instance(query_types=(query("a"), query("b")))
    f = random_inflation(inst, np.random.default_rng(0), 1.0, 1.5, kinds=("delay",))
    assert len(f["delay"]) == 2 and all(1.0 <= v <= 1.5 for v in f["delay"])
    assert f["error"] == (1.0, 1.0) and f["demand"] == (1.0, 1.0)
    g = random_inflation(inst, np.random.default_rng(0), 1.0, 1.5, kinds=("delay", "error"))
    assert g["delay"] == f["delay"]  # the same seed draws the same delay factors
    with pytest.raises(InstanceError, match="kinds"):
        random_inflation(inst, np.random.default_rng(0), kinds=("latency",))
    sol = Solution.empty()
    with pytest.raises(InstanceError, match="recourse"):
        stress_evaluate(inst, sol, recourse="magic")
    with pytest.raises(InstanceError, match="delay"):
        stress_evaluate(inst, sol, delay=[1.0])
    with pytest.raises(InstanceError, match="error"):
        stress_evaluate(inst, sol, error=0.0)
    # an empty plan: everything is planned unmet, nothing violated
    o = stress_evaluate(inst, sol, delay=1.5)
    assert o.violation_rate == 0.0 and o.unmet_rate == 1.0


def test_per_type_factors(plans):
    _, inst, _, sol = plans[0]
    n = len(inst.query_types)
    o = stress_evaluate(inst, sol, delay=[1.0] * n, error=[1.0] * n)
    assert o.total == evaluate(inst, sol).objective
    bump = [1.0] * n
    bump[0] = 1.5
    ob = stress_evaluate(inst, sol, delay=bump)
    assert ob.delay == tuple(bump)
    for k in range(1, n):  # other types keep their nominal delay penalty share
        assert ob.per_type[k].violated_delay == 0.0
