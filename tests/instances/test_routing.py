"""The routing LP over a fixed fleet and the route-table helpers (instances/routing.py,
RouteTable.load / cap_to_capacity)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from hetserve.heuristics import gh
from hetserve.instances import evaluate_arrays
from hetserve.instances.generate import generate, paper_base
from hetserve.instances.routing import (
    RoutingData,
    cheapest_routes,
    price_per_rps,
    route_fleet,
    solve_routing,
)


@pytest.fixture(scope="module", params=["paper-base", "gen-6x6x10"])
def planned(request):
    inst = paper_base() if request.param == "paper-base" else generate((6, 6, 10), 1)
    r, x = gh(inst).solution.to_arrays(inst)
    return inst, r, x


def test_fixed_fleet_routing_is_priced_by_the_evaluator_and_beats_the_plans_own(planned):
    inst, r, x = planned
    routed = route_fleet(RoutingData.from_instance(inst), r, rho=inst.max_utilisation)
    assert routed is not None
    y = routed.full(len(inst.routes))
    ev = evaluate_arrays(inst, r, y)
    assert ev.feasible, ev.violations
    # LP objective (delay + unmet penalty) + the fleet's rental and storage = evaluator's total
    fleet = ev.cost.rental + ev.cost.storage
    assert fleet + routed.objective == pytest.approx(ev.objective, rel=1e-9)
    # the plan's own routing is a feasible point of the same LP, so it is never cheaper
    assert ev.objective <= evaluate_arrays(inst, r, x).objective * (1 + 1e-9)
    assert np.all(y[:, r == 0] == 0)


def test_fleet_without_capacity_for_the_minimum_service_is_infeasible():
    inst = paper_base()
    r = np.zeros(len(inst.routes))
    r[int(np.argmax(inst.routes.usable.any(axis=0)))] = 1  # one replica of one configuration
    data = RoutingData.from_instance(inst)
    assert route_fleet(data, r, rho=inst.max_utilisation) is None
    free = route_fleet(data, r, rho=inst.max_utilisation, unmet_upper=np.ones(data.n_types))
    assert free is not None and free.x.sum() < len(inst.query_types)


def test_load_and_cap_to_capacity(planned):
    inst, r, x = planned
    t = inst.routes
    load = t.load(x)
    assert load == pytest.approx((t.load_per_share * x).sum(axis=0), rel=1e-12, abs=1e-12)
    half = 0.5 * inst.max_utilisation * r
    capped, before = t.cap_to_capacity(x, half)
    assert np.array_equal(before, load)
    assert np.all(t.load(capped) <= half + 1e-9)
    under = load <= half
    assert np.array_equal(capped[:, under], x[:, under])


def test_cheapest_routes_minimise_price_per_rps():
    inst = generate((6, 6, 10), 1)
    best = cheapest_routes(inst)
    prices = price_per_rps(inst)
    for i, c in enumerate(best):
        row = prices[i] if np.isfinite(prices[i]).any() else price_per_rps(inst, meet_error=False)[i]
        assert c >= 0 and row[c] == row.min()


def _fluid_with_rows(inst):
    """A fluid routing LP on every configuration GH opened plus its neighbours, with a
    resource row (the plan's GPUs, halved) and the elastic unmet columns."""
    d = RoutingData.from_instance(inst)
    r, _ = gh(inst).solution.to_arrays(inst)
    cfgs = np.nonzero(r > 0)[0]
    cfgs = np.unique(np.concatenate([cfgs, np.minimum(cfgs + 1, len(r) - 1)]))
    gpus = np.array([float(inst.routes.gpus_per_replica[c]) for c in cfgs])
    rows = [(gpus, 0.5 * float(gpus @ r[cfgs]))]
    sol = solve_routing(d, cfgs, np.full(len(cfgs), np.inf), rho=inst.max_utilisation,
                        rent=inst.routes.price_per_replica_hour[cfgs], resource_rows=rows,
                        elastic_cost=10.0 * d.unmet_cost + 1.0)
    return sol, rows


def test_fluid_lp_keeps_its_resource_row_and_a_solve_does_not_depend_on_the_last(planned):
    inst, r, _ = planned
    first, rows = _fluid_with_rows(inst)
    assert first is not None
    coef, bound = rows[0]
    assert coef @ first.y <= bound * (1 + 1e-9)
    # a different LP solved in between (the fixed fleet), then the same LP again: HiGHS's
    # object is reused across routing LPs, so nothing of the last solve may carry over
    assert route_fleet(RoutingData.from_instance(inst), r, rho=inst.max_utilisation) is not None
    again, _ = _fluid_with_rows(inst)
    assert again is not None
    assert again.objective == first.objective
    assert np.array_equal(again.x, first.x) and np.array_equal(again.y, first.y)
    assert np.array_equal(again.demand_dual, first.demand_dual)
    # and on another thread (its own HiGHS object)
    with ThreadPoolExecutor(1) as pool:
        other, _ = pool.submit(_fluid_with_rows, inst).result()
    assert other is not None and np.array_equal(other.x, first.x)
