"""The iteration-time spread of the analytic TTFT tail (queueing.pools._spread,
docs/queueing.md §1 "Iteration-time spread")."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import special, stats

from hetserve.queueing.planner import _short_cal
from hetserve.queueing.pools import (
    JSQ_HALF,
    SPREAD_BINS,
    _gamma_bins,
    _miss,
    _state,
    _ttft_quantile,
    calibrate_slice,
    evaluate_pool,
    flat_targets,
)
from hetserve.queueing.profiles import PRESETS
from hetserve.queueing.workload import load_workload, slice_stats
from hetserve.simulator.des import PoolSpec, route_by_length, simulate
from hetserve.simulator.runner import make_requests

A100 = PRESETS["a100"]
PB = np.diff(SPREAD_BINS)


@pytest.mark.parametrize("key", [-20, 0, 20, 100, 300])
def test_gamma_bins_are_standardised_conditional_means(key):
    a = 1.05**key
    y = _gamma_bins(key)
    assert abs(float(PB @ y)) < 1e-9  # the bins keep the mean
    var = float(PB @ y**2)
    # within-bin variance is lost, not added (most of it in the wide lower half, which a
    # 1 % tail never reads)
    assert 0.75 < var <= 1.0 + 1e-9
    # the top bin by hand: E[Z | Z > x_0.999] = a Q(a + 1, x) / 0.001
    x = special.gammaincinv(a, 0.999)
    top = a * special.gammaincc(a + 1.0, x) / 0.001
    assert y[-1] == pytest.approx((top - a) / math.sqrt(a), rel=1e-9)


def test_gamma_bins_tend_to_normal_bins():
    y = _gamma_bins(300)  # shape 1.05^300 ~ 2e6
    z = stats.norm.ppf(SPREAD_BINS)
    normal = (stats.norm.pdf(z[:-1]) - stats.norm.pdf(z[1:])) / PB
    assert np.allclose(y, normal, atol=2e-3 * 3.4)


def test_spread_by_hand():
    cdf = load_workload("fleetsim-azure")
    cal = calibrate_slice(A100, cdf, 0.0, 6144.0, 6144)
    lam, n = 40.0, 4
    occ, tau, _C, _theta, taus = _state(cal, lam, n)
    st, k = cal.stats, cal.k
    L = st.mean_ctx_sum / st.mean_iters
    v = st.mean_ctx2_sum / st.mean_iters - L * L
    nbar = occ * k
    nres = max(nbar - (1 - 1 / n) * nbar / (nbar + JSQ_HALF), 0.0)
    frac = nres - math.floor(nres)
    var = nres * v + L * L * max(k * occ * (1 - occ) / math.sqrt(n), frac * (1 - frac))
    h = A100.H / A100.calibration_ctx
    a = (nres * L) ** 2 / var
    want = A100.W + h * nres * L + h * math.sqrt(var) * _gamma_bins(round(math.log(a)
                                                                         / math.log(1.05)))
    assert np.allclose(taus, want, rtol=1e-12)
    # the mean iteration time a prefill sees is the pool's, less the dispatcher's shift
    assert float(PB @ taus) == pytest.approx(A100.W + h * nres * L, rel=1e-9)
    assert float(PB @ taus) < tau


def test_miss_reduces_to_the_mean_iteration_form_without_spread():
    """With every bin at one iteration time the tail is the old mean-tau form, with half
    an iteration (the rest of the one under way) instead of a whole one before prefill."""
    cdf = load_workload("lmsys")
    cal = calibrate_slice(A100, cdf, 0.0, 65536.0, 65536)
    _occ, tau, C, theta, _taus = _state(cal, 5.0, 1)
    for target in (0.1, 0.3, 0.5, 2.0):
        tg = flat_targets(cal, target, 0.99)
        shifted = flat_targets(cal, target + 0.5 * tau, 0.99)
        flat = np.full(len(PB), tau)
        assert _miss(cal, tg, 0, tau, C, theta, flat) == pytest.approx(
            _miss(cal, shifted, 0, tau, C, theta), rel=1e-12, abs=1e-15)
    # and no spread at all (tau_spread=False) is exactly the old code path
    old = dataclasses.replace(cal, tau_spread=False)
    assert _state(old, 5.0, 1)[4] is None


def test_spread_raises_the_quantile_where_it_applies():
    cdf = load_workload("agent-heavy")
    cal = _short_cal(A100, cdf, 16384.0, 2.0, 0.75, "load")
    _occ, tau, C, theta, taus = _state(cal, 4.859, 8)
    assert taus is not None and np.ptp(taus) > 0
    mean_only = np.full(len(PB), float(PB @ taus))
    assert _ttft_quantile(0.99, cal, tau, C, theta, taus) > \
        _ttft_quantile(0.99, cal, tau, C, theta, mean_only)
    tg = flat_targets(cal, 0.45, 0.99)
    assert _miss(cal, tg, 0, tau, C, theta, taus) > _miss(cal, tg, 0, tau, C, theta, mean_only)


def test_context_moment_by_hand():
    """E[X2] of one request: P L_in^2 + L_out L_in^2 + L_in L_out^2 + L_out^3 / 3."""
    cdf = load_workload("fleetsim-azure")
    st = slice_stats(cdf, 1000.0, 1000.5, 512, nodes_per_piece=48)
    x = 1000.25
    L_out = 0.2 * x
    L_in = x - L_out
    P = math.ceil(L_in / 512)
    want = P * L_in**2 + L_out * L_in**2 + L_in * L_out**2 + L_out**3 / 3
    assert st.mean_ctx2_sum == pytest.approx(want, rel=1e-3)


def test_pool_p99_close_to_the_detailed_simulator():
    """agent-heavy's 16K pool (searched gamma 2.0) on 8 A100s at 4.86 req/s: the tail is
    set by long prompts' prefill at the iteration time they see.  Seeded; measured
    analytic / simulated P99 = 0.97 (the mean-iteration form without the spread and the
    dispatcher's shift: 1.00 with the opposite errors in mean and spread)."""
    cdf = load_workload("agent-heavy")
    cal = _short_cal(A100, cdf, 16384.0, 2.0, 0.75, "load")
    req, _, _ = make_requests(cdf=cdf, rate=5.0, n=6000, seed=0)
    idx, routed = route_by_length(req, [16384, 65536], 2.0, 0.75, np.random.default_rng([0, 7]))
    short = idx == 0
    lam = 5.0 * float(short.mean())
    sim = simulate(routed, np.where(short, 0, -1), [PoolSpec("s", A100, 8, 16384)],
                   mode="detailed")
    pred = evaluate_pool(cal, lam, 8).p99_ttft_s
    assert pred == pytest.approx(sim.pools[0].p99_ttft_s, rel=0.08)


def test_plan_miss_scale_sizes_for_less_and_keeps_the_slo():
    from hetserve.queueing.slo import TTFTSLO
    from hetserve.queueing.verify import plan_verified

    cdf = load_workload("agent-heavy")
    slo = TTFTSLO(0.5, unservable="exclude")
    base = plan_verified(cdf, 50.0, slo, A100, verify=False, gammas=(1.0,), bstar_check=False)
    tight = plan_verified(cdf, 50.0, slo, A100, verify=False, gammas=(1.0,), bstar_check=False,
                          plan_miss_scale=0.5)
    assert tight.slo == base.slo and tight.quantile == base.quantile == 0.99
    assert tight.cost_per_hour > base.cost_per_hour
    with pytest.raises(ValueError, match="plan_miss_scale"):
        plan_verified(cdf, 50.0, slo, A100, verify=False, plan_miss_scale=0.0)
