"""The serving model (hetserve.instances.serving): hand-computed terms and load behaviour."""

import math
from dataclasses import replace

import pytest

from hetserve.instances import GpuType, ModelSpec, load_catalog
from hetserve.instances.catalog import TASK_CATEGORIES
from hetserve.instances.errors import InstanceError
from hetserve.instances.serving import (
    ENGINES,
    Case,
    DoesNotFit,
    Replica,
    ServingConstants,
    closed_loop,
    closed_network_mva,
    desync_ttft,
    estimate_case,
    host_ceiling,
    host_max_rate,
    host_wait_open,
    ttft_poisson,
)

GPU = GpuType(name="Toy", memory_gb=80, bandwidth_gb_s=1000, fp16_tflops=100, int8_tops=200,
              gpus_per_node=8, price_per_gpu_hour=1.0, link_gb_s=100, link_latency_us=10)
# 8 query heads of 100 (attention 800 wide, as Qwen3's differs from its hidden size), so
# that TP 1–8 shard whole heads; one KV head of 100: KV = 4,000 B/token.
MODEL = ModelSpec(name="toy-10b", params_b=10, active_params_b=10, layers=10, hidden=1000,
                  kv_heads=1, head_dim=100, max_context=100_000, attention_heads=8,
                  errors={c: 0.1 for c in TASK_CATEGORIES})
IDEAL = ServingConstants(gemm_efficiency_fp16=1.0, gemm_efficiency_low=1.0,
                         bandwidth_efficiency=1.0, allreduce_hop_us=1.0,
                         allreduce_bandwidth_efficiency=1.0, runtime_reserve_gb=1.0)
ENGINE = replace(ENGINES["vllm"], step_overhead_s=0.001)


def toy(tp=1, engine=ENGINE, kv="fp16", weights="fp16"):
    return Replica(MODEL, GPU, weights, kv, tp, 1, engine, IDEAL)


def test_decode_step_is_one_weight_read_plus_overhead():
    # 10e9 params * 2 B / 1e12 B/s = 20 ms; compute 2*10e9/1e14 = 0.2 ms is hidden.
    assert toy().step_time(1, 0) == pytest.approx(0.020 + 0.001)


def test_prefill_step_is_compute_bound():
    # 2 * 10e9 * 10_000 / 1e14 = 2 s > 20 ms of weight reads.
    assert toy().step_time(10_000, 0) == pytest.approx(2.0 + 0.001)
    # Causal attention of 10k tokens: 4 * L * (8 heads * 100) * h * h/2 = 1.6e12 FLOP
    # -> 16 ms more.
    attn = toy().attention_flops(10_000, 0)
    assert attn == pytest.approx(4 * 10 * 800 * 10_000 * 5_000)
    assert toy().step_time(10_000, 0, attn) == pytest.approx(2.0 + 0.016 + 0.001)


def test_tp_adds_allreduce_latency_that_grows_with_the_group():
    # TP2: two all-reduces per layer, each 10 us link + 2*(2-1)*1 us ring steps
    # + 2*(1/2)*2000 B / 100 GB/s; weights read split over 2 GPUs.
    ar2 = 12e-6 + 2000 / 100e9
    assert toy(tp=2).step_time(1, 0) == pytest.approx(0.010 + 2 * 10 * ar2 + 0.001)
    # TP8: 10 + 14 us per all-reduce.
    ar8 = 24e-6 + 2 * 7 / 8 * 2000 / 100e9
    assert toy(tp=8).step_time(1, 0) == pytest.approx(0.0025 + 2 * 10 * ar8 + 0.001)


