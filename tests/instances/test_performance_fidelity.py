"""The serving model stays inside its accuracy bands on measured serving runs.

Calibration set: ``tests/data/measured_serving_h100.csv`` (579 H100-SXM closed-loop runs from
NVIDIA AIConfigurator's silicon sample, Apache-2.0; attribution in ``tests/data/README.md``).
Every fourth row (145 runs, all engines, TP 1-8, concurrency 4-256) keeps this under ~15 s;
``python -m benchmarks.fidelity`` runs all rows and writes ``results/fidelity/``. The bands
sit a few points under what the model reaches today, so a change that makes it worse fails;
a change that makes it better should raise them (and update docs/performance.md).
"""

import numpy as np
import pytest

from benchmarks.fidelity import (
    DEFAULT_CASES,
    METRICS,
    closed_network_mva,
    predict_roofline,
    predict_serving,
    ratios_of,
    read_cases,
    summarise,
)

BANDS = {
    # metric: (min share within ±25 %, min share within ±50 %, median range)
    "ttft": (0.60, 0.84, (0.85, 1.15)),
    "tpot": (0.88, 0.96, (0.90, 1.10)),
    "e2e": (0.90, 0.97, (0.90, 1.10)),
    "tok_s_gpu": (0.86, 0.94, (0.90, 1.15)),
}


@pytest.fixture(scope="module")
def calibration():
    rows = read_cases(DEFAULT_CASES)[::4]
    return rows, ratios_of(rows, [predict_serving(m.case) for m in rows])


def test_calibration_rows_cover_every_engine_and_tp(calibration):
    rows, _ = calibration
    assert len(rows) == 145
    assert {m.case.engine for m in rows} == {"vllm", "sglang", "trtllm"}
    assert {m.case.tp for m in rows} == {1, 2, 4, 8}


@pytest.mark.parametrize("metric", METRICS)
def test_serving_model_stays_in_its_band(calibration, metric):
    _, ratios = calibration
    s = summarise(ratios[metric])
    within25, within50, (lo, hi) = BANDS[metric]
    assert s["n"] >= 140, "rows that do not fit the model's memory must stay rare"
    assert s["within25"] >= within25, s
    assert s["within50"] >= within50, s
    assert lo <= s["median"] <= hi, s


def test_load_aware_ttft_beats_the_isolated_prefill(calibration):
    rows, ratios = calibration
    roof = ratios_of(rows, [predict_roofline(m.case) for m in rows])["ttft"]
    # The planner's isolated prefill is 5-10x optimistic under load.
    assert np.median(roof) < 0.3
    assert summarise(ratios["ttft"])["within50"] > 5 * summarise(roof)["within50"]


def test_closed_network_mva_by_hand():
    # s = 1 s of prefill, Z = 3 s of decode. C = 1: R = s = 1, X = 1 / (1 + 3) = 0.25.
    assert closed_network_mva(1.0, 3.0, 1, residual_life=False) == pytest.approx((1.0, 0.25))
    assert closed_network_mva(1.0, 3.0, 1, residual_life=True) == pytest.approx((1.0, 0.25))
    # C = 2, exponential MVA: Q(1) = X(1) R(1) = 0.25, R(2) = 1 (1 + 0.25) = 1.25,
    # X(2) = 2 / (1.25 + 3).
    assert closed_network_mva(1.0, 3.0, 2, residual_life=False) == pytest.approx((1.25, 2 / 4.25))
    # Residual life: U(1) = X(1) s = 0.25 as well, so R(2) = 1 + 1 (0.25 - 0.25) + 0.25 / 2.
    assert closed_network_mva(1.0, 3.0, 2, residual_life=True) == pytest.approx((1.125, 2 / 4.125))
    # Little's law on the whole loop: C = X (R + Z).
    r, x = closed_network_mva(0.2, 1.5, 16)
    assert x * (r + 1.5) == pytest.approx(16)
    with pytest.raises(ValueError):
        closed_network_mva(0.0, 1.0, 2)


def test_fp8_kv_cache_is_read_for_tensorrt_llm_fp8_runs_only():
    rows = read_cases(DEFAULT_CASES)
    kv = {(m.case.engine, m.case.precision, m.case.kv_precision) for m in rows}
    assert ("trtllm", "fp8", "fp8") in kv and ("trtllm", "fp8", "fp16") not in kv
    assert ("vllm", "fp8", "fp16") in kv and ("vllm", "fp8", "fp8") not in kv
    assert all(m.case.kv_precision == "fp16" for m in rows if m.case.precision == "bf16")


def test_fp8_kv_cache_is_what_lets_the_measured_tp1_run_hold_every_sequence():
    """FP8_KV_ENGINES' reason: Qwen3-32B FP8 TP1 on TensorRT-LLM ran 64 clients of 4,096 + 128
    tokens with every sequence in the engine (TTFT 1.6 s); a 16-bit cache holds 158k tokens,
    fewer than the 270k they need, an FP8 one twice that."""
    from hetserve.instances import load_catalog
    from hetserve.instances.serving import ENGINES, Replica, closed_loop

    cat = load_catalog("latest")
    (row,) = [m for m in read_cases(DEFAULT_CASES) if m.case.engine == "trtllm"
              and m.case.model == "Qwen3-32B" and m.case.tp == 1
              and (m.case.isl, m.case.osl, m.case.concurrency) == (4096, 128, 64)]
    assert row.ttft_s < 2.0
    peak = {}
    for kv in ("fp16", "fp8"):
        rep = Replica(cat.models["Qwen3-32B"], cat.gpus["H100-SXM"], "fp8", kv, 1, 1,
                      ENGINES["trtllm"])
        peak[kv] = closed_loop(rep, 4096, 128, 64, requests_per_client=2).peak_running
    assert peak["fp16"] < 40 and peak["fp8"] == 64


def test_throughput_ceilings_and_implied_batch_by_hand():
    from benchmarks.fidelity import Measured
    from benchmarks.ttft_laws import throughput_ceilings, trt_capacity
    from hetserve.instances.serving import Case

    case = Case("Llama-3.1-8B-Instruct", "H100-SXM", "bf16", 1, 1, 1024, 11, 64, "trtllm")
    # e2e = 1 s + 10 * 0.1 s = 2 s: 64 / 2 = 32 requests/s, 352 output tokens/s.
    run = Measured(case, 1.0, 0.1, "1.0")
    assert throughput_ceilings([run]) == {"trtllm": pytest.approx({"tok_s": 352.0, "req_s": 32.0})}
    # A TTFT below the model's own steady-state wait leaves no queue: all 64 in the engine.
    fast = Measured(case, 1e-4, 0.1, "1.0")
    (cap,) = trt_capacity([fast])
    assert cap["n_in_engine"] == pytest.approx(64.0)
    # One second of queueing out of a 2 s loop puts about half of the clients outside.
    (slow,) = trt_capacity([run])
    assert 30.0 < slow["n_in_engine"] < 40.0
