"""The evaluator recomputes costs by hand and names each broken constraint."""

import math

import numpy as np
import pytest

from hetserve.instances import Instance, evaluate, evaluate_arrays, relative_gap
from hetserve.instances.solution import Deployment, Route, Solution
from tests.helpers import query, round_gpu, round_model, tiny_instance


def _plan(inst: Instance, replicas: int, share: float, tp: int = 1) -> Solution:
    return Solution(
        (Deployment("M10", "G100", "fp16", tp, 1, replicas),),
        (Route("q", "M10", "G100", "fp16", tp, 1, share),) if share > 0 else ())


def test_cost_terms_by_hand():
    """Rental 24 h x $1 x 1 GPU x 2 replicas = $48; delay penalty 3600·24·ρ·λ·D·x; unmet
    penalty 3600·24·φ·λ·(1 − x)."""
    inst = tiny_instance(query_types=(query(rate=0.5, max_unmet=0.5, unmet_penalty=0.01,
                                            delay_penalty=1e-4),),
                         storage_price_per_gb_h=0.001)
    ev = evaluate(inst, _plan(inst, 2, 0.75))
    d = inst.routes.delay[0, inst.routes.index[inst.routes.configs[0]]]
    assert ev.cost.rental == pytest.approx(48.0)
    assert ev.cost.storage == pytest.approx(24 * 0.001 * 20.0)
    assert ev.cost.delay_penalty == pytest.approx(86400 * 1e-4 * 0.5 * d * 0.75)
    assert ev.cost.unmet_penalty == pytest.approx(86400 * 0.01 * 0.5 * 0.25)
    assert ev.feasible, ev.violations


def test_capacity_violation_is_named():
    inst = tiny_instance(query_types=(query(rate=1000.0),))
    ev = evaluate(inst, _plan(inst, 1, 1.0))
    assert not ev.feasible
    assert {v.kind for v in ev.violations} == {"capacity"}


def test_unmet_beyond_cap_and_error_and_budget():
    inst = tiny_instance(query_types=(query(rate=0.1, error=0.05, max_unmet=0.1),), budget=10.0)
    ev = evaluate(inst, _plan(inst, 1, 0.5))
    kinds = {v.kind for v in ev.violations}
    assert kinds == {"unmet", "error", "budget"}


def test_delay_and_memory_violations_on_unusable_routes():
    slow = tiny_instance(query_types=(query(delay=1.0),))
    ev = evaluate(slow, _plan(slow, 1, 1.0))
    assert "delay" in {v.kind for v in ev.violations}
    long_ctx = tiny_instance(models=(round_model(params_b=49.9),),
                             query_types=(query(prompt=90_000, output=100, delay=1e4),))
    ev = evaluate(long_ctx, _plan(long_ctx, 1, 1.0))
    assert "memory" in {v.kind for v in ev.violations}


def test_availability_and_parallelism():
    inst = tiny_instance(gpus=(round_gpu(),), availability={"G100": 2})
    plan = Solution((Deployment("M10", "G100", "fp16", 1, 1, 1),
                     Deployment("M10", "G100", "fp16", 2, 1, 1)), ())
    kinds = {v.kind for v in evaluate(inst, plan).violations}
    assert kinds == {"availability", "parallelism", "unmet"}
    multi = inst.replace(multi_parallelism=True, availability={"G100": 3},
                         query_types=(query(max_unmet=1.0),))
    assert evaluate(multi, plan).feasible


def test_single_placement():
    inst = tiny_instance(single_placement=True)
    plan = Solution((Deployment("M10", "G100", "fp16", 1, 1, 1),
                     Deployment("M10", "G100", "fp16", 2, 1, 1)),
                    (Route("q", "M10", "G100", "fp16", 1, 1, 0.5),
                     Route("q", "M10", "G100", "fp16", 2, 1, 0.5)))
    kinds = {v.kind for v in evaluate(inst.replace(multi_parallelism=True), plan).violations}
    assert kinds == {"single-placement"}


def test_arrays_and_names_agree():
    inst = tiny_instance()
    plan = _plan(inst, 1, 1.0)
    r, x = plan.to_arrays(inst)
    assert evaluate_arrays(inst, r, x).cost == evaluate(inst, plan).cost
    assert Solution.from_arrays(inst, r, x) == plan


def test_relative_gap_definition():
    assert relative_gap(100.0, 99.0) == pytest.approx(0.01)
    assert relative_gap(0.0, 0.0) == 0.0
    assert math.isinf(relative_gap(None, 1.0))
    assert math.isinf(relative_gap(0.0, -1.0))
    assert math.isinf(relative_gap(np.inf, 1.0))


def test_a_replica_no_engine_can_launch_is_a_warning_not_a_violation():
    """small-3x3x4 offers Phi-3-medium (10 KV heads) at TP 4 under the roofline: a plan that
    deploys it is priced and checked as before, and the evaluator warns that no engine can
    shard it; the TP 2 replica draws no warning."""
    from hetserve.instances import read_instance

    inst = read_instance("small-3x3x4")
    t = inst.routes
    for tp, warned in ((4, True), (2, False)):
        cfg = next(c for c in t.configs if c.model == "Phi-3-medium-4k-instruct" and c.tp == tp
                   and c.pp == 1)
        plan = Solution((Deployment(cfg.model, cfg.gpu, cfg.precision, tp, 1, 1),), ())
        ev = evaluate(inst, plan)
        assert bool(ev.warnings) is warned
        if warned:
            assert "10 KV heads" in ev.warnings[0] and cfg.label() in ev.warnings[0]
            assert ev.to_dict()["warnings"] == list(ev.warnings)
        assert all(v.kind != "parallelism" for v in ev.violations)
