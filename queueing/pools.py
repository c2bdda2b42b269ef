"""One serving pool as a slot-level M/G/c queue: calibration, P99 TTFT and sizing.

Math
----
A pool runs ``n`` units (GPUs or replicas, see :mod:`queueing.profiles`) with max context
``ctx``; each unit has ``k = k(ctx)`` KV slots, so the pool is an M/G/c queue with
``c = n k`` servers (a request holds one slot from admission to its last token).

Work per request (from :func:`queueing.workload.slice_stats`, deterministic quadrature):
``I`` iterations (``P`` prefill chunks + ``L_out`` decode steps), moments ``E[I]``,
``E[I^2]`` and the iteration-weighted resident KV context ``Lbar``.

Iteration time.  Continuous batching shares one iteration among all resident sequences:
``tau = W + H * n_res * Lbar / calibration_ctx`` with ``n_res`` resident sequences per unit.
Two choices:

* ``batch="load"`` (default): ``n_res = rho k``, the mean occupancy, which closes into a
  fixed point with ``rho = lambda E[I] tau / (n k)``::

      rho_slot = lambda E[I] W / ( k (n - lambda E[I] H Lbar / calibration_ctx) )

  (stable iff ``n > lambda E[I] H Lbar / cal`` and ``rho_slot < 1``).  This is what the detailed
  simulator does, so the analytic utilisation can be compared with it.
* ``batch="full"``: ``n_res = k`` (every slot busy), the fleet simulator's conservative form.

Service time of a slot ``S = I tau``: ``E[S] = E[I] tau``, ``cv2 = Var[I]/E[I]^2``, per-slot
rate ``mu = 1 / E[S]``.  The wait ``W_q`` follows Erlang-C with the two-moment tail
``P(W_q > t) = C exp(-theta t)``, ``theta = 2 (c mu - lambda)/(1 + cv2)``
(:mod:`queueing.erlang`).

TTFT = ``W_q + P tau`` (the first token leaves with the last prefill chunk).  The P99 TTFT
is the 0.99-quantile of that sum, with ``W_q`` independent of ``P`` and ``P`` taken from
its exact discrete distribution over the slice::

      P(TTFT > t) = sum_j w_j * [ 1 if t < P_j tau else C exp(-theta (t - P_j tau)) ]

solved by bisection.  This keeps the prefill tail (long prompts) in the P99, which the
"W99 + mean prefill" form of the fleet simulator drops (also reported, as
``p99_ttft_meanprefill_s``, for side-by-side comparison).

Iteration-time spread (:func:`_spread`, docs/queueing.md §1): a prefill runs at the
iteration time of its own unit's resident context when it joins, not at the pool mean:
the dispatcher's choice of the emptiest unit lowers the mean, the residents' contexts and
count spread it (Gamma, binned at conditional means), and half an iteration (the rest of
the one under way) precedes the first prefill iteration.  The tail then sums over
(node, bin) pairs; the queue keeps the mean ``tau``.

Utilisation.  ``rho = lambda / (n mu_max)`` with ``mu_max = k / (E[I] (W + H k Lbar/cal))``
the throughput of a unit with every slot busy: the fleet simulator's GPU utilisation, and
the quantity capped by ``rho_max``.  With ``batch="load"`` the mean slot occupancy
``rho_slot`` (the fixed point above, what a simulator measures as busy slots) is lower
than ``rho`` because a partly filled batch iterates faster; both are reported.

Sizing.  The smallest ``n`` with ``rho(n) <= rho_max`` and ``P(TTFT > SLO) <= 1 - q``;
``P(TTFT > SLO)`` is decreasing in ``n`` so we start at the utilisation bound and use
doubling + bisection.  A pool is infeasible when even an empty pool (``tau -> W``
for ``batch="load"``) misses the SLO on prefill alone, or when ``k(ctx) = 0``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from scipy import special

from .erlang import erlang_c_scalar
from .profiles import PoolProfile
from .workload import SliceStats, TokenCDF, slice_stats

__all__ = ["PoolCalibration", "PoolEval", "PoolTargets", "calibrate_pool", "calibrate_slice",
           "certain_miss", "evaluate_pool", "flat_targets", "mix_stats", "size_pool"]

MAX_UNITS = 10_000_000
BATCH_MODES = ("load", "full")


def mix_stats(parts: list[tuple[SliceStats, float]]) -> SliceStats:
    """Mixture of slice statistics with the given (relative) weights."""
    parts = [(s, w * s.mass) for s, w in parts if w > 0 and s.mass > 0]
    if not parts:
        return SliceStats(0.0, 0.0, 1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, np.zeros(1), np.ones(1))
    tot = sum(w for _, w in parts)
    ss = [s for s, _ in parts]
    ps = [w / tot for _, w in parts]

    def avg(attr):
        acc = 0  # the order of sum(): ((0 + x_1 p_1) + x_2 p_2) + ...
        for s, p in zip(ss, ps):
            acc = acc + getattr(s, attr) * p
        return float(acc)

    # prefill-iteration counts are whole numbers: collapse them with one bincount
    Pw = np.concatenate([s.prefill_w * p for s, p in zip(ss, ps)])
    binned = np.bincount(np.concatenate([s.prefill_iters for s in ss]).astype(np.int64),
                         weights=Pw)
    Pu = np.flatnonzero(binned > 0)
    # a slice's node weights are its prefill weights (one node per prefill count), so the
    # weighted node weights are Pw already
    node_w = (Pw if all(s.node_w is s.prefill_w for s in ss)
              else np.concatenate([s.node_w * p for s, p in zip(ss, ps)]))
    return SliceStats(min(s.lo for s in ss), max(s.hi for s in ss), ss[0].chunk, tot,
                      avg("mean_tokens"), avg("mean_iters"), avg("m2_iters"),
                      avg("mean_prefill_iters"), avg("mean_ctx_sum"), Pu.astype(float),
                      binned[Pu], np.concatenate([s.node_prompt for s in ss]),
                      np.concatenate([s.node_prefill for s in ss]),
                      np.concatenate([s.node_tokens for s in ss]), node_w,
                      avg("mean_ctx2_sum"))


@dataclass(frozen=True)
class PoolCalibration:
    """A profile at a max context with the work statistics of the traffic it serves."""

    profile: PoolProfile
    ctx: int
    k: int  # slots per unit
    stats: SliceStats
    batch: str = "load"
    tau_spread: bool = True
    """Model the iteration time a request's prefill sees as random (quasi-static resident
    context, :func:`_spread`); ``False`` keeps the mean-occupancy iteration time only."""

    def __post_init__(self):
        if self.ctx < 1:
            raise ValueError("ctx: must be >= 1 token")
        if self.k < 0:
            raise ValueError("k: slots per unit must be >= 0")
        if self.batch not in BATCH_MODES:
            raise ValueError(f"batch: must be one of {BATCH_MODES}, got {self.batch!r}")
        # derived once: the sweep reads them in every sizing step
        p = self.profile
        h = p.H * self.stats.resident_ctx / p.calibration_ctx
        object.__setattr__(self, "_h_term", h)
        mu = (0.0 if self.k <= 0 or self.stats.mean_iters <= 0
              else self.k / (self.stats.mean_iters * (p.W + h * self.k)))
        object.__setattr__(self, "_max_throughput", mu)
        # per-node prompt-KV term of the prefill iterations (_pre), fixed per calibration
        object.__setattr__(self, "_h_prompt", p.H * self.stats.node_prompt / p.calibration_ctx)
        # spread of one resident's KV context (tokens^2, iteration-weighted) for _spread
        L = self.stats.resident_ctx
        object.__setattr__(self, "_var_ctx", max(self.stats.resident_ctx2 - L * L, 0.0)
                           if self.tau_spread else 0.0)

    @property
    def h_term(self) -> float:
        """H * Lbar / calibration_ctx: seconds added to an iteration per resident sequence."""
        return self._h_term  # type: ignore[attr-defined]

    def min_units(self, lam: float, rho_max: float) -> float:
        """Real-valued units so that the capacity utilisation is <= rho_max (fluid bound)."""
        if lam <= 0 or self.stats.mean_iters <= 0:
            return 0.0
        if self.k <= 0:
            return math.inf
        return lam / (self.max_throughput * rho_max)

    @property
    def max_throughput(self) -> float:
        """Requests/s one unit sustains with every slot busy: k / (E[I] (W + H k Lbar/cal))."""
        return self._max_throughput  # type: ignore[attr-defined]


def calibrate_pool(profile: PoolProfile, stats: SliceStats, ctx: int,
                   batch: str = "load") -> PoolCalibration:
    """Pool calibration: slots per unit at ``ctx`` plus the traffic's work statistics."""
    return PoolCalibration(profile, int(ctx), int(profile.slots(ctx)), stats, batch)


