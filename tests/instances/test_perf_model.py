"""One performance-model interface: roofline (default, unchanged), serving, measured."""

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from hetserve.instances import performance as roofline
from hetserve.instances.catalog import load_catalog
from hetserve.instances.errors import InstanceError
from hetserve.instances.io import instance_from_dict, read_instance
from hetserve.instances.perf_model import (
    Deployment,
    MeasuredModel,
    QueryShapes,
    RooflineModel,
    ServingModel,
    performance_model,
    with_selection,
)
from hetserve.instances.profiles import read_profile
from hetserve.instances.serving import ENGINES, Replica
from hetserve.queueing.profiles import from_catalog


@pytest.fixture(scope="module")
def base():
    return read_instance("paper-base")


def serving_instance(inst, engine="vllm"):
    return replace(inst, perf=with_selection(inst.perf, model="serving", engine=engine))


def test_roofline_is_the_default_and_its_routes_are_the_kernels(base):
    """The RouteTable under the default model is the roofline kernel, called as before."""
    assert isinstance(performance_model(base.perf), RooflineModel)
    t = base.routes
    c = base.perf
    models, gpus = base.model_by_name, base.gpu_by_name
    precs = {p.name: p for p in base.precisions}
    k = len(t) // 2
    cfg = t.configs[k]
    mod, gpu, prec = models[cfg.model], gpus[cfg.gpu], precs[cfg.precision]
    for i, q in enumerate(base.query_types):
        perf = roofline.route_performance(mod, gpu, prec, cfg.tp, cfg.pp, q.prompt_tokens,
                                          q.output_tokens, q.delay_slo_s, c)
        assert t.delay[i, k] == perf.delay_s
        assert t.batch[i, k] == perf.batch
        assert t.capacity[i, k] == perf.capacity_rps


def test_same_instance_under_serving_gives_the_serving_routes(base):
    inst = serving_instance(base, "sglang")
    t, r = inst.routes, base.routes
    assert t.configs == r.configs  # the same configurations, other numbers
    k = next(k for k, cfg in enumerate(t.configs) if cfg.tp == 2 and cfg.pp == 1 and t.fits[0, k])
    cfg = t.configs[k]
    dep = Deployment(inst.model_by_name[cfg.model], inst.gpu_by_name[cfg.gpu],
                     {p.name: p for p in inst.precisions}[cfg.precision], cfg.tp, cfg.pp)
    model = ServingModel("sglang")
    rep = model.replica(dep)
    q = inst.query_types[0]
    b = t.batch[0, k]
    assert t.delay[0, k] == pytest.approx(
        q.delay_factor * float(model.round_time(rep, q.prompt_tokens, q.output_tokens, b)))
    assert t.capacity[0, k] == pytest.approx(b / t.delay[0, k])
    assert not np.allclose(t.delay[t.fits], r.delay[t.fits])


def test_serving_round_time_by_hand():
    """D(b) of the steady closed loop (instances/perf_model.py docstring), hand-built."""
    cat = load_catalog("latest")
    mod, gpu = cat.models["Llama-3.1-8B-Instruct"], cat.gpus["H100-SXM"]
    h, f = 3000.0, 100.0
    chunked = Replica(mod, gpu, "fp16", "fp16", 1, 1, ENGINES["vllm"])
    b = 8.0
    steps = f  # decode-bound: 8 * 3100 / 8192 = 3.03 budget-full steps < 100 decode steps
    attention = b * chunked.attention_flops(h, 0) / steps
    step = chunked.step_time(b * (h + f) / steps, b * (h + f / 2), attention, b)
    assert ServingModel("vllm").round_time(chunked, h, f, b) == pytest.approx(steps * step)
    # Budget-bound: 400 sequences need 400 * 3100 / 8192 = 151.4 steps > 100.
    b = 400.0
    steps = b * (h + f) / 8192
    assert steps == pytest.approx(151.37, abs=0.01)
    step = chunked.step_time(8192.0, b * (h + f / 2), b * chunked.attention_flops(h, 0) / steps, b)
    assert ServingModel("vllm").round_time(chunked, h, f, b) == pytest.approx(steps * step)
    # Prefill-first: f decode steps of b sequences plus n_p = max(1, b h / B) prefill steps.
    pf = Replica(mod, gpu, "fp16", "fp16", 1, 1, ENGINES["sglang"])
    b = 2.0
    decode = pf.step_time(b, b * (h + f / 2), 0.0, b)
    prefill = pf.step_time(b * h, 0.0, b * pf.attention_flops(h, 0), b)  # n_p = 1 (6000 < 8192)
    assert ServingModel("sglang").round_time(pf, h, f, b) == pytest.approx(f * decode + prefill)


