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
    "ttft": (0.52, 0.75, (0.80, 1.10)),
    "tpot": (0.88, 0.96, (0.90, 1.10)),
    "e2e": (0.88, 0.96, (0.90, 1.10)),
    "tok_s_gpu": (0.84, 0.92, (0.90, 1.15)),
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
