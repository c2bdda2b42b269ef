"""Mixed/solo (chunked prefill) configurations in the route table (docs/pd.md#mixed-solo)."""

import json
import math

import numpy as np
import pytest

from hetserve.heuristics.adaptive import agh
from hetserve.instances import InstanceError, evaluate
from hetserve.instances.generate import generate
from hetserve.instances.io import instance_from_dict
from hetserve.instances.iteration import mixed_solo_capacity
from hetserve.instances.mixed_solo import CHUNK_TOKENS, MixedSoloConfig, iteration_model
from hetserve.instances.solution import MixedSoloDeployment, Solution
from hetserve.milp.solve import MilpParams, solve
from hetserve.queueing.fluid import RequestClass, size_fluid
from tests.helpers import OBJ_RTOL, query, tiny_instance

BOTH = ("aggregated", "mixed-solo")


def _ms(inst):
    t = inst.routes
    ks = [k for k, cfg in enumerate(t.configs) if isinstance(cfg, MixedSoloConfig)]
    return t, ks


def test_default_instances_have_no_mixed_solo_configuration():
    inst = tiny_instance()
    assert not _ms(inst)[1]
    assert "deployment_modes" not in inst.to_dict()


def test_one_mixed_solo_configuration_by_hand_prefill_heavy():
    """Round 10B model on a G100 at TP1 (IDEAL constants): a = (2·10^10 + 2·10·1000·1000)
    / 10^14 s per prompt token; the decode core stays below a·C, so τ_mix = a·C; decode
    slots of the mixed GPUs absorb every output token once (B−1)·h/C ≥ f (B ≥ 53), so
    n*/Λ = h·τ/C = h·a and D = (⌈1000/512⌉ + 100)·τ."""
    inst = tiny_instance(query_types=(query(prompt=1000, output=100, delay=100.0),),
                         tp_degrees=(1,), deployment_modes=BOTH)
    t, ks = _ms(inst)
    assert len(ks) == 1 and t.configs[ks[0]] == MixedSoloConfig("M10", "G100", "fp16", 1, 1)
    k = ks[0]
    a = (2e10 + 2 * 10 * 1000 * 1000) / 1e14
    tau = a * CHUNK_TOKENS
    assert t.capacity[0, k] == pytest.approx(1 / (1000 * a), rel=1e-9)
    assert t.delay[0, k] == pytest.approx((2 + 100) * tau, rel=1e-9)
    assert t.batch[0, k] == 53  # smallest B without solo GPUs: 52·1000/512 ≥ 100
    assert t.usable[0, k] and t.gpus_per_replica[k] == 1


def test_one_mixed_solo_configuration_by_hand_decode_heavy():
    """Output-heavy type: solo GPUs needed at every B ≤ 256; beyond B ≈ 101 the decode step
    is compute bound (c = 2·10^10·B / 10^14), so c/B is flat and the leftover decode work
    shrinks with B: B* = 256 and n*/Λ = h·a + (f − 255·h/C)·c(256)/256."""
    inst = tiny_instance(query_types=(query(prompt=200, output=1000, delay=200.0),),
                         tp_degrees=(1,), deployment_modes=BOTH)
    t, (k,) = _ms(inst)
    a = (2e10 + 2 * 10 * 200 * 1000) / 1e14
    c256 = 2e10 * 256 / 1e14
    per_rps = 200 * a + (1000 - 255 * 200 / CHUNK_TOKENS) * c256 / 256
    assert t.batch[0, k] == 256
    assert t.capacity[0, k] == pytest.approx(1 / per_rps, rel=1e-9)
    # mean delay: one prefill chunk, then the token-weighted mean of τ_mix (the share
    # 255·200/(512·1000) of tokens made in mixed slots) and the solo step c(256)
    tau = a * CHUNK_TOKENS
    on_mixed = 255 * 200 / (CHUNK_TOKENS * 1000)
    assert t.delay[0, k] == pytest.approx(tau + 1000 * (on_mixed * tau + (1 - on_mixed) * c256),
                                          rel=1e-9)


def test_a_tight_slo_caps_the_batch_and_makes_the_route_unusable_below_its_least_delay():
    loose = tiny_instance(query_types=(query(prompt=200, output=1000, delay=200.0),),
                          tp_degrees=(1,), deployment_modes=BOTH)
    t, (k,) = _ms(loose)
    tight = loose.replace(query_types=(query(prompt=200, output=1000,
                                             delay=0.5 * float(t.delay_at_1[0, k])),))
    t2, (k2,) = _ms(tight)
    assert not t2.usable[0, k2]