def test_allreduce_bandwidth_efficiency_slows_only_the_bandwidth_term():
    # 1 MB at TP4 over a 100 GB/s link: latency 10 + 2*3*1 = 16 us, plus
    # 2*3/4 * 1e6 B / (100 GB/s * eta); eta = 0.5 doubles the second term only.
    half = Replica(MODEL, GPU, "fp16", "fp16", 4, 1, ENGINE,
                   replace(IDEAL, allreduce_bandwidth_efficiency=0.5))
    assert float(toy(tp=4).allreduce_s(1e6)) == pytest.approx(16e-6 + 1.5e6 / 100e9)
    assert float(half.allreduce_s(1e6)) == pytest.approx(16e-6 + 1.5e6 / 50e9)
    assert float(half.allreduce_s(0.0)) == pytest.approx(16e-6)
    with pytest.raises(InstanceError):
        ServingConstants(allreduce_bandwidth_efficiency=0.0)


def test_kv_capacity_by_engine_memory_policy_and_kv_dtype():
    # vLLM: 0.90 of 80 GB - 20 GB weights - 1 GB reserve = 51 GB; 4,000 B per token fp16.
    tokens = 51e9 / 4000
    assert toy().kv_capacity_tokens == pytest.approx(tokens, abs=16)
    assert toy().kv_capacity_tokens % 16 == 0
    # An fp8 cache halves the bytes per token, doubling the tokens.
    assert toy(kv="fp8").kv_capacity_tokens == pytest.approx(2 * tokens, abs=16)
    # TensorRT-LLM: 0.90 of the memory left after the weights, minus the reserve.
    trt = replace(ENGINES["trtllm"], step_overhead_s=0.001)
    assert toy(engine=trt).kv_capacity_tokens == pytest.approx((0.9 * 60e9 - 1e9) / 4000, abs=32)


def test_fp8_uses_the_fp8_peak_only_where_the_gpu_has_it():
    cat = load_catalog("latest")
    model = cat.models["Llama-3.1-8B-Instruct"]
    h100 = Replica(model, cat.gpus["H100-SXM"], "fp8")
    a100 = Replica(model, cat.gpus["A100-80GB"], "fp8")
    assert h100.native_precision and h100.gemm_peak[0] == pytest.approx(1978.9e12)
    # A100 has no FP8 tensor cores: weight-only fallback at the fp16 peak, 1 byte/weight.
    assert not a100.native_precision
    assert a100.gemm_peak == (312e12, ServingConstants().gemm_efficiency_fp16)
    assert a100.weight_bytes == pytest.approx(8.03e9)


def test_single_client_sees_one_prefill_then_decode_steps():
    rep = toy()
    isl, osl = 2000, 3
    est = closed_loop(rep, isl, osl, concurrency=1, requests_per_client=1)
    prefill = rep.step_time(isl, 0, rep.attention_flops(isl, 0), 1)
    assert est.ttft_s == pytest.approx(prefill)
    decode = [rep.step_time(1, isl + g, 0.0, 1) for g in (1, 2)]
    assert est.tpot_s == pytest.approx(sum(decode) / 2)
    assert est.e2e_s == pytest.approx(prefill + sum(decode))
    assert est.output_tok_s_per_gpu == pytest.approx(osl / est.e2e_s)


def test_ttft_grows_with_the_prefills_queued_ahead():
    rep = toy()
    alone = closed_loop(rep, 4096, 64, 1, requests_per_client=4).ttft_s
    crowded = closed_loop(rep, 4096, 64, 16, requests_per_client=4).ttft_s
    # 16 prompts of 4,096 tokens share a 8,192-token budget: most wait for others'.
    assert crowded > 3 * alone