@lru_cache(maxsize=8192)
def calibrate_slice(profile: PoolProfile, cdf: TokenCDF, lo: float, hi: float, ctx: int,
                    batch: str = "load") -> PoolCalibration:
    """Cached calibration of the plain slice lo < L <= hi."""
    return calibrate_pool(profile, slice_stats(cdf, lo, hi, profile.chunk), ctx, batch)


@dataclass(frozen=True)
class PoolEval:
    """Analytic state of a pool of ``units`` units at arrival rate ``lam``."""

    lam: float
    units: int
    gpus: int
    slots_per_unit: int
    rho: float  # capacity utilisation lambda / (n mu_max), capped by rho_max
    slot_occupancy: float  # mean busy slots / slots
    tau_s: float
    mean_service_s: float
    cv2: float
    p_wait: float
    p99_wait_s: float
    mean_ttft_s: float
    p99_ttft_s: float
    p99_ttft_meanprefill_s: float
    cost_per_hour: float
    feasible: bool
    reason: str = ""
    miss_prob: float = math.nan  # predicted P(TTFT > target) of the first constraint

    def to_dict(self) -> dict:
        return asdict(self)


# Probability bins of the resident-context distribution (_spread): finer in the upper tail,
# where a 1 % miss target is decided.
SPREAD_BINS = np.array([0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 1.0])
_SHAPE_STEP = math.log(1.05)
JSQ_HALF = 0.5
"""Residents per unit at which the dispatcher's shift (:func:`_spread`) is half of one."""


