import math

import numpy as np
import pytest

from hetserve.queueing.erlang import (
    erlang_b,
    erlang_b_recursive,
    erlang_c,
    erlang_c_scalar,
    wait_mean,
    wait_quantile,
    wait_tail,
)


def test_erlang_c_textbook_values():
    # c = 2, a = 1: C = 1/3
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-12)
    assert erlang_c_scalar(2, 1.0) == pytest.approx(1 / 3, rel=1e-12)
    # M/M/3 with lambda = 2, mu = 1: P0 = 1/9, C = 4/9, Wq = C / (c mu - lambda) = 4/9
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9, rel=1e-12)
    assert wait_mean(3, 2.0, 1.0) == pytest.approx(4 / 9, rel=1e-12)
    # M/M/1: C = rho
    assert erlang_c(1, 0.7) == pytest.approx(0.7, rel=1e-12)


def test_erlang_b_matches_recursion():
    for c in (1, 2, 5, 17, 100, 400):
        for a in (0.1, 1.0, 0.8 * c, c, 1.3 * c):
            assert erlang_b(c, a) == pytest.approx(erlang_b_recursive(c, a), rel=1e-9)


def test_stable_at_1e5_servers():
    c = 100_000
    for rho in (0.5, 0.99, 0.999, 0.9999):
        val = erlang_c(c, rho * c)
        assert 0.0 <= val <= 1.0 and math.isfinite(val)
        assert erlang_c_scalar(c, rho * c) == pytest.approx(val, rel=1e-8, abs=1e-300)
    b_ref = erlang_b_recursive(c, 0.999 * c)
    assert erlang_b(c, 0.999 * c) == pytest.approx(b_ref, rel=1e-8)
    # monotone in load
    vals = erlang_c(np.full(5, c), np.array([0.99, 0.995, 0.998, 0.999, 0.9999]) * c)
    assert np.all(np.diff(vals) > 0)
    assert erlang_c(c, 1.2 * c) == 1.0


def test_mmc_wait_quantile_is_exact_for_exponential_service():
    c, lam, mu = 4, 3.0, 1.0
    C = erlang_c(c, lam / mu)
    t99 = wait_quantile(0.99, c, lam, mu, cv2=1.0)
    assert t99 == pytest.approx(math.log(C / 0.01) / (c * mu - lam), rel=1e-12)
    assert wait_tail(t99, c, lam, mu) == pytest.approx(0.01, rel=1e-9)
    # lower variability -> shorter tail; unstable -> infinite
    assert wait_quantile(0.99, c, lam, mu, cv2=0.2) < t99
    assert wait_quantile(0.99, 2, 3.0, 1.0) == math.inf
    assert wait_quantile(0.99, 100, 1.0, 1.0) == 0.0


def test_invalid_inputs_name_the_field():
    with pytest.raises(ValueError, match="c:"):
        erlang_c(0, 1.0)
    with pytest.raises(ValueError, match="a:"):
        erlang_b(3, -1.0)
    with pytest.raises(ValueError, match="q:"):
        wait_quantile(1.5, 3, 1.0, 1.0)
