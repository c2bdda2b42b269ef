"""Token-budget router for a short/long pool pair with online bytes-per-token calibration.

Math
----
The gateway sees a prompt's size in bytes, not its token count.  Per request category
``k`` (e.g. english, code, cjk, mixed) it keeps an exponentially weighted estimate of the
bytes-per-token ratio ``r = bytes / prompt_tokens`` learned from the engine's reported
``prompt_tokens`` after each response::

    m_k <- d m_k + (1 - d) r,      v_k <- d v_k + (1 - d) (r - m_k_old)^2

(decay ``d`` = 0.95 by default; the first observation initialises ``m_k``).  Routing
uses the conservative ratio ``c_k = m_k - z sqrt(v_k)`` (``z`` = 1): a smaller ratio means
more estimated tokens, so uncertainty errs toward the long pool.  Until a category has
``min_samples`` observations the global default ratio (4 bytes/token) is used.

Token budget of a request: ``L_hat = ceil(bytes / c_k) + max_output_tokens``; route to the
short pool iff ``L_hat <= B`` (the short pool's context).  A *misroute* is a decision that
differs from the oracle that knows the true prompt tokens (same rule with
``prompt_tokens + max_output_tokens``): "unsafe" if sent short while the true budget
exceeds ``B`` (risk of KV overflow / preemption in the short pool), "wasteful" if sent
long while it fits short.

The Azure traces carry token counts only.  :func:`synth_bytes` therefore synthesises
bytes per request from the prompt tokens with a per-category true ratio and lognormal
noise (seeded ``numpy.random.Generator``); the categories and ratios are illustrative
assumptions, not measurements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["DEFAULT_CATEGORY_RATIOS", "RouteReport", "TokenBudgetRouter", "evaluate_router",
           "synth_bytes"]

DEFAULT_CATEGORY_RATIOS = {"english": 4.2, "code": 3.2, "cjk": 1.6, "mixed": 3.0}


@dataclass
class TokenBudgetRouter:
    """Online EMA estimator of bytes/token per category plus the budget routing rule."""

    boundary: int
    decay: float = 0.95
    z: float = 1.0
    default_ratio: float = 4.0
    min_samples: int = 10
    min_ratio: float = 0.5
    _mean: dict = field(default_factory=dict, repr=False)
    _var: dict = field(default_factory=dict, repr=False)
    _n: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if not isinstance(self.boundary, (int, np.integer)) or self.boundary < 1:
            raise ValueError(f"boundary: must be an integer >= 1 token, got {self.boundary!r}")
        if not 0 < self.decay < 1:
            raise ValueError(f"decay: must be in (0, 1), got {self.decay!r}")
        if self.z < 0:
            raise ValueError(f"z: must be >= 0, got {self.z!r}")
        if not self.default_ratio > 0:
            raise ValueError("default_ratio: must be > 0 bytes/token")
        if self.min_samples < 1:
            raise ValueError("min_samples: must be >= 1")

    def observe(self, category: str, n_bytes: float, prompt_tokens: int) -> None:
        """Feed back the engine's prompt token count for a served request."""
        if prompt_tokens < 1:
            raise ValueError("prompt_tokens: must be >= 1")
        if n_bytes <= 0:
            raise ValueError("n_bytes: must be > 0")
        r = n_bytes / prompt_tokens
        n = self._n.get(category, 0)
        if n == 0:
            self._mean[category], self._var[category] = r, 0.0
        else:
            m = self._mean[category]
            d = self.decay
            self._mean[category] = d * m + (1 - d) * r
            self._var[category] = d * self._var[category] + (1 - d) * (r - m) ** 2
        self._n[category] = n + 1

    def ratio(self, category: str) -> float:
        """Conservative bytes/token used for routing (m - z sigma, or the default)."""
        if self._n.get(category, 0) < self.min_samples:
            return self.default_ratio
        return max(self.min_ratio, self._mean[category] - self.z * math.sqrt(self._var[category]))

    def mean_ratio(self, category: str) -> float | None:
        return self._mean.get(category)

    def estimate_tokens(self, category: str, n_bytes: float, max_output_tokens: int) -> int:
        return math.ceil(n_bytes / self.ratio(category)) + int(max_output_tokens)

    def route(self, category: str, n_bytes: float, max_output_tokens: int) -> int:
        """0 = short pool, 1 = long pool."""
        est = self.estimate_tokens(category, n_bytes, max_output_tokens)
        return 0 if est <= self.boundary else 1


