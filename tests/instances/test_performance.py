"""The roofline model against values computed by hand on round-number hardware."""

import math

import numpy as np
import pytest

from hetserve.instances import Precision, load_catalog
from hetserve.instances.catalog import DEFAULT_PRECISIONS
from hetserve.instances.performance import (
    decode_step_time,
    kv_capacity_bytes,
    prefill_time,
    route_performance,
)
from tests.helpers import IDEAL, round_gpu, round_model

FP16, INT8, INT4 = DEFAULT_PRECISIONS


def test_kv_bytes_per_token_of_llama_8b():
    """2 (K,V) x 32 layers x 8 KV heads x 128 dims x 2 bytes = 131,072 B (peers.md §3.2)."""
    assert load_catalog().models["Llama-3.1-8B-Instruct"].kv_bytes_per_token == 131_072


def test_prefill_time_by_hand():
    """2·10e9·1000 FLOP + attention 2·10·1000²·1000 FLOP over 100 TFLOP/s = 0.2002 s."""
    t = prefill_time(round_model(), round_gpu(), FP16, 1, 1, 1000, IDEAL)
    assert t == pytest.approx(0.2002, rel=1e-9)


def test_prefill_with_tp_adds_allreduce():
    """TP2 halves compute (0.1001 s) and adds 2·10 ring all-reduces of 2 MB each:
    10 µs + 2·(1/2)·2e6 B / 100 GB/s = 30 µs, so 20 · 30 µs = 0.6 ms."""
    t = prefill_time(round_model(), round_gpu(), FP16, 2, 1, 1000, IDEAL)
    assert t == pytest.approx(0.1001 + 20 * 30e-6, rel=1e-6)


def test_decode_step_memory_bound_by_hand():
    """Batch 1, context 1,050: (20 GB weights + 4,000 B x 1,050) / 1,000 GB/s = 20.0042 ms."""
    t = decode_step_time(round_model(), round_gpu(), FP16, 1, 1, 1, 1050, IDEAL)
    assert t == pytest.approx((20e9 + 4000 * 1050) / 1e12, rel=1e-6)


def test_decode_step_compute_bound_at_large_batch():
    """Batch 256 int8: memory (10 GB + 256·4,000·1,050 B)/1 TB/s = 11.08 ms; compute
    2·10e9·256 / 200 TOP/s = 25.6 ms, so compute binds."""
    t = decode_step_time(round_model(), round_gpu(), INT8, 1, 1, 256, 1050, IDEAL)
    assert t == pytest.approx(2 * 10e9 * 256 / 200e12, rel=1e-6)


def test_int4_halves_weight_bytes_again():
    mem16 = kv_capacity_bytes(round_model(), round_gpu(), FP16, 1, 1, IDEAL)
    mem4 = kv_capacity_bytes(round_model(), round_gpu(), INT4, 1, 1, IDEAL)
    assert mem4 - mem16 == pytest.approx(20e9 - 5e9, rel=1e-6)


def test_operating_point_meets_slo_and_next_batch_does_not():
    """b* is the largest batch whose latency meets the SLO (latency increases in b)."""
    perf = route_performance(round_model(), round_gpu(), FP16, 1, 1, 1000, 100, 5.0, IDEAL)
    assert perf.fits and perf.delay_s <= 5.0
    model, gpu = round_model(), round_gpu()

    def latency(b: int) -> float:
        pre = prefill_time(model, gpu, FP16, 1, 1, 1000, IDEAL)
        dec = decode_step_time(model, gpu, FP16, 1, 1, b, 1050, IDEAL)
        return pre + 100 * dec + (b - 1) * pre

    assert latency(perf.batch) == pytest.approx(perf.delay_s, rel=1e-9)
    assert perf.batch == perf.max_batch or latency(perf.batch + 1) > 5.0
    assert perf.capacity_rps == pytest.approx(perf.batch / perf.delay_s)


def test_latency_above_slo_is_infeasible_and_tp_fixes_it():
    """At b=1 TP1 needs 0.2002 + 100·20.0042 ms = 2.20 s; TP2 about half: a 1.5 s SLO is
    met only with TP2 (the paper's TP-aware feasibility)."""
    slow = route_performance(round_model(), round_gpu(), FP16, 1, 1, 1000, 100, 1.5, IDEAL)
    fast = route_performance(round_model(), round_gpu(), FP16, 2, 1, 1000, 100, 1.5, IDEAL)
    assert slow.delay_at_1_s == pytest.approx(0.2002 + 100 * (20e9 + 4000 * 1050) / 1e12, rel=1e-6)
    assert slow.delay_at_1_s > 1.5
    assert fast.delay_at_1_s < 1.5