@lru_cache(maxsize=1024)
def _gamma_bins(key: int) -> np.ndarray:
    """Standardised conditional means ``(E[Z | bin] - a) / sqrt(a)`` of ``Z ~ Gamma(a, 1)``
    over :data:`SPREAD_BINS`, ``a = 1.05**key`` (a 5 % shape grid, cached).  Uses
    ``E[Z; Z <= x] = a P(a + 1, x)`` with ``P`` the regularised lower incomplete gamma."""
    a = math.exp(key * _SHAPE_STEP)
    x = special.gammaincinv(a, SPREAD_BINS[1:-1])
    part = np.concatenate(([0.0], a * special.gammainc(a + 1.0, x), [a]))
    return (np.diff(part) / np.diff(SPREAD_BINS) - a) / math.sqrt(a)


def _spread(cal: PoolCalibration, occ: float, n: int):
    """Iteration times ``tau_m`` (one per bin of :data:`SPREAD_BINS`) that a request's
    prefill sees, or ``None`` when they do not spread.

    The mean-occupancy ``tau = W + h Z̄`` uses the mean resident KV context ``Z̄`` of a unit
    (``h = H / cal``).  Residents change on the time scale of their service, far longer
    than a prefill, so a request's prefill runs at the *current* context ``Z`` of its unit
    (quasi-static; docs/queueing.md §1, "Iteration-time spread").  ``Z`` sums the contexts
    of the unit's residents: with ``N`` residents of iteration-weighted context mean ``L̄``
    and variance ``v`` (from ``E[X2]``, :mod:`queueing.workload`),
    ``Var Z = E[N] v + L̄^2 Var N``.  The dispatcher sends a request to the unit with the
    most free slots: were the units' counts level within one, that unit would hold
    ``n̄ - (1 - 1/n)`` (``n̄ = occ k``); at low occupancy many units are empty and the
    shift is smaller, so ``E[N] = n̄ - (1 - 1/n) n̄ / (n̄ + JSQ_HALF)``.  ``N`` is binomial
    (``k`` slots) on a lone unit and evens out over ``n`` units:
    ``Var N = max(k occ (1 - occ) / sqrt(n), f (1 - f))`` with ``f`` the fractional part of
    ``E[N]`` (a count is whole).  ``JSQ_HALF`` and the ``sqrt(n)`` are fitted to the
    detailed simulator (docs/queueing.md §1).  ``Z`` is taken Gamma with that mean and
    variance (non-negative, right-skewed like a sum of few heavy-tailed contexts), read at
    the bins' conditional means.  With ``batch="full"`` every slot is busy: the request
    joins ``k - 1`` residents and only their contexts vary."""
    if not cal.tau_spread:
        return None
    k = cal.k
    L = cal.stats.resident_ctx
    v = cal._var_ctx  # type: ignore[attr-defined]
    if cal.batch == "load":
        nbar = occ * k
        nres = max(nbar - (1.0 - 1.0 / n) * nbar / (nbar + JSQ_HALF), 0.0)
        frac = nres - math.floor(nres)
        var = nres * v + L * L * max(k * occ * (1.0 - occ) / math.sqrt(n), frac * (1.0 - frac))
    else:
        nres = float(k - 1)
        var = nres * v
    mean = nres * L
    h = cal.profile.H / cal.profile.calibration_ctx
    base = cal.profile.W + h * mean  # the mean iteration time a prefill sees
    if not (var > 0.0 and mean > 0.0):
        return np.full(len(SPREAD_BINS) - 1, base)
    a = mean * mean / var
    key = round(math.log(min(max(a, 1e-3), 1e7)) / _SHAPE_STEP)
    return base + (h * math.sqrt(var)) * _gamma_bins(key)