def test_kv_exhaustion_queues_clients():
    # 0.9 * 27.8 GB - 20 GB weights - 1 GB = 4 GB of KV: 1M tokens, 200 full sequences of 5,000.
    small = GpuType(name="Small", memory_gb=25.0 / 0.9, bandwidth_gb_s=1000, fp16_tflops=100,
                    int8_tops=200, gpus_per_node=8, price_per_gpu_hour=1.0)
    rep = Replica(MODEL, small, "fp16", "fp16", 1, 1, ENGINE, IDEAL)
    assert rep.kv_capacity_tokens == pytest.approx(4e9 / 4000, abs=16)
    fits = closed_loop(rep, 4000, 1000, 100, requests_per_client=2)
    over = closed_loop(rep, 4000, 1000, 400, requests_per_client=2)
    assert fits.peak_running == 100 and fits.preemptions == 0
    # Every client holds a sequence: the desynchronised steady state applies. When the
    # pool cannot hold all clients, requests queue for memory and the simulation's TTFT
    # (which times that queue) is kept.
    assert fits.ttft_law == "desync" and over.ttft_law == "simulated"
    assert over.ttft_s == over.ttft_simulated_s
    # Pages follow actual tokens: more than 200 run at once, but never more than the
    # 250 whose prompts alone fill the pool; the other clients queue.
    assert 200 < over.peak_running <= 250
    assert over.ttft_s > 5 * fits.ttft_s


def test_reserve_admission_never_preempts():
    trt = replace(ENGINES["trtllm"], step_overhead_s=0.001)
    small = GpuType(name="Small", memory_gb=30, bandwidth_gb_s=1000, fp16_tflops=100,
                    int8_tops=200, gpus_per_node=8, price_per_gpu_hour=1.0)
    rep = Replica(MODEL, small, "fp16", "fp16", 1, 1, trt, IDEAL)
    est = closed_loop(rep, 2000, 2000, 200, requests_per_client=2)
    assert est.preemptions == 0
    assert est.peak_running <= rep.kv_capacity_tokens // 4000


def test_does_not_fit_is_reported_not_raised_by_estimate_case():
    out = estimate_case(Case("Llama-3.1-70B-Instruct", "L4", "fp16", 1, 1, 1024, 128, 8, "vllm"))
    assert out.estimate is None and "memory" in out.reason
    with pytest.raises(DoesNotFit):
        closed_loop(Replica(load_catalog("latest").models["Llama-3.1-70B-Instruct"],
                            load_catalog("latest").gpus["L4"]), 1024, 128, 8)


@pytest.mark.parametrize("bad", [dict(engine="tgi"), dict(precision="fp3"), dict(kv_precision="int4")])
def test_bad_names_raise_instance_error(bad):
    fields = dict(model="Llama-3.1-8B-Instruct", gpu="H100-SXM", precision="fp16", tp=1, pp=1,
                  isl=128, osl=16, concurrency=1, engine="vllm")
    fields.update(bad)
    with pytest.raises(InstanceError):
        estimate_case(Case(**fields))


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_poisson_ttft_rises_with_load_and_saturates(name):
    rep = toy(engine=replace(ENGINES[name], step_overhead_s=0.001))
    light = ttft_poisson(rep, 1000, 100, 0.01)
    # At vanishing load: half a decode step plus the prompt's own step.
    assert light.stable
    own = rep.step_time(1000, 0, rep.attention_flops(1000, 0), 1)
    assert light.ttft_s == pytest.approx(own + rep.step_time(1, 1050, 0, 1) / 2, rel=0.05)
    rates = [0.5, 1.0, 2.0]
    ttfts = [ttft_poisson(rep, 1000, 100, r).ttft_s for r in rates]
    assert ttfts == sorted(ttfts) and ttfts[-1] > ttfts[0]
    # 1,000-token prompts at 0.2 s each: more than 5/s cannot be served.
    heavy = ttft_poisson(rep, 1000, 100, 6.0)
    assert not heavy.stable and math.isinf(heavy.ttft_s)


def test_ttft_under_load_in_performance_is_the_serving_model():
    from hetserve.instances.performance import ttft_under_load

    cat = load_catalog("latest")
    model, gpu = cat.models["Llama-3.1-8B-Instruct"], cat.gpus["H100-SXM"]
    rep = Replica(model, gpu, "fp8", "fp16", 1, 1, ENGINES["sglang"])
    assert ttft_under_load(model, gpu, "fp8", 1, 1, 2048, 256, rate_rps=3.0, engine="sglang") \
        == pytest.approx(ttft_poisson(rep, 2048, 256, 3.0).ttft_s)
    assert ttft_under_load(model, gpu, "fp8", 1, 1, 2048, 256, concurrency=8, engine="sglang") \
        == pytest.approx(closed_loop(rep, 2048, 256, 8).ttft_s)
    with pytest.raises(InstanceError):
        ttft_under_load(model, gpu, "fp8", 1, 1, 2048, 256)


