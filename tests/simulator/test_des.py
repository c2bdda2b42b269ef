import dataclasses
import math

import numpy as np
import pytest

from hetserve.queueing.erlang import erlang_c
from hetserve.queueing.pools import calibrate_slice, size_pool
from hetserve.queueing.profiles import PRESETS, PoolProfile
from hetserve.queueing.workload import load_workload
from hetserve.simulator.des import (
    PoolSpec,
    Requests,
    mgc_fcfs,
    poisson_requests,
    route_by_length,
    simulate,
)

A100 = PRESETS["a100"]


def test_mmc_utilisation_and_p99_wait_match_theory():
    # M/M/4, lambda = 3, mu = 1 (rho = 0.75), 300k customers, 10 % warm-up.
    rng = np.random.default_rng(42)
    n, c, lam = 300_000, 4, 3.0
    arr = np.cumsum(rng.exponential(1 / lam, n))
    S = rng.exponential(1.0, n)
    start = mgc_fcfs(arr, S, c)
    w = (start - arr)[n // 10:]
    C = erlang_c(c, lam)
    # utilisation -> lambda E[S] / c within 1 %
    util = S[n // 10:].sum() / (c * (arr[-1] - arr[n // 10]))
    assert util == pytest.approx(0.75, rel=0.01)
    # P(W > 0) -> C, and P99 wait -> ln(C/0.01) / (c mu - lambda) within 5 %
    assert (w > 0).mean() == pytest.approx(C, rel=0.03)
    assert np.quantile(w, 0.99) == pytest.approx(math.log(C / 0.01) / (c - lam), rel=0.05)


def test_fast_mode_matches_analytic_pool():
    cdf = load_workload("azure-conv")
    # the fast mode is the M/G/c at the pool's mean iteration time: compare it with the
    # analytic form without the iteration-time spread (docs/queueing.md §1)
    cal = dataclasses.replace(calibrate_slice(A100, cdf, 0.0, 4096.0, 4096), tau_spread=False)
    ev = size_pool(cal, 100.0, 0.5)
    rng = np.random.default_rng(0)
    full = poisson_requests(cdf, 100.0 / cal.stats.mass, 30000, rng)
    keep = full.total_tokens <= 4096
    req = Requests(full.arrival_s[keep], full.prompt_tokens[keep], full.output_tokens[keep])
    spec = PoolSpec("p", A100, ev.units, 4096, tau_s=ev.tau_s)
    res = simulate(req, np.zeros(len(req), int), [spec], mode="fast")
    assert res.pools[0].utilisation == pytest.approx(ev.slot_occupancy, abs=0.02)
    assert res.pools[0].p99_ttft_s == pytest.approx(ev.p99_ttft_s, rel=0.1)


def test_detailed_mode_utilisation_close_to_analytic():
    cdf = load_workload("azure-code")
    cal = calibrate_slice(A100, cdf, 0.0, 8192.0, 8192)
    ev = size_pool(cal, 40.0, 0.5)
    rng = np.random.default_rng(1)
    req = poisson_requests(cdf, 40.0, 4000, rng)
    spec = PoolSpec("p", A100, ev.units, 8192)
    res = simulate(req, np.zeros(len(req), int), [spec], mode="detailed")
    st = res.pools[0]
    assert st.rejected == 0 and st.preemptions == 0
    assert st.utilisation == pytest.approx(ev.slot_occupancy, abs=0.03)
    assert not np.isnan(res.latency_s).any()


def test_detailed_preempts_when_kv_runs_out_and_still_finishes():
    tiny = PoolProfile("tiny", W=0.005, H=0.0005, chunk=256, total_kv_blocks=400,
                       block_size=16, max_slots=64, calibration_ctx=1024, price_per_gpu_hour=1.0)
    rng = np.random.default_rng(2)
    n = 250
    arr = np.cumsum(rng.exponential(0.05, n))
    L_in = rng.integers(100, 600, n)
    L_out = rng.integers(200, 900, n)
    req = Requests(arr, L_in, L_out)
    # slots chosen above the KV limit so that growth exhausts the blocks
    spec = PoolSpec("p", tiny, 1, 2048, slots_per_unit=16)  # every request fits the context
    res = simulate(req, np.zeros(n, int), [spec], mode="detailed", warmup_frac=0.0)
    assert res.preemptions > 0
    assert not np.isnan(res.latency_s).any()
    longest = simulate(req, np.zeros(n, int), [spec], mode="detailed", victim="longest",
                       warmup_frac=0.0)
    assert longest.preemptions > 0


def test_routing_and_determinism():
    cdf = load_workload("azure-conv")
    a = poisson_requests(cdf, 10.0, 2000, np.random.default_rng(9))
    b = poisson_requests(cdf, 10.0, 2000, np.random.default_rng(9))
    assert np.array_equal(a.prompt_tokens, b.prompt_tokens)
    idx, r2 = route_by_length(a, [2048, 65536], 1.5, 1.0, np.random.default_rng(0))
    L0, L = a.total_tokens, r2.total_tokens
    assert np.all(L[idx == 0] <= 2048)
    # p_compress = 1: every request in the band 2048 < L ≤ 3072 whose output fits the short
    # context is trimmed to exactly 2048 tokens and served short; the long pool gets the rest.
    band = (L0 > 2048) & (L0 <= 3072)
    compressed = band & (a.output_tokens < 2048)
    assert compressed.any() and (idx == 1).any()  # both branches are exercised
    assert np.all(idx[compressed] == 0) and np.all(L[compressed] == 2048)
    assert np.all(L0[idx == 1] > 2048)
    assert np.all((L0[idx == 1] > 3072) | (a.output_tokens[idx == 1] >= 2048))
    assert np.array_equal(L[~compressed], L0[~compressed])
    with pytest.raises(ValueError, match="mode"):
        simulate(a, np.zeros(len(a), int), [PoolSpec("p", A100, 1, 65536)], mode="x")
    with pytest.raises(ValueError, match="units"):
        PoolSpec("p", A100, 0, 4096)