def synth_bytes(prompt_tokens, rng: np.random.Generator, ratios=None, weights=None,
                noise_sigma: float = 0.15):
    """Synthetic (categories, bytes) for token counts: bytes = tokens * ratio_k * LogNormal."""
    ratios = dict(DEFAULT_CATEGORY_RATIOS if ratios is None else ratios)
    names = list(ratios)
    w = np.full(len(names), 1.0 / len(names)) if weights is None else np.asarray(weights, float)
    if w.shape != (len(names),) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights: need one non-negative weight per category")
    if noise_sigma < 0:
        raise ValueError("noise_sigma: must be >= 0")
    tok = np.asarray(prompt_tokens, float)
    cat = rng.choice(len(names), size=tok.size, p=w / w.sum())
    base = np.array([ratios[n] for n in names])[cat]
    noise = np.exp(rng.normal(-0.5 * noise_sigma**2, noise_sigma, tok.size))
    return np.array(names)[cat], np.maximum(1.0, tok * base * noise)


@dataclass(frozen=True)
class RouteReport:
    n: int
    boundary: int
    misroutes: int
    unsafe: int  # sent short, true budget > B
    wasteful: int  # sent long, true budget <= B
    misroute_rate: float
    fixed_ratio_misroutes: int
    fixed_ratio_unsafe: int
    ratio_error_pct: dict
    route: np.ndarray = field(repr=False)
    oracle: np.ndarray = field(repr=False)
    fixed_route: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("n", "boundary", "misroutes", "unsafe", "wasteful",
                                              "misroute_rate", "fixed_ratio_misroutes",
                                              "fixed_ratio_unsafe", "ratio_error_pct")}


def evaluate_router(prompt_tokens, max_output_tokens, categories, n_bytes, boundary: int,
                    decay: float = 0.95, z: float = 1.0, true_ratios=None) -> RouteReport:
    """Route a stream online (estimate, route, then observe) and compare with the oracle
    and with a fixed global 4 bytes/token estimator."""
    router = TokenBudgetRouter(int(boundary), decay=decay, z=z)
    prompt = np.asarray(prompt_tokens, np.int64)
    mo = np.broadcast_to(np.asarray(max_output_tokens, np.int64), prompt.shape)
    nb = np.asarray(n_bytes, float)
    cats = np.asarray(categories)
    n = prompt.size
    route = np.empty(n, np.int64)
    for i in range(n):
        c = str(cats[i])
        route[i] = router.route(c, nb[i], int(mo[i]))
        router.observe(c, nb[i], int(prompt[i]))
    oracle = (prompt + mo > boundary).astype(np.int64)
    fixed = (np.ceil(nb / router.default_ratio) + mo > boundary).astype(np.int64)
    unsafe = int(((route == 0) & (oracle == 1)).sum())
    wasteful = int(((route == 1) & (oracle == 0)).sum())
    true_ratios = DEFAULT_CATEGORY_RATIOS if true_ratios is None else true_ratios
    err = {c: 100.0 * abs(router.mean_ratio(c) - true_ratios[c]) / true_ratios[c]
           for c in set(cats.tolist()) if c in true_ratios and router.mean_ratio(c) is not None}
    return RouteReport(n, int(boundary), unsafe + wasteful, unsafe, wasteful,
                       (unsafe + wasteful) / max(n, 1), int((fixed != oracle).sum()),
                       int(((fixed == 0) & (oracle == 1)).sum()), err, route, oracle, fixed)