def test_mla_cache_is_one_latent_per_layer_replicated_across_tp():
    cat = load_catalog("latest")
    ds = cat.models["DeepSeek-V3"]
    # 61 layers x 576 latent elements x 2 bytes.
    assert ds.kv_bytes_per_token == 61 * 576 * 2
    b200 = cat.gpus["B200"]
    rep = Replica(ds, b200, "fp8", "fp8", 8, 1, ENGINES["vllm"])
    # Every TP rank holds the whole latent: the pool is one GPU's free memory in tokens.
    free = 0.90 * 180e9 - 671e9 / 8 - 1e9
    assert rep.kv_capacity_tokens == pytest.approx(free / (61 * 576), abs=16)


def test_gqa_kv_heads_are_replicated_once_tp_exceeds_them():
    cat = load_catalog("latest")
    qwen = cat.models["Qwen3-30B-A3B"]  # 4 KV heads
    gpu = cat.gpus["H100-SXM"]
    tp4 = Replica(qwen, gpu, "bf16", "fp16", 4, 1, ENGINES["vllm"])
    tp8 = Replica(qwen, gpu, "bf16", "fp16", 8, 1, ENGINES["vllm"])
    assert tp4.kv_shards == 4 and tp8.kv_shards == 4
    # TP8 has twice the free memory but the same per-GPU bytes per token: ~2x the tokens.
    assert tp8.kv_capacity_tokens / tp4.kv_capacity_tokens == pytest.approx(
        (0.9 * 80e9 - 61e9 / 8 - 1e9) / (0.9 * 80e9 - 61e9 / 4 - 1e9), rel=1e-3)


def test_engine_settings_cap_the_running_sequences():
    from hetserve.instances.profiles import AnalyticServing
    from hetserve.instances.serving import engines_with

    c = Case("Llama-3.1-8B-Instruct", "H100-SXM", "bf16", 1, 1, 1024, 64, 16, "vllm")
    capped = AnalyticServing(engines_with(max_num_seqs=4, token_budget=2048)).estimate(c)
    free = AnalyticServing().estimate(c)
    assert engines_with(max_num_seqs=4)["sglang"].max_num_seqs == 4
    assert engines_with(token_budget=2048)["trtllm"].token_budget == 2048
    assert capped.estimate.peak_running <= 4 < free.estimate.peak_running
    # Twelve of sixteen clients wait for a free slot: TTFT grows by whole generations.
    assert capped.estimate.ttft_s > 3 * free.estimate.ttft_s


def test_client_delay_is_seeded_and_adds_latency():
    rep = toy()
    base = closed_loop(rep, 1000, 20, 4, requests_per_client=3)
    a = closed_loop(rep, 1000, 20, 4, requests_per_client=3, client_delay_s=0.05, seed=1)
    b = closed_loop(rep, 1000, 20, 4, requests_per_client=3, client_delay_s=0.05, seed=1)
    assert a == b
    # Arrivals spread out: fewer prompts share a step, so the first token comes sooner.
    assert a.ttft_s < base.ttft_s


