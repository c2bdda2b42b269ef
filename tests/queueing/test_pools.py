import json

import numpy as np
import pytest

from hetserve.queueing.pools import calibrate_slice, evaluate_pool, size_pool
from hetserve.queueing.profiles import PRESETS, PoolProfile, get_profile
from hetserve.queueing.workload import cdf_from_json, load_workload, slice_stats

A100 = PRESETS["a100"]
SIMPLE = cdf_from_json([[512, 0.3], [2048, 0.8], [8192, 0.97], [65536, 1.0]], name="simple")


def test_preset_slots_match_fleet_sim():
    assert A100.slots([2048, 4096, 8192, 16384, 65536]).tolist() == [512, 256, 128, 64, 16]
    assert PRESETS["a10g"].slots([2048, 8192, 65536]).tolist() == [256, 64, 8]
    assert PRESETS["h100"].slots(65536) == 16
    assert get_profile("A100_80GB") is A100


def test_profile_validation_names_field():
    with pytest.raises(ValueError, match="chunk"):
        PoolProfile("x", 0.01, 0.001, 0, 100, 16, 8, 8192, 1.0)
    with pytest.raises(ValueError, match="W"):
        PoolProfile("x", -1.0, 0.001, 512, 100, 16, 8, 8192, 1.0)
    with pytest.raises(ValueError, match="profile"):
        get_profile("tpu")


def test_quadrature_is_deterministic_and_matches_sampling():
    a = slice_stats(SIMPLE, 0, 8192, 512)
    b = slice_stats(SIMPLE, 0, 8192, 512, nodes_per_piece=47)
    assert a.mass == pytest.approx(0.97)
    assert a.mean_iters == pytest.approx(b.mean_iters, rel=2e-3)
    L_in, L_out = SIMPLE.sample(200_000, np.random.default_rng(3))
    L = L_in + L_out
    m = L <= 8192
    assert m.mean() == pytest.approx(a.mass, abs=0.003)
    assert L[m].mean() == pytest.approx(a.mean_tokens, rel=0.01)
    iters = np.ceil(L_in[m] / 512) + L_out[m]
    assert iters.mean() == pytest.approx(a.mean_iters, rel=0.01)
    assert a.prefill_w.sum() == pytest.approx(1.0)


def test_sizing_monotone_in_rate_and_slo():
    cal = calibrate_slice(A100, SIMPLE, 0.0, 8192.0, 8192)
    units = [size_pool(cal, lam, 0.5).units for lam in (0.5, 2, 5, 20, 50, 200, 1000)]
    assert units == sorted(units) and units[-1] > units[0]
    by_slo = [size_pool(cal, 5.0, s).units for s in (0.25, 0.3, 0.5, 1.0, 4.0)]
    assert by_slo == sorted(by_slo, reverse=True)
    ev = size_pool(cal, 200.0, 0.5)
    assert ev.feasible and ev.rho <= 0.85 + 1e-9 and ev.p99_ttft_s <= 0.5
    # one unit fewer breaks a constraint
    fewer = evaluate_pool(cal, 200.0, ev.units - 1)
    assert fewer.rho > 0.85 or fewer.p99_ttft_s > 0.5


def test_prefill_bound_pool_is_infeasible():
    cal = calibrate_slice(A100, load_workload("agent-heavy"), 16384.0, 65536.0, 65536)
    ev = size_pool(cal, 10.0, 0.2)
    assert not ev.feasible and "prefill" in ev.reason


def test_cdf_json_loader(tmp_path):
    p = tmp_path / "w.json"
    p.write_text(json.dumps({"cdf": [[1000, 0.5], [4000, 1.0]]}))
    c = load_workload(str(p))
    assert c.F(1000) == pytest.approx(0.5) and c.F(2500) == pytest.approx(0.75)
    p.write_text(json.dumps([[1000, 0.5], [500, 1.0]]))
    with pytest.raises(ValueError, match="tokens"):
        load_workload(str(p))
    with pytest.raises(ValueError, match="cum"):
        cdf_from_json([[1000, 0.5], [2000, 0.9]])
