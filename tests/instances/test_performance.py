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
        Precision("fp8", 1.0, "fp8", 1.1)
