import math

import pytest

from hetserve.queueing.planner import marginal_cost_boundary, plan_two_pool
from hetserve.queueing.profiles import PRESETS
from hetserve.queueing.workload import cdf_from_json, load_workload

A100 = PRESETS["a100"]
CDF = cdf_from_json([[512, 0.3], [1024, 0.45], [2048, 0.8], [4096, 0.9], [8192, 0.97],
                     [16384, 0.99], [65536, 1.0]], name="fixed")


def _strip(d):
    return {k: v for k, v in d.items() if not k.endswith("_ms")}


def test_planner_is_deterministic():
    a = plan_two_pool(CDF, 150.0, 0.5, A100).to_dict(include_rows=True)
    b = plan_two_pool(CDF, 150.0, 0.5, A100).to_dict(include_rows=True)
    assert _strip(a) == _strip(b)
    assert a["feasible"] and a["savings_pct"] >= 0


def test_gamma_one_equals_plain_routing():
    plain = plan_two_pool(CDF, 150.0, 0.5, A100, gammas=(1.0,))
    full = plan_two_pool(CDF, 150.0, 0.5, A100)
    rows_full = {r["B"]: r for r in full.rows if r["gamma"] == 1.0 and r["split"]}
    for r in plain.rows:
        if r["split"]:
            assert r == rows_full[r["B"]]
            assert r["alpha"] == pytest.approx(CDF.F(r["B"]))
    assert plain.cr_gain_pts == 0.0
    assert full.cost_per_hour <= plain.cost_per_hour
    assert full.plain_best["cost_per_hour"] == pytest.approx(plain.cost_per_hour)


def test_homogeneous_is_a_candidate_and_split_saves_at_scale():
    conv = load_workload("azure-conv")
    big = plan_two_pool(conv, 500.0, 0.5, A100)
    assert big.split and big.savings_pct > 30
    assert big.homogeneous["units"] > big.short.units + big.long.units
    assert big.short.p99_ttft_s <= 0.5 and big.long.p99_ttft_s <= 0.5
    assert big.rows[-1]["split"] is False


def test_bstar_condition_near_sweep_optimum():
    conv = load_workload("azure-conv")
    res = plan_two_pool(conv, 1000.0, 0.5, A100, gammas=(1.0,))
    mc = marginal_cost_boundary(conv, A100, A100, 65536, 1000.0, 0.85, 512, 12288)
    assert res.b_star_condition is not None
    assert mc["b_condition"] == pytest.approx(res.b_star_condition, rel=0.01)
    # the continuous equal-marginal-cost boundary lies within one grid step of the sweep B*
    assert abs(math.log2(res.b_star_condition / res.b_star)) < 0.6


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="rate"):
        plan_two_pool(CDF, 0.0, 0.5, A100)
    with pytest.raises(ValueError, match="gammas"):
        plan_two_pool(CDF, 1.0, 0.5, A100, gammas=(0.5,))
    with pytest.raises(ValueError, match="p_compress"):
        plan_two_pool(CDF, 1.0, 0.5, A100, p_compress=2.0)
