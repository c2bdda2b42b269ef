"""The TTFT service-level objective as users state it (docs/queueing.md §1a).

Math
----
A request with ``L_in`` prompt tokens has the TTFT target ``t(L_in) = a + b L_in``
(``b = 0``: a flat target; ``b > 0``: the length-aware form services publish, "a
seconds plus b per prompt token").  It *misses* when its TTFT exceeds ``t(L_in)``.
A constraint ``(range, a, b, q)`` over the requests whose total tokens lie in ``range``
holds when the share of them that miss is at most ``1 - q``; equivalently the
``q``-quantile of ``TTFT / t(L_in)`` is at most 1 (with ``b = 0`` that is the familiar
"P99 TTFT <= a").  The SLO is one fleet-wide constraint (all requests) plus optional
per-class constraints (classes are token ranges, e.g. "chat <= 4096 tokens: P99 0.3 s").

Unservable requests.  On a unit of profile ``p`` a request alone needs
``ceil(L_in / chunk_p) (W_p + H_p L_in / cal_p)`` seconds of prefill (its own KV context
is resident from the first chunk, as in the simulator).  A request whose prefill alone
exceeds its target on *every* profile of the fleet can never meet the SLO; these are
counted and named, and ``unservable`` states what the SLO does with them:

* ``count`` (default): they stay in the population as certain misses and use up part of
  the ``1 - q`` budget; the plan is infeasible if their share alone exceeds it;
* ``exclude``: they leave the quantile's population; their share is reported;
* ``own_class``: they leave it and form their own class whose target is their prefill
  alone plus ``a`` (the same queueing allowance as everyone else);
* ``infeasible``: any unservable request in the served range makes the plan infeasible.

Sizing with a fleet-wide quantile (used by :mod:`queueing.planner`): a constraint's
misses over the fleet are ``sum_p s_p v_p`` (``s_p`` its share of the constraint's
requests in pool ``p``, ``v_p`` the pool's miss probability).  Every pool gets the same
excess allowance ``delta = (1 - q) - M`` on top of its certain misses ``m_p``
(``M = sum_p s_p m_p``): ``v_p <= m_p + delta`` for every pool implies the fleet
constraint.  Without certain misses that is the per-pool ``v_p <= 1 - q`` rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "TTFTSLO",
    "UNSERVABLE_POLICIES",
    "Constraint",
    "SLOClass",
    "as_slo",
    "prefill_alone_s",
]

UNSERVABLE_POLICIES = ("count", "exclude", "own_class", "infeasible")


def _num(name: str, v, lo: float, hi: float, lo_open: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name}: must be a number, got {v!r}")
    v = float(v)
    if not math.isfinite(v) or v < lo or v > hi or (lo_open and v == lo):
        op = ">" if lo_open else ">="
        raise ValueError(f"{name}: must be finite, {op} {lo:g} and <= {hi:g}, got {v!r}")
    return v


@dataclass(frozen=True)
class SLOClass:
    """A per-class constraint: requests with total tokens in (min_tokens, max_tokens]."""

    name: str
    max_tokens: float
    target_s: float
    per_token_s: float = 0.0
    quantile: float = 0.99
    min_tokens: float = 0.0

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("classes: every class needs a non-empty name")
        _num(f"classes[{self.name}].max_tokens", self.max_tokens, 1.0, 1e9)
        _num(f"classes[{self.name}].min_tokens", self.min_tokens, 0.0, 1e9)
        if self.min_tokens >= self.max_tokens:
            raise ValueError(f"classes[{self.name}].min_tokens: must be < max_tokens")
        _num(f"classes[{self.name}].target_s", self.target_s, 0.0, 1e6, lo_open=True)
        _num(f"classes[{self.name}].per_token_s", self.per_token_s, 0.0, 1.0)
        q = _num(f"classes[{self.name}].quantile", self.quantile, 0.0, 1.0, lo_open=True)
        if q >= 1:
            raise ValueError(f"classes[{self.name}].quantile: must be < 1")


@dataclass(frozen=True)
class Constraint:
    """One quantile constraint compiled for a fleet: what a planner and a simulator check."""

    name: str
    lo_tokens: float
    hi_tokens: float
    target_s: float
    per_token_s: float
    quantile: float
    own_class: bool = False  # target = prefill alone + target_s, only unservable requests

    def target(self, prompt_tokens, prefill_alone=None):
        p = np.asarray(prompt_tokens, float)
        if self.own_class:
            return np.asarray(prefill_alone, float) + self.target_s
        return self.target_s + self.per_token_s * p


@dataclass(frozen=True)
class TTFTSLO:
    """Fleet-wide quantile TTFT target ``a + b * prompt tokens``, optional classes, policy."""

    target_s: float
    per_token_s: float = 0.0
    quantile: float = 0.99
    unservable: str = "count"
    classes: tuple[SLOClass, ...] = ()

    def __post_init__(self):
        _num("slo_ttft", self.target_s, 0.0, 1e6, lo_open=True)
        _num("slo_per_token", self.per_token_s, 0.0, 1.0)
        q = _num("quantile", self.quantile, 0.0, 1.0, lo_open=True)
        if q >= 1:
            raise ValueError(f"quantile: must be in (0, 1), got {q!r}")
        if self.unservable not in UNSERVABLE_POLICIES:
            raise ValueError(f"unservable: must be one of {UNSERVABLE_POLICIES}, "
                             f"got {self.unservable!r}")
        object.__setattr__(self, "classes", tuple(self.classes))
        names = [c.name for c in self.classes]
        if len(set(names)) != len(names) or "fleet" in names:
            raise ValueError("classes: names must be unique and not 'fleet'")
        # hashed once: the SLO keys the planner's per-calibration constraint cache
        object.__setattr__(self, "_hash", hash((self.target_s, self.per_token_s,
                                                self.quantile, self.unservable,
                                                self.classes)))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined]

    @property
    def flat(self) -> bool:
        return self.per_token_s == 0.0 and not self.classes

    def base_constraints(self) -> tuple[Constraint, ...]:
        out = [Constraint("fleet", 0.0, math.inf, self.target_s, self.per_token_s,
                          self.quantile)]
        out += [Constraint(c.name, c.min_tokens, c.max_tokens, c.target_s, c.per_token_s,
                           c.quantile) for c in self.classes]
        return tuple(out)

    def constraints(self) -> tuple[Constraint, ...]:
        """The constraints to check; ``own_class`` adds one per base constraint."""
        base = self.base_constraints()
        if self.unservable != "own_class":
            return base
        return base + tuple(Constraint(f"{c.name}:unservable", c.lo_tokens, c.hi_tokens,
                                       c.target_s, 0.0, c.quantile, own_class=True)
                            for c in base)

    def members(self, con: Constraint, tokens, prompt, prefill_min):
        """Boolean mask of the requests (or quadrature nodes) that ``con`` covers."""
        tokens = np.asarray(tokens, float)
        inr = (tokens > con.lo_tokens) & (tokens <= con.hi_tokens)
        if self.unservable not in ("exclude", "own_class"):
            return inr
        base = next(b for b in self.base_constraints()
                    if b.name == con.name.split(":")[0])
        unserv = np.asarray(prefill_min, float) > base.target(prompt)
        return inr & (unserv if con.own_class else ~unserv)

    def unservable_mask(self, tokens, prompt, prefill_min):
        """Requests that miss some base constraint's target by prefill alone everywhere."""
        tokens = np.asarray(tokens, float)
        out = np.zeros(tokens.shape, bool)
        for c in self.base_constraints():
            inr = (tokens > c.lo_tokens) & (tokens <= c.hi_tokens)
            out |= inr & (np.asarray(prefill_min, float) > c.target(prompt))
        return out

    def describe(self) -> str:
        s = f"P{100 * self.quantile:g} TTFT <= {self.target_s:g} s"
        if self.per_token_s:
            s += f" + {self.per_token_s * 1e3:g} ms per 1k prompt tokens"
        s = s.replace(" ms per 1k", " ms per 1k") if self.per_token_s else s
        return s + f" over the fleet (unservable requests: {self.unservable})"

    def to_dict(self) -> dict:
        return {"quantile": self.quantile, "target_s": self.target_s,
                "per_token_s": self.per_token_s, "unservable": self.unservable,
                "meaning": "share of requests with TTFT > target_s + per_token_s * prompt "
                           "tokens is at most 1 - quantile, over the whole fleet (and per "
                           "class)",
                "classes": [{"name": c.name, "min_tokens": c.min_tokens,
                             "max_tokens": c.max_tokens, "target_s": c.target_s,
                             "per_token_s": c.per_token_s, "quantile": c.quantile}
                            for c in self.classes]}

    @classmethod
    def from_dict(cls, d: dict) -> TTFTSLO:
        if not isinstance(d, dict):
            raise ValueError("slo: must be a JSON object")
        try:
            classes = tuple(SLOClass(c["name"], c["max_tokens"], c["target_s"],
                                     c.get("per_token_s", 0.0), c.get("quantile", 0.99),
                                     c.get("min_tokens", 0.0)) for c in d.get("classes", []))
            return cls(d["target_s"], d.get("per_token_s", 0.0), d.get("quantile", 0.99),
                       d.get("unservable", "count"), classes)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"slo: missing or malformed field ({exc})") from None


def as_slo(slo, q: float = 0.99) -> TTFTSLO:
    """A TTFTSLO from a TTFTSLO or a flat target in seconds (quantile ``q``)."""
    if isinstance(slo, TTFTSLO):
        return slo
    return TTFTSLO(_num("slo_ttft", slo, 0.0, 1e6, lo_open=True), quantile=q)


def prefill_alone_s(prompt_tokens, profiles) -> np.ndarray:
    """Fastest prefill of each prompt alone on a unit of any of ``profiles`` (seconds)."""
    p = np.asarray(prompt_tokens, float)
    best = np.full(p.shape, np.inf)
    for prof in dict.fromkeys(profiles):  # each distinct profile once
        t = np.ceil(np.maximum(p, 1.0) / prof.chunk) * (prof.W + prof.H * p
                                                          / prof.calibration_ctx)
        best = np.minimum(best, t)
    return best