def test_client_length_spread_is_seeded_and_exact_lengths_are_the_default():
    """``range_ratio`` draws prompt and output lengths from [int(n r), n] as
    benchmark_serving's random dataset does (docs/performance-history.md, "Round 8")."""
    rep = toy()
    fixed = closed_loop(rep, 1000, 20, 4, requests_per_client=3, ttft_law="simulated")
    assert closed_loop(rep, 1000, 20, 4, requests_per_client=3, ttft_law="simulated",
                       range_ratio=1.0) == fixed
    a = closed_loop(rep, 1000, 20, 4, requests_per_client=3, ttft_law="simulated",
                    range_ratio=0.5, seed=2)
    b = closed_loop(rep, 1000, 20, 4, requests_per_client=3, ttft_law="simulated",
                    range_ratio=0.5, seed=2)
    assert a == b and a.requests == 12
    # Prompts of 500-1,000 tokens (mean 750) prefill sooner than 1,000-token ones.
    assert a.ttft_simulated_s < fixed.ttft_simulated_s
    # Throughput counts the mean output length, (10 + 20) / 2 = 15 tokens.
    assert a.output_tok_s_per_gpu == pytest.approx(4 * 15 / a.e2e_s)
    for bad in (0.0, 1.5):
        with pytest.raises(InstanceError):
            closed_loop(rep, 1000, 20, 4, range_ratio=bad)


def test_2026_rows_are_in_the_latest_edition_only():
    default, latest = load_catalog(), load_catalog("latest")
    assert "B200" not in default.gpus and "DeepSeek-V3" not in default.models
    assert set(default.gpus) < set(latest.gpus) and set(default.models) < set(latest.models)
    assert default.gpus["H100-SXM"] == latest.gpus["H100-SXM"]
    with pytest.raises(InstanceError):
        load_catalog("2025-01")


def test_shipped_allreduce_latency_on_h100_nvlink():
    """The shipped 2 us per ring step on top of the 8 us NVLink latency (docs/performance.md):
    a 2(n-1)-step ring gives 8 + 2*1*2 = 12 us at TP2 and 8 + 2*7*2 = 36 us at TP8."""
    cat = load_catalog("latest")
    model, h100 = cat.models["Llama-3.1-8B-Instruct"], cat.gpus["H100-SXM"]
    assert ServingConstants().allreduce_hop_us == 2.0
    for tp, latency_us in ((1, 0.0), (2, 12.0), (4, 20.0), (8, 36.0)):
        rep = Replica(model, h100, "bf16", "fp16", tp, 1)
        assert float(rep.allreduce_s(0.0)) == pytest.approx(latency_us * 1e-6)
    # One token's 2*4096-byte activations add 2(n-1)/n * 8192 B at the all-reduce bus
    # bandwidth, 0.81 of NVLink4's 450 GB/s (nccl-tests, docs/performance.md), at TP8.
    assert ServingConstants().allreduce_bandwidth_efficiency == 0.81
    rep8 = Replica(model, h100, "bf16", "fp16", 8, 1)
    assert float(rep8.allreduce_s(8192.0)) == pytest.approx(36e-6 + 1.75 * 8192 / (0.81 * 450e9))


# ------------------------------------------------------------ TTFT under load (desync law)
def test_first_requests_are_the_simulated_start_up_burst():
    # Two clients send a 1,000-token prompt at t = 0; both fit the 8,192-token budget, so
    # one step prefills both and each first token comes at the end of that step.
    rep = toy()
    est = closed_loop(rep, 1000, 20, concurrency=2, requests_per_client=3)
    both = rep.step_time(2000, 0.0, 2 * rep.attention_flops(1000, 0.0), 2)
    assert est.ttft_first_s == pytest.approx(both)


def test_desync_ttft_is_poisson_at_the_loop_throughput_plus_the_completion_wait():
    # C = 4 clients completing a request every e2e = 2 s: X = 2 requests/s.
    step = toy()
    assert desync_ttft(step, 1000, 100, 4, 2.0) == pytest.approx(
        ttft_poisson(step, 1000, 100, 2.0).ttft_s)
    # TensorRT-LLM waits for the next completion: one interval e2e / C = 0.5 s more.
    trt = toy(engine=replace(ENGINES["trtllm"], step_overhead_s=0.001))
    assert trt.engine.first_token_wait == "completion"
    assert desync_ttft(trt, 1000, 100, 4, 2.0) == pytest.approx(
        ttft_poisson(trt, 1000, 100, 2.0, host=False).ttft_s + 0.5)
    # An overloaded steady state has no desynchronised TTFT.
    assert math.isinf(desync_ttft(step, 1000, 100, 400, 1.0))


