"""A discrete-event check of P/D units (simulator.pd) against the route table (docs/pd.md)."""

import numpy as np
import pytest

from hetserve.instances.bundled import bundled_path
from hetserve.instances.disagg import unit_times
from hetserve.instances.io import read_instance
from hetserve.simulator.pd import simulate_pd

UNITS = 2


@pytest.fixture(scope="module")
def unit():
    inst = read_instance(bundled_path("tiny")).replace(deployment_modes=("disaggregated",))
    t = inst.routes
    c = int(np.flatnonzero(t.usable[0])[0])
    return t, c, unit_times(inst, c, 0)


def _run(u, arrivals):
    return simulate_pd(arrivals, prefill_servers=UNITS * u.prefill_servers, t_pre=u.t_pre,
                       kv_servers=UNITS * u.kv_servers, t_kv=u.t_kv,
                       decode_replicas=UNITS * u.decode_replicas, max_batch=u.batch,
                       step_s=u.step_s, output_tokens=u.output_tokens)


def test_a_lone_request_takes_the_route_tables_latency_at_batch_one(unit):
    t, c, u = unit
    res = _run(u, np.arange(5) * 1000.0)
    assert res.finish_s - res.arrival_s == pytest.approx(np.full(5, t.delay_at_1[0, c]), rel=1e-9)


def test_below_capacity_demand_is_carried_within_the_planned_latency(unit):
    """At 80 % of the planned capacity the units keep up and the mean latency stays below
    D(b*): decode batches are smaller than b* most of the time (queueing included)."""
    t, c, u = unit
    lam = 0.8 * UNITS * t.capacity[0, c]
    arrivals = np.cumsum(np.random.default_rng(1).exponential(1 / lam, 1500))
    res = _run(u, arrivals)
    assert res.throughput_rps == pytest.approx(lam, rel=0.05)
    assert t.delay_at_1[0, c] < res.mean_latency_s <= t.delay[0, c]


def test_overloaded_units_saturate_at_the_planned_capacity(unit):
    """min(prefill, decode at b*, KV) is what the units deliver when flooded."""
    t, c, u = unit
    lam = 1.5 * UNITS * t.capacity[0, c]
    arrivals = np.cumsum(np.random.default_rng(2).exponential(1 / lam, 1500))
    res = _run(u, arrivals)
    assert res.throughput_rps == pytest.approx(UNITS * t.capacity[0, c], rel=0.03)