def _state(cal: PoolCalibration, lam: float, n: int):
    """(rho_slot, tau, C, theta, taus) for n units; rho_slot = inf when unstable; ``taus``
    the iteration times a prefill sees (:func:`_spread`, ``None``: always ``tau``)."""
    st, p, k = cal.stats, cal.profile, cal.k
    a = lam * st.mean_iters
    if cal.batch == "load":
        denom = n - a * cal.h_term
        if denom <= 0:
            return math.inf, math.inf, 1.0, 0.0, None
        occ = a * p.W / (k * denom)
        tau = p.W + cal.h_term * occ * k
    else:
        tau = p.W + cal.h_term * k
        occ = a * tau / (n * k)
    if occ >= 1.0:
        return occ, tau, 1.0, 0.0, None
    c = n * k
    mu = 1.0 / (st.mean_iters * tau)
    C = erlang_c_scalar(c, lam / mu)
    theta = 2.0 * (c * mu - lam) / (1.0 + st.cv2_iters)
    return occ, tau, C, theta, _spread(cal, occ, n)


@dataclass(frozen=True)
class PoolTargets:
    """Per-node TTFT targets of the constraints a pool must meet (:mod:`queueing.slo`).

    ``weights[i]`` are the pool-relative probabilities of the quadrature nodes that
    constraint ``i`` covers; ``allowance[i]`` bounds the pool's miss probability among
    them (``m_p + delta`` of the fleet-wide rule).
    """

    names: tuple[str, ...]
    targets: tuple[np.ndarray, ...]
    weights: tuple[np.ndarray, ...]
    allowance: tuple[float, ...]
    certain: tuple[float, ...] | None = None
    """:func:`certain_miss` of each constraint when the caller already has it (the
    planner computes it once per calibration); ``None``: computed when needed."""