@pytest.mark.parametrize("name", ["vllm", "trtllm"])
def test_closed_loop_ttft_mixes_the_burst_and_the_steady_state(name):
    # R = 4 requests per client: the first from the burst, three desynchronised.
    rep = toy(engine=replace(ENGINES[name], step_overhead_s=0.001))
    isl, osl, C, R = 1000, 20, 4, 4
    est = closed_loop(rep, isl, osl, C, requests_per_client=R)
    assert est.ttft_law == "desync"
    e2e_simulated = est.ttft_simulated_s + (osl - 1) * est.tpot_s
    steady = desync_ttft(rep, isl, osl, C, e2e_simulated)
    # Plus the wait in the host queue where the engine has a host ceiling (TensorRT-LLM).
    assert (est.host_wait_s > 0) == (name == "trtllm")
    assert est.ttft_s == pytest.approx((est.ttft_first_s + (R - 1) * steady) / R + est.host_wait_s)
    assert est.e2e_s == pytest.approx(est.ttft_s + (osl - 1) * est.tpot_s)
    assert est.output_tok_s_per_gpu == pytest.approx(C * osl / est.e2e_s)
    # The lock-step simulation is still available and is what the law replaces.
    old = closed_loop(rep, isl, osl, C, requests_per_client=R, ttft_law="simulated")
    assert old.ttft_law == "simulated"
    assert old.ttft_s == pytest.approx(est.ttft_simulated_s + old.host_wait_s)
    assert old.tpot_s == pytest.approx(est.tpot_s)


def test_prefill_first_engines_and_single_requests_keep_the_simulation():
    sglang = toy(engine=replace(ENGINES["sglang"], step_overhead_s=0.001))
    est = closed_loop(sglang, 1000, 20, 4, requests_per_client=4)
    assert est.ttft_law == "simulated" and est.ttft_s == est.ttft_simulated_s
    # One request per client is the burst alone.
    one = closed_loop(toy(), 1000, 20, 4, requests_per_client=1)
    assert one.ttft_law == "simulated" and one.ttft_s == pytest.approx(one.ttft_first_s)


def test_bad_ttft_law_and_first_token_wait_are_refused():
    with pytest.raises(InstanceError):
        closed_loop(toy(), 1000, 20, 2, ttft_law="guess")
    with pytest.raises(InstanceError):
        replace(ENGINES["vllm"], first_token_wait="never")


def test_host_ceiling_queues_the_loop_at_the_host_side():
    # 10 req/s and 1,000 tok/s: with 200 output tokens the token limit binds, s = 0.2 s.
    e = replace(ENGINES["vllm"], host_max_rps=10.0, host_max_tok_s=1000.0)
    assert host_max_rate(e, 200) == pytest.approx(5.0)
    assert host_max_rate(e, 20) == pytest.approx(10.0)  # short outputs: the request limit
    # One client never queues.
    assert host_ceiling(e, 1, 200, 0.3, 0.004, 1.0) == (0.3, 1.0, 0.0)
    # Two clients, e2e 0.8 s, s = 0.2 s: the delay station is the other Z = 0.6 s (the
    # host's service overlaps the engine's work). Deterministic service (MVA with the
    # residual-life correction): n = 1: R = 0.2, X = 1/0.8, Q = 0.25, U = 0.25;
    # n = 2: R = 0.2 (1 + 0.25 - 0.25) + 0.25 * 0.1 = 0.225: a wait of 0.025 s in the queue,
    # added to TTFT and e2e.
    ttft, e2e, wait = host_ceiling(e, 2, 200, 0.3, 0.004, 0.8)
    assert wait == pytest.approx(0.025)
    assert (ttft, e2e) == pytest.approx((0.325, 0.825))
    # Many clients: the loop's throughput C / e2e tends to the ceiling, 5 req/s.
    _, e2e, _ = host_ceiling(e, 200, 200, 0.3, 0.004, 1.0)
    assert 200 / e2e == pytest.approx(5.0, rel=0.01)
    # No ceiling (vLLM and SGLang profiles): no wait.
    assert host_ceiling(ENGINES["vllm"], 200, 200, 0.2, 0.004, 0.01) == (0.2, 0.01, 0.0)


