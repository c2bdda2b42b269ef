"""prefetch_slices (the planner's one-pass quadrature of many slices) equals the
slice-by-slice quadrature."""

from __future__ import annotations

import numpy as np
import pytest

from hetserve.queueing import workload as W
from hetserve.queueing.workload import load_workload, prefetch_slices


def _specs(cdf, rng, n=60):
    t = np.array(cdf.tokens)
    out = []
    for _ in range(n):
        kind = rng.integers(4)
        if kind == 0:  # breakpoint to breakpoint (whole pieces only)
            i, j = sorted(rng.choice(len(t), 2, replace=False))
            lo, hi = float(t[i]), float(t[j])
        elif kind == 1:  # inside one piece
            k = int(rng.integers(1, len(t)))
            lo, hi = sorted(rng.uniform(t[k - 1], t[k], 2))
        elif kind == 2:  # breakpoint to inside a piece (a gamma band)
            i = int(rng.integers(len(t) - 1))
            lo, hi = float(t[i]), float(t[i] * rng.uniform(1.05, 2.5))
        else:  # anywhere, may pass the largest breakpoint
            lo, hi = sorted(rng.uniform(0.0, 1.2 * t[-1], 2))
        out.append((float(lo), float(hi)))
    return out


def _same(a: W.SliceStats, b: W.SliceStats) -> None:
    for k in ("lo", "hi", "chunk"):
        assert getattr(a, k) == getattr(b, k)
    for k in ("mass", "mean_tokens", "mean_iters", "m2_iters", "mean_prefill_iters",
              "mean_ctx_sum"):
        assert getattr(a, k) == pytest.approx(getattr(b, k), rel=1e-12, abs=1e-15), k
    for k in ("prefill_iters", "prefill_w", "node_prompt", "node_prefill", "node_tokens",
              "node_w"):
        x, y = getattr(a, k), getattr(b, k)
        assert x.shape == y.shape, k
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-15, err_msg=k)


@pytest.mark.parametrize("workload", ["lmsys", "agent-heavy", "azure-conv"])
@pytest.mark.parametrize("compressed", [False, True])
def test_prefetch_equals_one_by_one(workload, compressed):
    cdf = load_workload(workload)
    rng = np.random.default_rng(7)
    specs = [(lo, hi, lo if compressed and lo > 0 else None)
             for lo, hi in _specs(cdf, rng) if hi > lo]
    W._SLICES.clear()
    prefetch_slices(cdf, specs, 512)
    for lo, hi, ct in specs:
        got = W._SLICES[(cdf, lo, hi, 512, 48, ct)]
        _same(got, W._slice_one(cdf, lo, hi, 512, 48, ct))
    W._SLICES.clear()
