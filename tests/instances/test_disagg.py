"""GPU use per configuration (RouteTable.gpu_use) and disaggregated prefill/decode configurations."""

import json
import subprocess
import sys

import numpy as np
import pytest

from hetserve.instances import Instance, InstanceError, Tier, evaluate
from hetserve.instances.bundled import bundled_path
from hetserve.instances.disagg import PdConfig, pd_metrics
from hetserve.instances.io import instance_from_dict, read_instance
from hetserve.instances.solution import Deployment, PdDeployment, Solution
from tests.helpers import IDEAL, query, round_gpu, tiny_instance


def test_gpu_use_of_aggregated_configs_is_tp_times_pp_on_their_own_type():
    inst = read_instance(bundled_path("paper-base"))
    t = inst.routes
    for c, cfg in enumerate(t.configs):
        row = t.gpu_use[c]
        g = next(k for k, gpu in enumerate(inst.gpus) if gpu.name == cfg.gpu)
        assert row[g] == cfg.tp * cfg.pp
        assert row.sum() == cfg.tp * cfg.pp == t.gpus_per_replica[c]
    assert not t.gpu_use.flags.writeable


def test_evaluator_counts_gpus_by_type_from_gpu_use():
    inst = tiny_instance(gpus=(round_gpu("G100"), round_gpu("G200", price=2.0)),
                         tiers=(Tier("G100", "fp16"), Tier("G200", "fp16")),
                         availability={"G100": 3, "G200": 64})
    plan = Solution((Deployment("M10", "G100", "fp16", 2, 1, 2),
                     Deployment("M10", "G200", "fp16", 1, 1, 3)), ())
    ev = evaluate(inst, plan)
    assert ev.gpus_by_type == {"G100": 4, "G200": 3}
    assert [(v.kind, v.subject, v.amount) for v in ev.violations
            if v.kind == "availability"] == [("availability", "G100", 1)]
    assert np.array_equal(inst.routes.gpu_use.sum(axis=0) > 0, [True, True])


# ---------------------------------------------------------------- P/D configurations
IDEAL_PD = IDEAL  # every efficiency 1, overheads ~0: the hand computation below is exact


def _pd_instance(**kw: object) -> Instance:
    args: dict[str, object] = dict(
        query_types=(query(rate=9.0, prompt=1000, output=100, delay=2.3, delay_penalty=1e-4),),
        gpus=(round_gpu("G100"), round_gpu("G200", price=2.0)),
        tiers=(Tier("G100", "fp16"), Tier("G200", "fp16")), tp_degrees=(1,), pp_degrees=(1,),
        deployment_modes=("disaggregated",), pd_ratios=((1, 2),), perf=IDEAL_PD)
    args.update(kw)
    return tiny_instance(**args)


def _hand(h: float, f: float, slo: float, n_p: int, n_d: int, link_bw: float,
          link_lat: float) -> dict[str, float]:
    """The P/D unit of docs/pd.md on round_gpu/round_model at TP1 PP1, by hand: 10B dense
    fp16 (W = 20 GB), 10 layers, hidden 1,000, 4,000 B of KV per token, 100 TFLOP/s,
    1,000 GB/s."""
    P, L, H, W, kv = 10e9, 10, 1000, 20e9, 4000.0
    t_pre = max((2 * P * h + 2 * L * h**2 * H) / 100e12, W / 1000e9)
    t_kv = link_lat + kv * h / link_bw
    ctx = h + f / 2

    def t_dec(b: int) -> float:
        return max((W + b * kv * ctx) / 1000e9, 2 * P * b / 100e12)

    b = max(b for b in range(1, 257) if t_pre + t_kv + f * t_dec(b) <= slo)
    return {"prefill": t_pre, "kv": t_kv, "batch": b, "delay": t_pre + t_kv + f * t_dec(b),
            "mu_pre": n_p / t_pre, "mu_dec": n_d * b / (f * t_dec(b)),
            "mu_kv": min(n_p, n_d) * link_bw / (kv * h)}


def _pd_index(inst: Instance, gp: str, gd: str) -> int:
    return inst.routes.index[PdConfig("M10", gp, "fp16", 1, 1, gd, 1, 1, 1, 2)]


def test_pd_unit_capacity_and_latency_match_the_hand_computation():
    inst = _pd_instance()
    t = inst.routes
    assert len(t) == 4 and all(isinstance(cfg, PdConfig) for cfg in t.configs)
    # same type, 3 GPUs in one 8-GPU node: the GPU's own 100 GB/s link, 10 µs
    same = _hand(1000, 100, 2.3, 1, 2, 100e9, 10e-6)
    # two GPU types: the network, 50 GB/s and 20 µs (PerfConstants defaults)
    cross = _hand(1000, 100, 2.3, 1, 2, 50e9, 20e-6)
    metrics = pd_metrics(inst, list(t.configs))
    for (gp, gd), hand in (((("G100", "G100")), same), (("G100", "G200"), cross)):
        c = _pd_index(inst, gp, gd)
        assert t.batch[0, c] == hand["batch"]
        assert t.delay[0, c] == pytest.approx(hand["delay"], rel=1e-9)
        assert metrics["kv_transfer"][0, c] == pytest.approx(hand["kv"], rel=1e-6)
        assert metrics["prefill_capacity"][0, c] == pytest.approx(hand["mu_pre"], rel=1e-9)
        assert metrics["decode_capacity"][0, c] == pytest.approx(hand["mu_dec"], rel=1e-9)
        assert metrics["kv_capacity"][0, c] == pytest.approx(hand["mu_kv"], rel=1e-9)
        mu = min(hand["mu_pre"], hand["mu_dec"], hand["mu_kv"])
        assert t.capacity[0, c] == pytest.approx(mu, rel=1e-9)
    assert same["batch"] == 104 and same["mu_pre"] < same["mu_dec"]  # prefill-bound unit
    c = _pd_index(inst, "G100", "G200")
    assert t.price_per_replica_hour[c] == pytest.approx(1.0 + 2 * 2.0)
    assert list(t.gpu_use[c]) == [1, 2]


