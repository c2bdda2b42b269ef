"""Quantiles and miss rates of simulated latencies with confidence intervals.

Math
----
Simulated requests of one run are not independent (a busy period delays many neighbours),
so an iid binomial interval is too narrow.  We use *batch means*: the measured requests,
in arrival order, are cut into ``K`` contiguous batches (default 20).  For a miss
indicator ``Z_i = 1[X_i > t]`` the estimate is ``p = mean(Z)`` and its standard error is
the larger of the batch-means one, ``sd(batch means) / sqrt(K)``, and the binomial one,
``sqrt(max(p, 1/n)(1 - p)/n)`` (the ``1/n`` floor keeps an interval when no request
missed); bounds use Student's t with ``K - 1`` degrees of freedom.  Batches shorter
than the correlation time (a few mean service times) understate the error, so
verification picks ``K`` so that each batch spans at least two mean service times.

Quantile ``x_q``: the same standard error of the indicator ``1[X_i <= x_q]`` defines an
effective sample size ``n_eff = q (1 - q) / se^2`` (at most ``n``); the interval is the
order-statistic (binomial) interval of ``n_eff`` iid draws mapped back to probabilities,
``[x_{q - z se}, x_{q + z se}]`` with ``z`` the normal quantile of the confidence level.
With independent samples it is the textbook order-statistic interval.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri, stdtrit  # not scipy.stats (~0.8 s of CLI start-up)

__all__ = ["miss_rate", "quantile_ci", "slo_report"]

BATCHES = 20


def _se_indicator(z: np.ndarray, batches: int) -> float:
    n = len(z)
    p = float(z.mean())
    se_bin = math.sqrt(max(p, 1.0 / n) * max(1.0 - p, 1.0 / n) / n)
    k = min(batches, n // 10)
    if k >= 2:
        m = np.array([b.mean() for b in np.array_split(z.astype(float), k)])
        se_bm = float(m.std(ddof=1) / math.sqrt(k))
        return max(se_bin, se_bm)
    return se_bin


def quantile_ci(x, q: float, level: float = 0.95, batches: int = BATCHES) -> dict:
    """``{"value", "lo", "hi", "n", "n_eff"}`` for the q-quantile of x (arrival order)."""
    x = np.asarray(x, float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return {"value": None, "lo": None, "hi": None, "n": 0, "n_eff": 0}
    v = float(np.quantile(x, q))
    se = _se_indicator(x <= v, batches)
    z = float(ndtri(0.5 + level / 2))
    lo_p, hi_p = max(q - z * se, 0.0), min(q + z * se, 1.0)
    xs = np.sort(x)
    lo = float(xs[max(math.floor(lo_p * n) - 1, 0)])
    hi = float(xs[min(math.ceil(hi_p * n), n - 1)]) if hi_p < 1 else math.inf
    n_eff = min(n, q * (1 - q) / se**2) if se > 0 else n
    return {"value": v, "lo": lo, "hi": hi, "n": n, "n_eff": float(n_eff)}


def miss_rate(miss, level: float = 0.95, batches: int = BATCHES) -> dict:
    """``{"rate", "lo", "hi", "ucb", "n"}``: share of True in ``miss`` (arrival order),
    two-sided ``level`` interval and the one-sided upper bound at the same level."""
    z_arr = np.asarray(miss, bool)
    n = len(z_arr)
    if n == 0:
        return {"rate": None, "lo": None, "hi": None, "ucb": None, "n": 0}
    p = float(z_arr.mean())
    se = _se_indicator(z_arr, batches)
    # Student t with K - 1 degrees of freedom: batch means are few when each must span
    # several service times (verification passes K = 5..20)
    k = min(batches, n // 10)
    def ppf(p: float) -> float:
        return float(stdtrit(k - 1, p)) if k >= 2 else float(ndtri(p))

    z2, z1 = ppf(0.5 + level / 2), ppf(level)
    return {"rate": p, "lo": max(p - z2 * se, 0.0), "hi": min(p + z2 * se, 1.0),
            "ucb": min(p + z1 * se, 1.0), "n": n}


def slo_report(req, res, slo, profiles, batches: int = BATCHES) -> dict:
    """Check a :class:`queueing.slo.TTFTSLO` on a simulation (measured requests only).

    A request misses a constraint when its TTFT exceeds its target or it was rejected
    for its pool's context or KV (it never got a token).  Requests longer than every
    pool are outside the fleet's range and are only counted (``unserved``).  ``met``
    is decided on the upper confidence bound: the plan meets the SLO when, for every
    constraint, the one-sided 95 % upper bound of the miss rate is <= 1 - q.
    """
    from hetserve.queueing.slo import prefill_alone_s

    meas = res.measured
    reason = res.reject_reason
    prompt = req.prompt_tokens.astype(float)
    tokens = req.total_tokens.astype(float)
    pmin = prefill_alone_s(prompt, profiles)
    unserved = meas & (reason == "longer_than_every_pool")
    in_range = meas & ~unserved
    ttft = res.ttft_s
    cons = []
    for c in slo.constraints():
        members = in_range & slo.members(c, tokens, prompt, pmin)
        target = np.asarray(c.target(prompt, pmin), float) * np.ones(len(prompt))
        with np.errstate(invalid="ignore"):
            miss = (reason != "") | ~(ttft <= target)
        mr = miss_rate(miss[members], batches=batches)
        with np.errstate(invalid="ignore", divide="ignore"):
            norm = np.where(reason != "", np.inf, ttft / target)
        allowed = 1.0 - c.quantile
        cons.append({"name": c.name, "quantile": c.quantile, "allowed_miss": allowed,
                     "miss": mr, "normalised_quantile": quantile_ci(norm[members], c.quantile),
                     "met_point": mr["rate"] is not None and mr["rate"] <= allowed + 1e-12,
                     "met": mr["ucb"] is not None and mr["ucb"] <= allowed + 1e-12})
    unserv = slo.unservable_mask(tokens, prompt, pmin) & in_range
    n_in = int(in_range.sum())
    return {"definition": slo.to_dict(), "constraints": cons,
            "unservable": {"count": int(unserv.sum()),
                           "share": float(unserv.sum() / n_in) if n_in else 0.0,
                           "policy": slo.unservable},
            "unserved_longer_than_every_pool": int(unserved.sum()),
            "met": all(c["met"] for c in cons), "met_point": all(c["met_point"] for c in cons)}