def test_open_stream_waits_at_the_host_as_an_md1_queue():
    # 10 req/s and 1,000 tok/s at 200 output tokens: X_max = 5 req/s, s = 0.2 s.
    e = replace(ENGINES["vllm"], host_max_rps=10.0, host_max_tok_s=1000.0)
    # rho = 0.5: the Pollaczek-Khinchine M/D/1 wait rho s / (2 (1 - rho)) = 0.1 s.
    assert host_wait_open(e, 200, 2.5) == pytest.approx(0.1)
    assert host_wait_open(e, 200, 0.0) == 0.0
    assert math.isinf(host_wait_open(e, 200, 5.0))  # at the ceiling: unstable
    assert host_wait_open(ENGINES["vllm"], 200, 1e6) == 0.0  # no ceiling, no wait
    # The same station as the closed loop's (host_ceiling): C clients whose think time keeps
    # the throughput at 2.5 req/s wait, as C grows, what the open stream waits.
    waits = []
    for clients in (10, 100, 1000):
        think = clients / 2.5 - 0.2 - 0.1  # throughput C / (R + Z) = 2.5 at the open R
        response, throughput = closed_network_mva(0.2, think, clients)
        waits.append(response - 0.2)
        assert throughput == pytest.approx(2.5, rel=0.05)
    assert abs(waits[-1] - 0.1) < abs(waits[0] - 0.1)
    assert waits[-1] == pytest.approx(0.1, rel=0.01)


def test_poisson_ttft_includes_the_host_queue():
    trt = replace(ENGINES["trtllm"], step_overhead_s=0.001)
    rep = toy(engine=trt)
    osl = 100
    x_max = float(host_max_rate(trt, osl))  # min(36 req/s, 9,200 tok/s / 100) = 36
    assert x_max == pytest.approx(36.0)
    engine_only = ttft_poisson(rep, 100, osl, 3.0, host=False)
    with_host = ttft_poisson(rep, 100, osl, 3.0)
    assert engine_only.stable and engine_only.host_wait_s == 0.0
    rho = 3.0 / x_max
    assert with_host.host_wait_s == pytest.approx(rho / x_max / (2 * (1 - rho)))
    assert with_host.ttft_s == pytest.approx(engine_only.ttft_s + with_host.host_wait_s)
    assert with_host.tpot_s == engine_only.tpot_s  # the host queue delays admission only
    # A stream the engine could serve but the host cannot: unstable.
    fast = toy(engine=replace(trt, host_max_rps=2.0))
    assert ttft_poisson(fast, 100, osl, 3.0, host=False).stable
    assert not ttft_poisson(fast, 100, osl, 3.0).stable
    # The closed loop's desynchronised steady state uses the engine alone: its host queue
    # is added once, by host_ceiling.
    assert desync_ttft(rep, 100, osl, 4, 2.0) == pytest.approx(
        ttft_poisson(rep, 100, osl, 2.0, host=False).ttft_s + 0.5)