@pytest.mark.parametrize("shape", [(1000, 100), (200, 1000), (3000, 400)])
def test_closed_form_capacity_equals_the_fluid_sizing_lp(shape):
    """n* of instances.iteration (what the route table uses) is the optimum of the fluid
    sizing LP of queueing.fluid on one class, with the configuration's own c, a, b₀."""
    h, f = shape
    inst = tiny_instance(query_types=(query(prompt=h, output=f, delay=1e4),), tp_degrees=(1,),
                         deployment_modes=BOTH)
    t, (k,) = _ms(inst)
    b = int(t.batch[0, k])
    it = iteration_model(inst, t.configs[k], 0, b)
    rate = 7.0
    lp = size_fluid([RequestClass("q", h, f, rate)], it, batch=b, chunk=CHUNK_TOKENS)
    assert lp.status == "optimal"
    assert lp.gpus_lp == pytest.approx(rate / t.capacity[0, k], rel=1e-6)
    closed = mixed_solo_capacity(it, h, f, batch=b, chunk=CHUNK_TOKENS)
    assert sum(lp.prefill_gpus) == pytest.approx(closed.mixed_gpus_per_rps * rate, rel=1e-6)


PARAMS = MilpParams(time_limit_s=60.0, mip_rel_gap=0.0, threads=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mixed_solo_optimum_is_never_worse_than_the_aggregated_optimum(seed):
    agg = generate((3, 3, 3), seed)
    both = agg.replace(deployment_modes=BOTH)
    assert any(isinstance(c, MixedSoloConfig) for c in both.routes.configs)
    a = solve(agg, PARAMS, seed=0)
    b = solve(both, PARAMS, seed=0, warm_start=agh(both, seed=0).solution)
    assert a.status == "optimal" and b.status == "optimal"
    ev = evaluate(both, b.solution)
    assert ev.feasible, ev.violations
    assert ev.objective == pytest.approx(b.stats["objective_solver"], rel=OBJ_RTOL)
    assert b.objective <= a.objective * (1 + 1e-6)
    same = evaluate(both, a.solution)
    assert same.feasible and same.objective == pytest.approx(a.objective, rel=1e-9)


def test_plans_with_mixed_solo_replicas_round_trip_through_json():
    inst = tiny_instance(query_types=(query(prompt=1000, output=100, delay=100.0),),
                         deployment_modes=BOTH)
    t, ks = _ms(inst)
    r = np.zeros(len(t), dtype=np.int64)
    x = np.zeros((1, len(t)))
    r[ks[0]], x[0, ks[0]] = 1, 0.1
    plan = Solution.from_arrays(inst, r, x)
    assert isinstance(plan.deployments[0], MixedSoloDeployment)
    back = Solution.from_dict(json.loads(json.dumps(plan.to_dict())))
    r2, x2 = back.to_arrays(inst)
    assert np.array_equal(r, r2) and np.array_equal(x, x2)
    # an aggregated-only instance refuses it, naming the mode
    with pytest.raises(InstanceError, match="mixed-solo"):
        back.to_arrays(inst.replace(deployment_modes=("aggregated",)))


def test_instance_files_accept_the_mode_and_reject_non_roofline_models():
    doc = tiny_instance(deployment_modes=BOTH).to_dict()
    assert doc["deployment_modes"] == list(BOTH)
    inst = instance_from_dict(doc)
    assert inst.deployment_modes == BOTH
    only = instance_from_dict({**doc, "deployment_modes": ["mixed-solo"]})
    assert all(isinstance(c, MixedSoloConfig) for c in only.routes.configs)
    with pytest.raises(InstanceError, match="deployment_modes"):
        instance_from_dict({**doc, "deployment_modes": ["mixed"]})
    with pytest.raises(InstanceError, match="roofline"):
        tiny_instance(deployment_modes=BOTH).replace(
            perf=tiny_instance().perf.__class__(model="serving"))
    assert math.isfinite(float(inst.routes.delay.max()))


def test_cli_solves_a_mixed_solo_instance_and_marks_its_plan_entries(tmp_path):
    import subprocess
    import sys

    from hetserve.instances.bundled import bundled_path
    from hetserve.instances.io import read_instance, write_instance

    path = tmp_path / "ms.json"
    write_instance(read_instance(bundled_path("tiny")).replace(deployment_modes=BOTH), path)
    out = subprocess.run([sys.executable, "-m", "hetserve.cli", "solve", str(path), "--method",
                          "agh", "--json"], capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    plan = Solution.from_dict(doc)
    assert any(isinstance(d, MixedSoloDeployment) for d in plan.deployments)
    assert evaluate(read_instance(path), plan).feasible
