"""Mixed/solo (chunked prefill) configurations in the route table (docs/pd.md#mixed-solo)."""

import json
import math

import numpy as np
import pytest

from hetserve.instances import InstanceError, evaluate
from hetserve.instances.io import instance_from_dict
from hetserve.instances.iteration import mixed_solo_capacity
from hetserve.instances.mixed_solo import CHUNK_TOKENS, MixedSoloConfig, iteration_model
from hetserve.instances.solution import MixedSoloDeployment, Solution
from hetserve.queueing.fluid import RequestClass, size_fluid
from tests.helpers import query, tiny_instance

BOTH = ("aggregated", "mixed-solo")


def _ms(inst):
    t = inst.routes
    ks = [k for k, cfg in enumerate(t.configs) if isinstance(cfg, MixedSoloConfig)]
    return t, ks


def test_default_instances_have_no_mixed_solo_configuration():
    inst = tiny_instance()
    assert not _ms(inst)[1]
    assert "deployment_modes" not in inst.to_dict()


def _by_hand(h, f, slo):
    """The mixed/solo route of the round 10B model on one G100 at TP1 (IDEAL constants,
    overheads ~0), from the catalog numbers: per prompt token a = (2·10^10 + 2·10·h·1000)
    / 10^14 s; a decode step with B sequences at context h + f/2 reads 2·10^10 B of weights
    and 4,000 B per token of each sequence's KV at 10^12 B/s, and computes 2·10^10 B FLOP
    at 10^14 FLOP/s: c(B) = max(memory, compute); the mixed step adds a·C of compute:
    τ(B) = max(memory, compute + a·C). Then n*/Λ, D and B* by enumeration (docs/pd.md)."""
    a = (2e10 + 2 * 10 * h * 1000) / 1e14
    best = None
    for b in range(2, 257):  # b_max = 256 (max_num_seqs; the KV holds far more)
        memory = (2e10 + b * 4000 * (h + f / 2)) / 1e12
        compute = 2e10 * b / 1e14
        c, tau = max(memory, compute), max(memory, compute + a * CHUNK_TOKENS)
        on_mixed = min(1.0, (b - 1) * h / (CHUNK_TOKENS * f))
        delay = math.ceil(h / CHUNK_TOKENS) * tau + f * (on_mixed * tau + (1 - on_mixed) * c)
        per_rps = h * tau / CHUNK_TOKENS + max(0.0, f - (b - 1) * h / CHUNK_TOKENS) * c / b
        if delay <= slo and (best is None or per_rps < best[1] * (1 - 1e-9)):
            best = (b, per_rps, delay)
    return best


@pytest.mark.parametrize(("h", "f", "slo"), [(1000, 100, 100.0), (200, 1000, 200.0),
                                             (200, 1000, 22.0)])
def test_one_mixed_solo_configuration_by_hand(h, f, slo):
    """Prefill-heavy (mixed slots absorb the decodes), decode-heavy (solo replicas needed),
    and decode-heavy under an SLO that caps B."""
    inst = tiny_instance(query_types=(query(prompt=h, output=f, delay=slo),),
                         tp_degrees=(1,), deployment_modes=BOTH)
    t, ks = _ms(inst)
    assert len(ks) == 1 and t.configs[ks[0]] == MixedSoloConfig("M10", "G100", "fp16", 1, 1)
    k = ks[0]
    b, per_rps, delay = _by_hand(h, f, slo)
    assert t.batch[0, k] == b
    assert t.capacity[0, k] == pytest.approx(1 / per_rps, rel=1e-6)
    assert t.delay[0, k] == pytest.approx(delay, rel=1e-6)
    assert t.usable[0, k] and t.gpus_per_replica[k] == 1


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




# the MILP optimum with mixed/solo is never worse than aggregated-only: tests/milp/test_pd.py


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


@pytest.mark.parametrize(("h", "f"), [(1000, 100), (200, 1000)])
def test_the_stochastic_mixed_solo_model_carries_the_planned_capacity(h, f):
    """20 replicas of one mixed/solo route in the paper's stochastic model
    (simulator.pd_control, gate-and-route with M = ⌈n·λ·n*_mixed⌉ mixed replicas, the
    route's own B and per-job rates): at 85 % of the route table's capacity μ the offered
    load is carried; flooded at 120 %, they deliver μ within 5 %."""
    from hetserve.simulator.pd_control import PlanTargets, SimClass, simulate_pd

    inst = tiny_instance(query_types=(query(prompt=h, output=f, delay=1e4),), tp_degrees=(1,),
                         deployment_modes=BOTH)
    t, (k,) = _ms(inst)
    b = int(t.batch[0, k])
    it = iteration_model(inst, t.configs[k], 0, b)
    mu = float(t.capacity[0, k])
    mixed_per_rps = mixed_solo_capacity(it, h, f, batch=b, chunk=CHUNK_TOKENS).mixed_gpus_per_rps
    r = it.rates(h, f, CHUNK_TOKENS)
    carried = []
    for load in (0.85, 1.2):
        lam = load * mu
        run = simulate_pd((SimClass("q", lam, r.prefill, r.mixed_decode, r.solo_decode, 0.0,
                                    decode_value=1.0),),
                          gpus=20, batch=b, policy="GG-SP",
                          targets=PlanTargets((min(1.0, lam * mixed_per_rps),), (0.0,)),
                          horizon_s=300.0, warmup_s=60.0, seed=1)
        carried.append(run.revenue_per_gpu_s)  # completions per replica per second
    assert carried[0] == pytest.approx(0.85 * mu, rel=0.03)
    assert carried[1] == pytest.approx(mu, rel=0.05)