def flat_targets(cal: PoolCalibration, slo_ttft: float, q: float) -> PoolTargets:
    """One constraint over every request of the pool: P(TTFT > slo_ttft) <= 1 - q."""
    w = cal.stats.node_w
    return PoolTargets(("fleet",), (np.full(w.shape, float(slo_ttft)),), (w,), (1.0 - q,))


def _pre(cal: PoolCalibration, tau: float) -> np.ndarray:
    """Per-node time from admission to first token: one iteration boundary plus ``P``
    prefill iterations that carry the request's own prompt KV (docs/queueing.md §1)."""
    return cal.stats.node_prefill * (tau + cal._h_prompt) + tau  # type: ignore[attr-defined]


def _pre_spread(cal: PoolCalibration, taus: np.ndarray) -> np.ndarray:
    """Time from arrival at a free slot to first token at every iteration time of
    :func:`_spread`, [nodes, bins]: the rest of the iteration under way (half an
    iteration on average: the request arrives at a uniformly random point of it) and
    ``P`` prefill iterations carrying its own prompt's KV."""
    return (cal.stats.node_prefill[:, None] * (taus[None, :] + cal._h_prompt[:, None])  # type: ignore[attr-defined]
            + 0.5 * taus[None, :])


def _miss(cal: PoolCalibration, tg: PoolTargets, i: int, tau: float, C: float,
          theta: float, taus: np.ndarray | None = None) -> float:
    """Pool miss probability of constraint ``i``: sum_j w_j P(W_q > target_j - pre_j),
    averaged over the iteration times ``taus`` a prefill may see (equal-mass bins of
    :data:`SPREAD_BINS`) when given."""
    w = tg.weights[i]
    mass = float(w.sum())
    if mass <= 0:
        return 0.0
    if theta <= 0:
        return 1.0
    if taus is not None:
        s2 = tg.targets[i][:, None] - _pre_spread(cal, taus)
        if C <= 0.0:
            t2 = (s2 < 0).astype(float)
        else:
            t2 = np.where(s2 < 0, 1.0, C * np.exp(-theta * np.maximum(s2, 0.0)))
        return float(w @ (t2 @ np.diff(SPREAD_BINS))) / mass
    s = tg.targets[i] - _pre(cal, tau)
    if C <= 0.0:  # no wait (certain_miss): only the prefill-bound nodes miss
        return float(w @ (s < 0)) / mass
    tail = np.where(s < 0, 1.0, C * np.exp(-theta * np.maximum(s, 0.0)))
    return float(w @ tail) / mass


def certain_miss(cal: PoolCalibration, tg: PoolTargets, i: int) -> float:
    """Miss probability with unlimited units (empty queue, tau = W): prefill-bound misses."""
    tau = cal.profile.W if cal.batch == "load" else cal.profile.W + cal.h_term * cal.k
    return _miss(cal, tg, i, tau, 0.0, 1.0)


def _sorted_nodes(cal: PoolCalibration, tau: float):
    """(p, w, A, log w): the per-node admission-to-first-token times sorted, their
    normalised weights, the mass after each node and the log weights.  The order sorts
    ``_pre`` at every tau (more prefill iterations means a longer prompt), so it and the
    weights are kept on the calibration; should a tau ever reorder the nodes, they are
    sorted afresh."""
    tab = cal.__dict__.get("_sorted")
    if tab is not None:
        P_s, hp_s, w, A, logw = tab
        p = P_s * (tau + hp_s) + tau
        if p.size < 2 or bool((p[1:] >= p[:-1]).all()):
            return p, w, A, logw
    st = cal.stats
    pre = _pre(cal, tau)
    order = np.argsort(pre, kind="stable")
    w = st.node_w[order] / max(float(st.node_w.sum()), 1e-300)
    A = 1.0 - np.cumsum(w)  # mass with p_j > p_k (for sorted index k)
    logw = np.log(np.maximum(w, 1e-300))
    if tab is None:
        object.__setattr__(cal, "_sorted", (st.node_prefill[order],
                                            cal._h_prompt[order],  # type: ignore[attr-defined]
                                            w, A, logw))
    return pre[order], w, A, logw