def test_weights_that_do_not_fit_are_infeasible():
    big = round_model(params_b=60.0)  # 120 GB at fp16 > 100 GB
    assert not route_performance(big, round_gpu(), FP16, 1, 1, 1000, 100, 100.0, IDEAL).fits
    assert route_performance(big, round_gpu(), FP16, 2, 1, 1000, 100, 100.0, IDEAL).fits
    assert route_performance(big, round_gpu(), FP16, 1, 2, 1000, 100, 100.0, IDEAL).fits


def test_kv_limits_the_batch():
    """80 GB free after 20 GB of weights; a 1,100-token sequence holds 4.4 MB: 18,181 fit,
    capped at max_num_seqs = 256; with a 99 GB model only 1 GB is left: 227 sequences."""
    perf = route_performance(round_model(), round_gpu(), FP16, 1, 1, 1000, 100, 1e6, IDEAL)
    assert perf.max_batch == 256
    tight = route_performance(round_model(params_b=49.5), round_gpu(), FP16, 1, 1, 1000, 100,
                              1e6, IDEAL)
    assert tight.max_batch == math.floor(1e9 / (4000 * 1100))


def test_pp_does_not_shorten_single_request_latency():
    """PP splits memory, not the per-token path: at b=1 PP2 is no faster than PP1."""
    one = decode_step_time(round_model(), round_gpu(), FP16, 1, 1, 1, 1050, IDEAL)
    two = decode_step_time(round_model(), round_gpu(), FP16, 1, 2, 1, 1050, IDEAL)
    assert two >= one


def test_moe_reads_only_active_experts_at_batch_one():
    cat = load_catalog()
    mixtral = cat.models["Mixtral-8x7B-Instruct-v0.1"]
    h100 = cat.gpus["H100-SXM"]
    one = decode_step_time(mixtral, h100, FP16, 2, 1, 1, 1000)
    many = decode_step_time(mixtral, h100, FP16, 2, 1, 16, 1000)
    assert one < many
    assert np.isfinite(one)


def test_precision_validation_names_the_field():
    with pytest.raises(ValueError, match="compute"):
        Precision("fp6", 0.75, "fp6", 1.1)
    with pytest.raises(ValueError, match="error_multiplier"):
        Precision("fp8", 1.0, "fp8", 0.9)


# ---------------------------------------------------------- FP8 / FP4 planner precisions
def _later_precisions():
    cat = load_catalog("latest")
    return cat.precisions["fp8"], cat.precisions["fp4"]


def test_planner_precisions_by_edition():
    """The default edition keeps the paper's three; the 2026-12 edition adds fp8 and fp4."""
    assert list(load_catalog().precisions) == ["fp16", "int8", "int4"]
    fp8, fp4 = _later_precisions()
    assert (fp8.bytes_per_weight, fp8.compute, fp8.error_multiplier) == (1.0, "fp8", 1.05)
    assert (fp4.bytes_per_weight, fp4.compute, fp4.error_multiplier) == (0.5625, "fp4", 1.35)


def test_fp8_prefill_runs_on_the_fp8_peak_or_weight_only_by_hand():
    """Prefill of 1,000 tokens is 2.002e13 FLOP (test_prefill_time_by_hand). With an FP8 peak
    of 200 TFLOP/s at the 8-bit efficiency 0.25: 2.002e13 / 50e12 = 0.4004 s. Without an FP8
    peak the matmuls run weight-only at the FP16 peak (100 TFLOP/s, efficiency 1): 0.2002 s."""
    from dataclasses import replace

    from hetserve.instances.performance import matmul_flops, prefill_efficiency

    fp8, _ = _later_precisions()
    c = replace(IDEAL, prefill_efficiency_int8=0.25)
    native, plain = replace(round_gpu(), fp8_tflops=200.0), round_gpu()
    assert matmul_flops(native, fp8) == 200e12 and prefill_efficiency(native, fp8, c) == 0.25
    assert matmul_flops(plain, fp8) == 100e12 and prefill_efficiency(plain, fp8, c) == 1.0
    assert prefill_time(round_model(), native, fp8, 1, 1, 1000, c) == pytest.approx(0.4004)
    assert prefill_time(round_model(), plain, fp8, 1, 1, 1000, c) == pytest.approx(0.2002)


def test_fp4_weights_are_read_at_their_bytes_by_hand():
    """Decode at batch 1, context 1,050: (10e9 x 0.5625 B + 4,000 B x 1,050) / 1,000 GB/s =
    5.6292 ms; fp8: 10.0042 ms (weights 1 B each)."""
    fp8, fp4 = _later_precisions()
    gpu = round_gpu()
    assert decode_step_time(round_model(), gpu, fp4, 1, 1, 1, 1050, IDEAL) == pytest.approx(
        5.6292e-3, rel=1e-6)
    assert decode_step_time(round_model(), gpu, fp8, 1, 1, 1, 1050, IDEAL) == pytest.approx(
        10.0042e-3, rel=1e-6)
