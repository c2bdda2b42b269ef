"""Measured profiles override the serving model: reading, interpolation, refusal."""

import json
import math

import pytest

from hetserve.instances.errors import InstanceError
from hetserve.instances.profiles import AnalyticServing, MeasuredServing, read_profile
from hetserve.instances.serving import Case, estimate_case

HEADER = "model,gpu,precision,tp,pp,engine,isl,osl,concurrency,ttft_ms,tpot_ms\n"
CFG = "Llama-3.1-8B-Instruct,H100-SXM,bf16,1,1,vllm"


def profile(tmp_path, rows):
    path = tmp_path / "profile.csv"
    path.write_text(HEADER + "".join(f"{CFG},{r}\n" for r in rows))
    return read_profile(path)


def case(isl, osl, c, model="Llama-3.1-8B-Instruct"):
    return Case(model, "H100-SXM", "bf16", 1, 1, isl, osl, c, "vllm")


GRID = [f"{isl},{osl},{c},{isl / 10 * c ** 0.5:.3f},{5 + c / 8:.3f}"
        for isl in (1000, 4000) for osl in (100, 400) for c in (4, 16)]


def test_measured_point_is_returned_exactly(tmp_path):
    perf = profile(tmp_path, GRID)
    out = perf.estimate(case(4000, 400, 16))
    assert out.source == "profile" and out.estimate is not None
    assert out.estimate.ttft_s == pytest.approx(400 * 4 / 1e3)
    assert out.estimate.tpot_s == pytest.approx(7 / 1e3)
    assert out.estimate.e2e_s == pytest.approx(1.6 + 399 * 0.007)


def test_interpolation_is_linear_in_logs(tmp_path):
    perf = profile(tmp_path, GRID)
    # Concurrency 8 is the log-midpoint of 4 and 16: geometric mean of the two TTFTs.
    out = perf.estimate(case(1000, 100, 8))
    assert out.estimate.ttft_s == pytest.approx(math.sqrt(0.2 * 0.4))
    assert out.estimate.tpot_s == pytest.approx(math.sqrt(5.5 * 7.0) / 1e3)
    # All three axes at their log-midpoints: the geometric mean of the 8 corners.
    mid = perf.estimate(case(2000, 200, 8)).estimate
    ttfts = [isl / 10 * c ** 0.5 / 1e3 for isl in (1000, 4000) for _ in (100, 400) for c in (4, 16)]
    assert mid.ttft_s == pytest.approx(math.exp(sum(map(math.log, ttfts)) / 8))


def test_outside_the_measured_range_is_refused_not_extrapolated(tmp_path):
    perf = profile(tmp_path, GRID)
    out = perf.estimate(case(8000, 100, 4))
    assert out.estimate is None and out.source == "profile"
    assert "isl 8000" in out.reason and "no extrapolation" in out.reason
    sparse = profile(tmp_path, GRID[:-1])  # drop the (4000, 400, 16) corner
    refused = sparse.estimate(case(2000, 200, 8))
    assert refused.estimate is None and "lacks" in refused.reason


def test_uncovered_configuration_uses_the_model(tmp_path):
    perf = profile(tmp_path, GRID)
    other = case(1000, 100, 4, model="Qwen3-32B")
    out = perf.estimate(other)
    assert out.source == "model"
    assert out.estimate.ttft_s == pytest.approx(estimate_case(other).estimate.ttft_s)
    assert AnalyticServing().estimate(other).estimate.ttft_s == out.estimate.ttft_s


def test_aiconfigurator_layout_reads_the_calibration_file():
    perf = read_profile("tests/data/measured_serving_h100.csv")
    assert isinstance(perf, MeasuredServing) and len(perf.points) == 579
    out = perf.estimate(Case("Qwen3-32B", "H100-SXM", "fp8", 2, 1, 1024, 128, 16, "trtllm"))
    assert out.source == "profile"
    assert out.estimate.ttft_s == pytest.approx(0.1873764)
    assert out.estimate.tpot_s == pytest.approx(0.0153851)


def test_vllm_benchmark_serving_json(tmp_path):
    runs = [{"model_id": "meta-llama/Llama-3.1-8B-Instruct", "gpu": "H100-SXM", "precision": "bf16",
             "tp": 1, "max_concurrency": c, "completed": 100, "total_input_tokens": 100 * 1024,
             "total_output_tokens": 100 * 128, "mean_ttft_ms": 20.0 * c, "mean_tpot_ms": 6.0 + c}
            for c in (4, 16)]
    path = tmp_path / "runs.json"
    path.write_text(json.dumps(runs))
    perf = read_profile(path)
    out = perf.estimate(case(1024, 128, 8))
    assert out.source == "profile"
    assert out.estimate.ttft_s == pytest.approx(math.sqrt(0.08 * 0.32))


@pytest.mark.parametrize("body, message", [
    ("a,b\n1,2\n", "not a profile CSV"),
    (HEADER + f"{CFG},1000,100,4,-5,6\n", "row 1 ttft"),
    (HEADER + "Nope,H100-SXM,bf16,1,1,vllm,1000,100,4,5,6\n", "row 1 model"),
    (HEADER + f"{CFG},1000,100,4,5,6\n{CFG},1000,100,4,7,8\n", "two runs"),
    ('{"max_concurrency": 4}', "missing"),
])
def test_bad_profiles_name_the_problem(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(InstanceError, match=message):
        read_profile(path)