def _ttft_quantile(q: float, cal: PoolCalibration, tau: float, C: float,
                   theta: float, taus: np.ndarray | None = None) -> float:
    """Smallest t with P(TTFT > t) <= 1 - q, exactly.

    With the per-node times ``p_1 <= ... <= p_n`` sorted, on ``[p_k, p_{k+1})`` the tail is
    ``A_k + C E_k exp(-theta (t - p_k))`` with ``A_k = sum_{j>k} w_j`` (not yet through
    prefill) and ``E_k = sum_{j<=k} w_j exp(theta (p_j - p_k))`` (a running log-sum-exp),
    so the quantile is the first interval's closed-form root."""
    if theta <= 0:
        return math.inf
    if taus is None:
        p, _w, A, logw = _sorted_nodes(cal, tau)
    else:  # every (node, iteration-time bin) pair is a node of weight w_j * bin mass
        st = cal.stats
        pre = _pre_spread(cal, taus).ravel()
        ww = ((st.node_w / max(float(st.node_w.sum()), 1e-300))[:, None]
              * np.diff(SPREAD_BINS)[None, :]).ravel()
        order = np.argsort(pre, kind="stable")
        p, w_s = pre[order], ww[order]
        A = 1.0 - np.cumsum(w_s)
        logw = np.log(np.maximum(w_s, 1e-300))
    eps = 1.0 - q
    logE = np.logaddexp.accumulate(logw + theta * p) - theta * p
    room = eps - A
    ok = room > 1e-15
    if C > 0:
        t = p + np.maximum(0.0, (math.log(C) + logE - np.log(np.where(ok, room, 1.0))) / theta)
    else:
        t = p.copy()
    nxt = np.empty_like(p)
    nxt[:-1] = p[1:]
    nxt[-1] = np.inf
    hit = np.flatnonzero(ok & (t <= nxt + 1e-12))
    return float(t[hit[0]]) if hit.size else float(p[-1])


def evaluate_pool(cal: PoolCalibration, lam: float, units: int, q: float = 0.99,
                  targets: PoolTargets | None = None) -> PoolEval:
    """Analytic utilisation, waits and TTFT of ``units`` units at rate ``lam`` (req/s);
    ``miss_prob`` is the first constraint's predicted miss probability (if ``targets``)."""
    return _evaluate(cal, lam, units, q, targets)