def test_closed_loop_adds_the_host_wait_to_ttft_only():
    free = replace(ENGINES["trtllm"], step_overhead_s=0.001, host_max_rps=math.inf,
                   host_max_tok_s=math.inf)
    isl, osl, C = 1000, 20, 8
    fast = closed_loop(toy(engine=free), isl, osl, C, requests_per_client=4)
    assert fast.host_wait_s == 0.0
    x_max = 0.5 * C / fast.e2e_s  # half the modelled throughput
    capped = closed_loop(toy(engine=replace(free, host_max_rps=x_max)), isl, osl, C,
                         requests_per_client=4)
    assert capped.host_wait_s > 0.0
    assert capped.tpot_s == pytest.approx(fast.tpot_s)
    assert capped.ttft_s == pytest.approx(fast.ttft_s + capped.host_wait_s)
    assert capped.e2e_s == pytest.approx(fast.e2e_s + capped.host_wait_s)
    assert C / capped.e2e_s <= x_max * (1 + 1e-12)
    # The shipped TensorRT-LLM profile has one; the Python-scheduler engines do not.
    assert math.isfinite(ENGINES["trtllm"].host_max_rps)
    assert math.isinf(ENGINES["vllm"].host_max_tok_s) and math.isinf(ENGINES["sglang"].host_max_rps)
    with pytest.raises(InstanceError):
        replace(ENGINES["trtllm"], host_max_rps=0.0)


def test_qwen3_32b_catalog_shapes_match_its_config():
    """Issue 11 round 4, hypothesis 1: Qwen3-32B's attention is wider than its hidden size.

    Qwen/Qwen3-32B config.json: 64 layers, hidden 5,120, 64 query heads and 8 KV heads of
    128, intermediate 25,600, vocab 151,936, untied embeddings.
    """
    layers, hidden, heads, kv_heads, head_dim, inter, vocab = 64, 5120, 64, 8, 128, 25600, 151936
    per_layer = (hidden * heads * head_dim * 2            # q and o projections
                 + hidden * kv_heads * head_dim * 2       # k and v projections
                 + 3 * hidden * inter)                    # gate, up, down
    params = layers * per_layer + 2 * vocab * hidden      # embedding and LM head
    cat = load_catalog("latest")
    qwen = cat.models["Qwen3-32B"]
    assert qwen.params_b * 1e9 == pytest.approx(params, rel=0.005)
    assert (qwen.layers, qwen.hidden, qwen.kv_heads, qwen.head_dim) == (layers, hidden, kv_heads,
                                                                         head_dim)
    # The quadratic attention term uses heads x head_dim = 8,192, not the 5,120 hidden size.
    rep = Replica(qwen, cat.gpus["H100-SXM"], "bf16", "fp16", 1, 1, ENGINES["vllm"])
    assert rep.attention_flops(4096, 0) == pytest.approx(
        4.0 * layers * heads * head_dim * 4096 * 2048)


@pytest.mark.parametrize("model, tp, part", [
    ("Qwen3-32B", 3, "64 attention heads"),          # 64 % 3
    ("Qwen2.5-7B-Instruct", 8, "28 attention heads"),  # 28 % 8
    ("Phi-3-medium-4k-instruct", 4, "10 KV heads"),  # 40 % 4 == 0, but 10 % 4
    ("Qwen3-235B-A22B", 6, "64 attention heads"),
])
def test_tp_that_breaks_a_head_does_not_fit(model, tp, part):
    cat = load_catalog("latest")
    reason = cat.models[model].tp_shard_error(tp)
    assert part in reason and f"TP {tp}" in reason
    with pytest.raises(DoesNotFit, match=part):
        Replica(cat.models[model], cat.gpus["H100-SXM"], "bf16", "fp16", tp)


@pytest.mark.parametrize("model, tp", [
    ("Qwen3-32B", 8),             # 64 / 8 query, 8 / 8 KV
    ("Gemma-2-2B-it", 8),         # 8 query heads; 4 KV heads replicated twice
    ("Qwen3-235B-A22B", 8),       # 4 KV heads replicated twice
    ("DeepSeek-R1", 8),           # MLA: the latent is replicated, only the 128 heads count
    ("Phi-3-medium-4k-instruct", 2),
])
def test_tp_that_shards_whole_heads_fits(model, tp):
    cat = load_catalog("latest")
    assert cat.models[model].tp_shard_error(tp) == ""
    Replica(cat.models[model], cat.gpus["H100-SXM"], "fp8", "fp16", tp)