def test_serving_round_time_respects_the_host_ceiling():
    """A round of b sequences takes at least b / host_max_rate (serving.host_ceiling)."""
    cat = load_catalog("latest")
    mod, gpu = cat.models["Llama-3.1-8B-Instruct"], cat.gpus["H100-SXM"]
    trt = ENGINES["trtllm"]
    free = Replica(mod, gpu, "fp16", "fp16", 8, 1, replace(trt, host_max_rps=float("inf"),
                                                           host_max_tok_s=float("inf")))
    capped = replace(free, engine=trt)
    model = ServingModel("trtllm")
    h, f = 1024.0, 128.0
    # TP8, 128 sequences of 128 output tokens: the GPUs alone would finish them faster than
    # the 36 requests per second the TensorRT-LLM host side completes (9,200 tok/s / 128 =
    # 71.9 does not bind): the round takes 128 / 36 s.
    b = 128.0
    assert model.round_time(free, h, f, b) < b / 36.0
    assert model.round_time(capped, h, f, b) == pytest.approx(b / 36.0)
    # One sequence is GPU-bound: the ceiling does not bind and nothing changes.
    assert model.round_time(capped, h, f, 1.0) == model.round_time(free, h, f, 1.0)


def test_serving_operating_point_meets_the_slo_and_is_maximal():
    cat = load_catalog("latest")
    dep = Deployment(cat.models["Llama-3.1-8B-Instruct"], cat.gpus["H100-SXM"],
                     cat.precisions["fp16"], 1, 1)
    shapes = QueryShapes(prompt=np.array([[1000.0]]), output=np.array([[200.0]]),
                         slo=np.array([[8.0]]), delay_factor=np.array([[1.0]]))
    model = ServingModel("vllm")
    out = model.route_metrics(shapes, [dep])
    b = int(out["batch"][0, 0])
    rep = model.replica(dep)
    assert out["fits"][0, 0] and 1 < b < out["max_batch"][0, 0]
    assert model.round_time(rep, 1000.0, 200.0, b) <= 8.0 < model.round_time(rep, 1000.0, 200.0, b + 1)
    # KV by actual tokens: a sequence holds 1000 + 200/2 tokens on average.
    assert out["max_batch"][0, 0] == min(rep.kv_capacity_tokens // 1100, ENGINES["vllm"].max_num_seqs)


def test_measured_model_uses_the_profile_refuses_outside_and_falls_back(tmp_path):
    header = "model,gpu,precision,tp,pp,engine,isl,osl,concurrency,ttft_ms,tpot_ms\n"
    rows = [f"Llama-3.1-8B-Instruct,H100-SXM,bf16,1,1,vllm,{isl},{osl},{c},{100 + c},{10 + c / 4}"
            for isl in (1000, 2000) for osl in (100, 200) for c in (4, 8, 16)]
    path = tmp_path / "p.csv"
    path.write_text(header + "\n".join(rows) + "\n")
    cat = load_catalog("latest")
    mod, gpu = cat.models["Llama-3.1-8B-Instruct"], cat.gpus["H100-SXM"]
    covered = Deployment(mod, gpu, cat.precisions["fp16"], 1, 1)  # fp16 tier <- bf16 runs
    other = Deployment(mod, gpu, cat.precisions["fp16"], 2, 1)
    shapes = QueryShapes(prompt=np.array([[1000.0], [1000.0], [5000.0]]),
                         output=np.array([[100.0], [100.0], [100.0]]),
                         slo=np.array([[100.0], [1.25], [100.0]]),
                         delay_factor=np.ones((3, 1)))
    model = MeasuredModel(read_profile(path), "vllm")
    out = model.route_metrics(shapes, [covered, other])
    # Loose SLO: the largest measured concurrency; its delay is the measured e2e.
    assert out["batch"][0, 0] == 16
    assert out["delay"][0, 0] == pytest.approx(0.116 + 99 * 0.014)
    # SLO 1.25 s: measured e2e 1.193 s at C=4 and 1.296 s at C=8, so b* lies in [4, 8)
    # (log-interpolated), the largest integer that meets it.
    b = out["batch"][1, 0]
    assert 4 <= b < 8 and out["delay"][1, 0] <= 1.25
    # A prompt outside the measured 1000-2000: refused, the route does not fit.
    assert not out["fits"][2, 0]
    # TP2 is not in the profile: the serving model answers.
    serving = ServingModel("vllm").route_metrics(shapes, [other])
    np.testing.assert_array_equal(out["delay"][:, 1], serving["delay"][:, 0])


def test_pool_profiles_go_through_the_selected_model():
    base = from_catalog("Llama-3.1-8B-Instruct", "H100-SXM", "fp16")
    assert (base.block_size, base.chunk) == (16, 512)  # the roofline's defaults, as before
    c = roofline.PerfConstants(model="serving", engine="sglang")
    prof = from_catalog("Llama-3.1-8B-Instruct", "H100-SXM", "fp16", constants=c)
    e = ENGINES["sglang"]
    assert (prof.block_size, prof.chunk) == (e.kv_block_tokens, e.token_budget)
    cat = load_catalog("latest")
    rep = Replica(cat.models["Llama-3.1-8B-Instruct"], cat.gpus["H100-SXM"], "fp16", "fp16", 1, 1, e)
    t1 = rep.step_time(1.0, 8192.0, 0.0, 1.0)
    t2 = rep.step_time(2.0, 16384.0, 0.0, 2.0)
    assert pytest.approx(t2 - t1) == prof.H
    assert pytest.approx(2 * t1 - t2) == prof.W
    assert prof.total_kv_blocks == rep.kv_capacity_tokens // e.kv_block_tokens
    assert prof.name.endswith("/serving-sglang") and not base.name.endswith("roofline-vllm")


def test_perf_block_selects_the_model_and_round_trips(base):
    doc = base.to_dict()
    assert "model" not in doc["perf"]  # a roofline instance's JSON is what it was
    doc["perf"] = {"model": "serving", "engine": "trtllm"}
    inst = instance_from_dict(doc)
    assert inst.perf.model == "serving" and inst.perf.engine == "trtllm"
    assert instance_from_dict(inst.to_dict()).perf == inst.perf
    for bad, where in (({"model": "magic"}, "perf.model"), ({"model": "serving", "engine": "x"},
                                                             "perf.engine"),
                       ({"model": "measured"}, "perf.profile")):
        doc["perf"] = bad
        with pytest.raises(InstanceError) as err:
            instance_from_dict(doc)
        assert err.value.field == where


def run(*args):
    return subprocess.run([sys.executable, "-m", "hetserve.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_cli_perf_model_flags(tmp_path):
    bad = run("solve", "paper-base", "--perf-model", "measured")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--perf-profile" in bad.stderr
    plan = tmp_path / "plan.json"
    out = run("solve", "paper-base", "--method", "gh", "--perf-model", "serving", "--json",
              "--out", str(plan))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["feasible"]
    # The plan checks out under the model it was made for (evaluate reads the same flags).
    check = run("evaluate", "paper-base", str(plan), "--perf-model", "serving", "--json")
    assert check.returncode == 0, check.stderr
    doc = json.loads(check.stdout)
    assert doc["feasible"] and doc["cost"]["total"] == json.loads(out.stdout)["cost"]["total"]


def test_serving_marks_routes_whose_tp_breaks_a_head_unfit():
    """small-3x3x4 has Phi-3-medium (40 query heads, 10 KV heads) at TP 1, 2, 4 and 8: the
    roofline keeps every configuration; the serving model lets TP 1 and 2 fit and marks
    TP 4 and 8 unfit (10 KV heads split over 4 or 8 ranks), whatever the query type."""
    inst = read_instance("small-3x3x4")
    served = serving_instance(inst).routes
    phi = {cfg.tp for k, cfg in enumerate(served.configs)
           if cfg.model == "Phi-3-medium-4k-instruct" and served.fits[:, k].any()}
    assert phi == {1, 2}
    roof = inst.routes
    assert {cfg.tp for k, cfg in enumerate(roof.configs)
            if cfg.model == "Phi-3-medium-4k-instruct" and roof.fits[:, k].any()} >= {4, 8}


def test_kv_precision_selects_the_serving_cache(base):
    """perf.kv_precision fp8 halves the serving model's cache per token: every fitting route
    holds more sequences (max_batch grows, up to the engine's cap); the roofline refuses it,
    and the JSON carries the field only when it is not the fp16 default."""
    fp16 = serving_instance(base)
    fp8 = replace(fp16, perf=with_selection(fp16.perf, kv_precision="fp8"))
    a, b = fp16.routes, fp8.routes
    both = a.fits & b.fits
    assert both.any()
    assert (b.max_batch[both] >= a.max_batch[both]).all()
    assert (b.max_batch[both] > a.max_batch[both]).any()
    assert "kv_precision" not in fp16.to_dict()["perf"]
    assert fp8.to_dict()["perf"]["kv_precision"] == "fp8"
    assert instance_from_dict(fp8.to_dict()).perf == fp8.perf
    with pytest.raises(InstanceError) as err:
        with_selection(base.perf, kv_precision="fp8")
    assert err.value.field == "--kv-precision"
    doc = base.to_dict()
    doc["perf"] = {"kv_precision": "fp8"}
    with pytest.raises(InstanceError) as err:
        instance_from_dict(doc)
    assert err.value.field == "perf.kv_precision"
