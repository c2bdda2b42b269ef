"""The bundled ``tiny`` instance and its hand-checked optimum (benchmarks/make_bundled.py)."""

import math

import pytest

from benchmarks.make_bundled import tiny
from hetserve.instances import Config, read_instance
from hetserve.instances.result import Status
from hetserve.milp import MilpParams, solve


def test_bundled_tiny_matches_its_builder():
    assert read_instance("tiny") == tiny()


def test_tiny_optimum_by_hand():
    """Enumerate the plans by hand. L4 TP1 misses the 10 s SLO. Alone, a configuration c
    needs ⌈2 / μ_c⌉ replicas; the cheapest is 2 × L4 TP2 ($1.76/h). Any other plan either
    has one replica (only A10G TP2 serves 2 req/s alone, at $2.02/h) or has at least two
    replicas of which one is not L4 TP2 (≥ $0.88 + $1.01). So the optimum is 2 × L4 TP2
    and its cost is rental + storage + delay penalty."""
    inst = read_instance("tiny")
    t = inst.routes
    l4_tp1 = t.index[Config("Llama-3.1-8B-Instruct", "L4", "fp16", 1, 1)]
    assert not t.usable[0, l4_tp1], "L4 TP1 must miss the delay SLO"
    per_config = {}
    for c, cfg in enumerate(t.configs):
        if t.usable[0, c]:
            replicas = math.ceil(2.0 / t.capacity[0, c])
            per_config[(cfg.gpu, cfg.tp)] = (replicas, replicas * t.price_per_replica_hour[c], c)
    best = min(per_config, key=lambda k: per_config[k][1])
    assert best == ("L4", 2)
    replicas, dollars_per_hour, c = per_config[best]
    assert replicas == 2
    # Any mix of two different configurations costs at least the two cheapest replicas of
    # other configurations, which already exceeds 2 x L4 TP2.
    prices = sorted(t.price_per_replica_hour[per_config[k][2]] for k in per_config if k != best)
    assert prices[0] + t.price_per_replica_hour[c] > dollars_per_hour
    singles = [per_config[k][1] for k in per_config if per_config[k][0] == 1]
    assert all(cost > dollars_per_hour for cost in singles)
    model = inst.models[0]
    q = inst.query_types[0]
    expected = (24 * dollars_per_hour + 24 * inst.storage_price_per_gb_h * model.weight_gb_fp16
                + 86400 * q.delay_penalty * q.rate_per_s * t.delay[0, c])
    result = solve(inst, MilpParams())
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(expected, rel=1e-9)
    (dep,) = result.solution.deployments
    assert (dep.gpu, dep.tp, dep.replicas) == ("L4", 2, 2)