def _evaluate(cal: PoolCalibration, lam: float, units: int, q: float,
              targets: PoolTargets | None, known: tuple | None = None) -> PoolEval:
    """:func:`evaluate_pool`; ``known`` = ((occ, tau, C, theta), first constraint's miss)
    already computed for these units by :func:`size_pool` (the sizing checked them)."""
    if lam < 0:
        raise ValueError("lam: arrival rate must be >= 0")
    if units < 0:
        raise ValueError("units: must be >= 0")
    p = cal.profile
    gpus = units * p.gpus_per_unit
    cost = units * p.price_per_unit_hour
    st = cal.stats
    if lam == 0 or st.mass == 0:
        return PoolEval(lam, units, gpus, cal.k, 0.0, 0.0, p.W, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                        0.0, cost, True, "", 0.0)
    if units == 0 or cal.k == 0:
        return PoolEval(lam, units, gpus, cal.k, math.inf, math.inf, math.inf, math.inf,
                        st.cv2_iters, 1.0, math.inf, math.inf, math.inf, math.inf, cost, False,
                        "no slots" if cal.k == 0 else "no units", 1.0)
    rho = lam / (units * cal.max_throughput)
    occ, tau, C, theta, taus = _state(cal, lam, units) if known is None else known[0]
    if not occ < 1.0:
        return PoolEval(lam, units, gpus, cal.k, rho, occ, tau, st.mean_iters * tau, st.cv2_iters,
                        1.0, math.inf, math.inf, math.inf, math.inf, cost, False, "unstable", 1.0)
    w99 = math.log(C / (1 - q)) / theta if 1 - q < C else 0.0
    mean_pref = st.mean_prefill_iters * tau
    if targets is None:
        miss = math.nan
    elif known is not None and known[1] is not None:
        miss = known[1]
    else:
        miss = _miss(cal, targets, 0, tau, C, theta, taus)
    return PoolEval(lam, units, gpus, cal.k, rho, occ, tau, st.mean_iters * tau, st.cv2_iters, C,
                    w99,
                    C / theta + mean_pref, _ttft_quantile(q, cal, tau, C, theta, taus),
                    w99 + mean_pref, cost, True, "", miss)


def size_pool(cal: PoolCalibration, lam: float, slo_ttft: float, rho_max: float = 0.85,
              q: float = 0.99, targets: PoolTargets | None = None,
              min_units: int = 0) -> PoolEval:
    """Fewest units (at least ``min_units``) meeting rho <= rho_max and every constraint
    of ``targets`` (default: P(TTFT > slo_ttft) <= 1 - q over the pool's requests)."""
    if not slo_ttft > 0:
        raise ValueError("slo_ttft: must be > 0 seconds")
    if not 0 < rho_max < 1:
        raise ValueError("rho_max: must be in (0, 1)")
    if not 0 < q < 1:
        raise ValueError("q: quantile must be in (0, 1)")
    st = cal.stats
    if lam <= 0 or st.mass == 0:
        return evaluate_pool(cal, 0.0, 0, q)
    if cal.k == 0:
        return evaluate_pool(cal, lam, 0, q)
    tg = flat_targets(cal, slo_ttft, q) if targets is None else targets
    n_con = len(tg.names)
    for i in range(n_con):
        m = tg.certain[i] if tg.certain is not None else certain_miss(cal, tg, i)
        if m > tg.allowance[i] + 1e-12:
            ev = evaluate_pool(cal, lam, max(1, math.ceil(cal.min_units(lam, rho_max))), q, tg)
            return _infeasible(ev, f"prefill alone misses the TTFT target of constraint "
                                   f"{tg.names[i]!r} for more than its allowance")

    seen: dict[int, tuple] = {}  # n -> (state, first constraint's miss) of a passing n

    def ok(n: int) -> bool:
        state = _state(cal, lam, n)
        _occ, tau, C, theta, taus = state
        if lam / (n * cal.max_throughput) > rho_max + 1e-12 or theta <= 0:
            return False
        first = None
        for i in range(n_con):
            m = _miss(cal, tg, i, tau, C, theta, taus)
            if m > tg.allowance[i] + 1e-12:
                return False
            if i == 0:
                first = m
        seen[n] = (state, first)
        return True

    n_lo = max(1, int(min_units), math.ceil(cal.min_units(lam, rho_max) - 1e-9))
    if not ok(n_lo):
        lo, hi = n_lo, n_lo * 2
        while not ok(hi):
            lo, hi = hi, hi * 2
            if hi > MAX_UNITS:
                return _infeasible(evaluate_pool(cal, lam, lo, q, tg), "needs more than 1e7 units")
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(mid):
                hi = mid
            else:
                lo = mid
        n_lo = hi
    return _evaluate(cal, lam, n_lo, q, tg, seen.get(n_lo))


def _infeasible(ev: PoolEval, reason: str) -> PoolEval:
    d = ev.to_dict()
    d.update(feasible=False, reason=reason)
    return PoolEval(**d)
