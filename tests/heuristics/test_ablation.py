"""Each ablation switch changes behaviour as documented (docs/heuristics.md §5).

The instances are built so that the mechanism matters; each test first checks that
premise on the route table, then the documented effect.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hetserve.heuristics import AghParams, GhParams, agh, gh
from hetserve.instances import Instance, Status, Tier
from tests.helpers import IDEAL, query, round_gpu, round_model


def _configs(inst: Instance, tp: int) -> int:
    return next(k for k, c in enumerate(inst.routes.configs) if c.tp == tp)


def _one_deployment(*queries) -> Instance:
    return Instance(name="abl", query_types=tuple(queries), models=(round_model(),),
                    gpus=(round_gpu(),), tiers=(Tier("G100", "fp16"),), tp_degrees=(1, 2, 4),
                    pp_degrees=(1,), perf=IDEAL)


def _slo_between_tp1_and_tp2(**kw) -> float:
    probe = _one_deployment(query(**kw))
    d1 = probe.routes.delay_at_1[0]
    c1, c2 = _configs(probe, 1), _configs(probe, 2)
    assert d1[c2] < d1[c1]
    return float((d1[c1] + d1[c2]) / 2)


def test_without_m1_the_smallest_config_breaks_the_latency_slo():
    # A light type: one TP1 replica would carry it if latency did not matter, and it is
    # half the price of a TP2 replica, so without the filter M2 happily picks it. (A
    # heavy type is rescued by M2/M3 without M1: an SLO-violating route runs at b = 1,
    # so its capacity is tiny and its cost per request high; see docs §5.)
    slo = _slo_between_tp1_and_tp2(rate=0.1, prompt=1000, output=400)
    inst = _one_deployment(query(rate=0.1, prompt=1000, output=400, delay=slo))
    t = inst.routes
    assert not t.usable[0, _configs(inst, 1)] and t.usable[0, _configs(inst, 2)]
    full = gh(inst)
    assert full.status == Status.FEASIBLE
    ablated = gh(inst, GhParams(use_m1=False))
    assert ablated.status == Status.INFEASIBLE
    assert "delay" in {v.kind for v in ablated.evaluation.violations}
    assert any(d.tp == 1 for d in ablated.solution.deployments)
    # AGH's local search only adds share to usable routes, so it cannot repair it either
    assert agh(inst, AghParams(use_m1=False)).status == Status.INFEASIBLE


def test_without_m1_memory_violation_when_the_kv_cache_does_not_fit():
    # 19.9 GB weights on a 20 GB GPU: TP1 holds the weights but not the 0.2 GB KV cache
    # of one 50k-token sequence
    model = round_model(params_b=9.95)
    long = query(rate=0.01, prompt=50_000, output=100, delay=1e4)
    inst = Instance(name="mem", query_types=(long,), models=(model,),
                    gpus=(round_gpu(memory_gb=20.0),), tiers=(Tier("G100", "fp16"),),
                    tp_degrees=(1, 2, 4, 8), pp_degrees=(1,), perf=IDEAL)
    t = inst.routes
    c1 = _configs(inst, 1)
    assert not t.fits[0, c1] and t.usable[0].any()
    assert gh(inst).status == Status.FEASIBLE
    ablated = gh(inst, GhParams(use_m1=False))
    assert "memory" in {v.kind for v in ablated.evaluation.violations}


def test_without_m3_a_tight_type_cannot_join_the_active_deployment():
    slo = _slo_between_tp1_and_tp2(rate=0.2, prompt=1000, output=400)
    loose = query("loose", rate=1.0, prompt=1000, output=400, delay=10 * slo)
    tight = query("tight", rate=0.2, prompt=1000, output=400, delay=slo)
    inst = _one_deployment(loose, tight)
    t = inst.routes
    c1, c2 = _configs(inst, 1), _configs(inst, 2)
    assert t.usable[0, c1] and not t.usable[1, c1] and t.usable[1, c2]
    with_m3 = gh(inst)
    assert with_m3.status == Status.FEASIBLE
    assert with_m3.stats["steps"]["upgrade"] >= 1
    without = gh(inst, GhParams(use_m3=False))
    assert without.status == Status.INFEASIBLE
    assert without.evaluation.unmet["tight"] == 1.0
    assert any("'tight'" in line for line in without.diagnosis)
    # AGH without M3 recovers here through its multi-start: an order that places the
    # tight type first opens the deployment at TP2 (documented in docs §5)
    multi = agh(inst, AghParams(use_m3=False))
    assert multi.status == Status.FEASIBLE
    assert not multi.stats["best_start"].startswith("rate-desc")
    only_gh_order = agh(inst, AghParams(use_m3=False, orders=("rate-desc",), random_starts=0))
    assert only_gh_order.status == Status.INFEASIBLE


def test_without_m2_raw_price_ranking_costs_more():
    # "slow": $1/h; "fast": $1.5/h with 10x the bandwidth and compute
    slow = round_gpu("slow", price=1.0)
    fast = replace(round_gpu("fast", price=1.5), bandwidth_gb_s=10_000.0, fp16_tflops=1000.0,
                   int8_tops=2000.0)
    inst = Instance(name="m2", query_types=(query(rate=20.0, delay=30.0),),
                    models=(round_model(),), gpus=(slow, fast),
                    tiers=(Tier("slow", "fp16"), Tier("fast", "fp16")), tp_degrees=(1,),
                    pp_degrees=(1,), perf=IDEAL)
    t = inst.routes
    per_rps = t.price_per_replica_hour / t.capacity[0]
    assert per_rps[1] < per_rps[0] and t.price_per_replica_hour[0] < t.price_per_replica_hour[1]
    full, ablated = gh(inst), gh(inst, GhParams(use_m2=False))
    assert full.status == ablated.status == Status.FEASIBLE
    assert ablated.objective > 1.2 * full.objective
    assert {d.gpu for d in ablated.solution.deployments} == {"slow"}


def test_ablation_switches_reach_every_start():
    p = AghParams(use_m1=False, use_m2=False, use_m3=False)
    g = p.gh_params("rate-asc")
    assert (g.use_m1, g.use_m2, g.use_m3, g.order) == (False, False, False, "rate-asc")
    assert np.all([o != "tp_upgrade" for o in p.active_operators])
