import numpy as np
import pytest

from hetserve.queueing.router import TokenBudgetRouter, evaluate_router, synth_bytes


def test_ema_converges_to_true_ratio():
    rng = np.random.default_rng(5)
    r = TokenBudgetRouter(boundary=4096, decay=0.95)
    assert r.ratio("cjk") == 4.0  # default before min_samples
    for _ in range(300):
        tok = int(rng.integers(100, 3000))
        r.observe("cjk", tok * 1.6 * float(np.exp(rng.normal(0, 0.05))), tok)
    assert r.mean_ratio("cjk") == pytest.approx(1.6, rel=0.03)
    # conservative: below the mean, so more estimated tokens
    assert r.ratio("cjk") < r.mean_ratio("cjk")
    assert r.estimate_tokens("cjk", 1600, 100) > 1000 + 100


def test_router_beats_fixed_ratio_on_cjk_heavy_mix():
    rng = np.random.default_rng(1)
    tok = rng.integers(200, 4000, size=4000)
    cats, nb = synth_bytes(tok, rng, weights=[0.25, 0.25, 0.25, 0.25])
    rep = evaluate_router(tok, 512, cats, nb, 4096)
    assert rep.unsafe < rep.fixed_ratio_unsafe
    assert rep.misroutes == int((rep.route != rep.oracle).sum())
    assert all(e < 5 for e in rep.ratio_error_pct.values())


def test_router_validation():
    with pytest.raises(ValueError, match="decay"):
        TokenBudgetRouter(4096, decay=1.5)
    with pytest.raises(ValueError, match="boundary"):
        TokenBudgetRouter(0)
    with pytest.raises(ValueError, match="prompt_tokens"):
        TokenBudgetRouter(4096).observe("x", 10.0, 0)
