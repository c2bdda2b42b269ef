"""Erlang-B / Erlang-C and the two-moment waiting-time tail of an M/G/c queue.

Math
----
Offered load ``a = lambda / mu`` (Erlangs) on ``c`` identical servers, utilisation
``rho = a / c``.

* Erlang-B (blocking of M/M/c/c) equals the ratio of a Poisson(a) probability mass to
  its distribution function at ``c``::

      B(c, a) = P[N = c] / P[N <= c],  N ~ Poisson(a)

  We evaluate the numerator in log space, ``c ln a - a - lnGamma(c + 1)``, and the
  denominator with the regularised upper incomplete gamma function
  ``Q(c + 1, a) = P[N <= c]`` (``scipy.special.gammaincc``).  Both are stable for
  ``c`` up to 10^7 and vectorise over numpy arrays, so one Erlang evaluation costs a
  few microseconds regardless of ``c`` (the classic recursion
  ``B_k = a B_{k-1} / (k + a B_{k-1})`` is O(c) and is kept as
  :func:`erlang_b_recursive` for cross-checks).
* Erlang-C (probability that an arrival waits in M/M/c) from Erlang-B::

      C(c, a) = B / (1 - rho (1 - B)),      valid for rho < 1 (C = 1 otherwise)

* Waiting-time tail.  For M/M/c the conditional wait is exponential:
  ``P(W > t) = C exp(-(c mu - lambda) t)``.  For M/G/c we use the two-moment
  (Allen-Cunneen / Kimura) scaling of the decay rate by ``2 / (c_a^2 + c_s^2)`` with
  Poisson arrivals (``c_a^2 = 1``)::

      P(W > t) ~= C exp(-theta t),   theta = 2 (c mu - lambda) / (1 + cv2)

  so the q-quantile of the wait is ``max(0, ln(C / (1 - q)) / theta)`` and the mean
  wait is ``C / theta``.  This is exact for exponential service (cv2 = 1) and an
  approximation otherwise; it is optimistic when service times are heavy-tailed and
  the pool has few servers (head-of-line blocking), see docs/queueing.md.

Choices: ``c`` may be any positive real (the gamma-function form interpolates), but
callers pass integers; ``rho >= 1`` returns ``C = 1`` and an infinite tail.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

__all__ = [
    "erlang_b",
    "erlang_b_recursive",
    "erlang_c",
    "erlang_c_scalar",
    "wait_mean",
    "wait_quantile",
    "wait_tail",
    "wait_tail_rate",
]


def _check(c, a):
    c = np.asarray(c, dtype=float)
    a = np.asarray(a, dtype=float)
    if np.any(c <= 0):
        raise ValueError("c: number of servers must be > 0")
    if np.any(a < 0):
        raise ValueError("a: offered load must be >= 0")
    return c, a


def erlang_b(c, a):
    """Erlang-B blocking probability, stable in log space, vectorised over c and a."""
    c, a = _check(c, a)
    a_safe = np.where(a > 0, a, 1.0)
    log_pmf = c * np.log(a_safe) - a_safe - special.gammaln(c + 1.0)
    cdf = special.gammaincc(c + 1.0, a_safe)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        b = np.exp(log_pmf) / cdf
    # cdf underflow only happens for a >> c, where B -> 1 - c/a
    b = np.where(cdf > 0, b, 1.0 - c / a_safe)
    b = np.where(a > 0, b, 0.0)
    b = np.clip(b, 0.0, 1.0)
    return float(b) if b.ndim == 0 else b


def erlang_b_recursive(c: int, a: float) -> float:
    """Erlang-B by the textbook recursion (O(c)); reference implementation for tests."""
    if c < 0 or int(c) != c:
        raise ValueError("c: must be a non-negative integer")
    if a < 0:
        raise ValueError("a: offered load must be >= 0")
    b = 1.0
    for k in range(1, int(c) + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c, a):
    """Erlang-C probability of waiting; 1.0 when a >= c (unstable queue)."""
    c, a = _check(c, a)
    b = np.asarray(erlang_b(c, a), dtype=float)
    rho = a / c
    with np.errstate(divide="ignore", invalid="ignore"):
        cc = b / (1.0 - rho * (1.0 - b))
    cc = np.where(rho < 1.0, np.clip(cc, 0.0, 1.0), 1.0)
    return float(cc) if cc.ndim == 0 else cc


def erlang_c_scalar(c: float, a: float) -> float:
    """Scalar Erlang-C with plain floats (same formula, ~2 us per call, for inner loops)."""
    if c <= 0:
        raise ValueError("c: number of servers must be > 0")
    if a <= 0:
        return 0.0
    if a >= c:
        return 1.0
    cdf = float(special.gammaincc(c + 1.0, a))
    if cdf <= 0.0:
        return 1.0
    log_pmf = c * math.log(a) - a - math.lgamma(c + 1.0)
    b = min(max(math.exp(log_pmf) / cdf, 0.0), 1.0) if log_pmf > -745.0 else 0.0
    return min(max(b / (1.0 - (a / c) * (1.0 - b)), 0.0), 1.0)


def wait_tail_rate(c, lam, mu, cv2=1.0):
    """Decay rate theta of P(W > t) ~= C exp(-theta t); <= 0 means unstable."""
    return 2.0 * (np.asarray(c, float) * mu - lam) / (1.0 + np.asarray(cv2, float))


def wait_tail(t, c, lam, mu, cv2=1.0):
    """Two-moment approximation of P(W > t) for M/G/c (exact for M/M/c)."""
    if mu <= 0:
        raise ValueError("mu: service rate must be > 0")
    if lam < 0:
        raise ValueError("lam: arrival rate must be >= 0")
    cc = erlang_c(c, lam / mu)
    theta = wait_tail_rate(c, lam, mu, cv2)
    t = np.asarray(t, float)
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.where(theta > 0, cc * np.exp(-np.maximum(theta, 0.0) * np.maximum(t, 0.0)), 1.0)
    out = np.where(t < 0, 1.0, out)
    return float(out) if out.ndim == 0 else out


def wait_quantile(q: float, c, lam: float, mu: float, cv2: float = 1.0) -> float:
    """q-quantile of the waiting time (0 when the wait probability is below 1 - q)."""
    if not 0.0 < q < 1.0:
        raise ValueError("q: quantile must be in (0, 1)")
    if mu <= 0:
        raise ValueError("mu: service rate must be > 0")
    theta = float(wait_tail_rate(c, lam, mu, cv2))
    if theta <= 0:
        return math.inf
    cc = float(erlang_c(c, lam / mu))
    if cc <= 1.0 - q:
        return 0.0
    return math.log(cc / (1.0 - q)) / theta


def wait_mean(c, lam: float, mu: float, cv2: float = 1.0) -> float:
    """Mean wait C / theta (Allen-Cunneen two-moment form)."""
    theta = float(wait_tail_rate(c, lam, mu, cv2))
    if theta <= 0:
        return math.inf
    return float(erlang_c(c, lam / mu)) / theta