def test_evaluator_checks_a_small_pd_plan_by_hand():
    inst = _pd_instance(availability={"G100": 8, "G200": 3})
    c = _pd_index(inst, "G100", "G200")
    cfg = inst.routes.configs[c]
    hand = _hand(1000, 100, 2.3, 1, 2, 50e9, 20e-6)
    mu = min(hand["mu_pre"], hand["mu_dec"], hand["mu_kv"])
    plan = Solution.from_arrays(inst, np.eye(1, len(inst.routes), c)[0] * 2,
                                np.eye(1, len(inst.routes), c))
    assert isinstance(plan.deployments[0], PdDeployment) and plan.deployments[0].gpus == 6
    ev = evaluate(inst, plan)
    # 9 req/s on two units of μ = 1/t_pre each: load 9/μ replicas over 2
    assert ev.utilisation[cfg.label()] == pytest.approx(9.0 / mu / 2, rel=1e-9)
    assert ev.gpus_by_type == {"G100": 2, "G200": 4}
    assert [(v.kind, v.subject, v.amount) for v in ev.violations] == [("availability", "G200", 1)]
    assert ev.cost.rental == pytest.approx(24 * 2 * (1.0 + 2 * 2.0))
    assert ev.cost.delay_penalty == pytest.approx(86400 * 1e-4 * 9.0 * hand["delay"], rel=1e-9)
    one = evaluate(inst, Solution.from_arrays(inst, np.eye(1, len(inst.routes), c)[0],
                                              np.eye(1, len(inst.routes), c)))
    assert {v.kind for v in one.violations} == {"capacity"}  # 9 req/s > one unit's μ ≈ 5
    with pytest.raises(InstanceError, match="deployment_modes exclude 'disaggregated'"):
        plan.to_arrays(inst.replace(deployment_modes=("aggregated",)))
    again = Solution.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again == plan
    r, x = again.to_arrays(inst)
    assert r[c] == 2 and x[0, c] == 1.0


def test_pd_options_default_off_and_round_trip():
    inst = read_instance(bundled_path("tiny"))
    assert inst.deployment_modes == ("aggregated",)
    assert "deployment_modes" not in inst.to_dict()
    assert not any(isinstance(cfg, PdConfig) for cfg in inst.routes.configs)
    both = inst.replace(deployment_modes=("aggregated", "disaggregated"), pd_ratios=((1, 1),))
    back = instance_from_dict(json.loads(json.dumps(both.to_dict())))
    assert back.deployment_modes == both.deployment_modes and back.pd_ratios == ((1, 1),)
    t = both.routes
    assert t.configs[: len(inst.routes)] == inst.routes.configs  # aggregated first, unchanged
    assert np.array_equal(t.capacity[:, : len(inst.routes)], inst.routes.capacity)


@pytest.mark.parametrize("field,value", [("deployment_modes", ["split"]),
                                         ("deployment_modes", []),
                                         ("pd_ratios", [[0, 1]]), ("pd_ratios", [[1, 2, 3]]),
                                         # repeated: every P/D configuration twice (regression)
                                         ("pd_ratios", [[1, 1], [1, 1]])])
def test_bad_pd_options_name_the_field(field, value):
    doc = read_instance(bundled_path("tiny")).to_dict()
    doc[field] = value
    with pytest.raises(InstanceError) as err:
        instance_from_dict(doc)
    assert field in str(err.value)


def test_cli_solves_and_evaluates_a_pd_instance(tmp_path):
    """Through the real CLI: one JSON document whose plan names P/D units, which `evaluate`
    accepts; a bad option is exit 2 with one line naming the field."""
    doc = read_instance(bundled_path("tiny")).to_dict()
    doc["deployment_modes"] = ["aggregated", "disaggregated"]
    path = tmp_path / "pd.json"
    path.write_text(json.dumps(doc))
    cli = [sys.executable, "-m", "hetserve.cli"]
    done = subprocess.run([*cli, "solve", str(path), "--json", "--out", str(tmp_path / "plan.json")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["feasible"] and any("decode_gpu" in d for d in out["deployments"])
    again = subprocess.run([*cli, "evaluate", str(path), str(tmp_path / "plan.json"), "--json"],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["cost"]["total"] == pytest.approx(out["cost"]["total"])
    doc["pd_ratios"] = [[1, 0]]
    path.write_text(json.dumps(doc))
    bad = subprocess.run([*cli, "solve", str(path)], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "pd_ratios[0][1]" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_pd_units_require_the_roofline_model():
    """P/D units are costed with the roofline kernels; mixing them with another
    performance model's aggregated routes is refused, naming the field."""
    from hetserve.instances.performance import PerfConstants

    inst = read_instance(bundled_path("tiny"))
    with pytest.raises(InstanceError, match="deployment_modes"):
        inst.replace(deployment_modes=("aggregated", "disaggregated"),
                     perf=PerfConstants(model="serving"))
    assert inst.replace(perf=PerfConstants(model="serving")).deployment_modes == ("aggregated",)
