"""Discrete-event simulator of LLM serving pools (validates :mod:`queueing`).

Two modes over the same request arrays (arrival time, prompt tokens, output tokens, pool):

``fast`` -- slot-level FCFS M/G/c per pool.  Every KV slot is a server
(``c = units * slots_per_unit``); a request needs ``I = P + L_out`` iterations
(``P = ceil(L_in / chunk)``) of a fixed iteration time ``tau`` (given per pool, by default
the analytic load-aware value), i.e. service ``S = I tau``.  A heap holds the
``c`` slot-free times: each arrival (in time order) takes the earliest free slot,
``start = max(arrival, earliest)``.  TTFT = ``start - arrival + P tau``.  O(N log c).

``detailed`` -- continuous batching per unit ("replica"), event driven.  A unit runs
iterations of ``W + (H / cal_ctx) * sum_j ctx_j`` seconds over its resident sequences;
a sequence spends ``P`` iterations in prefill at context ``L_in`` (its prompt's KV blocks
are allocated on admission) and then one iteration per output token, its context
growing by one token each time; its first token leaves with its last prefill chunk.
Between events the batch is fixed, so the time of ``m`` iterations is closed form::

    T(m) = m (W + h C0) + h sum_j tri(m - p_j),  h = H/cal_ctx, tri(x) = x(x-1)/2 (x >= 1)

(``C0`` the summed context, ``p_j`` the remaining prefill iterations).  Events:
arrivals, completions, and KV exhaustion.  Each pool has one FIFO queue; a request is
admitted into the unit with the most free slots that has a free slot and enough free KV
blocks for its prompt plus a 1 % watermark, at that unit's next iteration boundary.
When a unit's KV blocks would run out in the next iteration, a victim (most recently
admitted by default, or the longest context) is preempted: its blocks are freed, it is
re-queued at the head of the pool queue and later recomputed from scratch; the unit
admits nothing new until one of its sequences completes.  Requests that can never fit
in a unit's KV are rejected.

Measured per pool, over requests arriving after a warm-up fraction (default 20 %):
P50/P99/mean TTFT, mean latency, the number of preemptions and rejections, and the
slot utilisation (time-average busy slots / slots over the measurement window, from the
requests' admission-to-release intervals).

Randomness: only the workload generators take a ``numpy.random.Generator``; the event
loop is deterministic (ties broken by insertion order).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np

from hetserve.queueing.profiles import PoolProfile

__all__ = ["PoolSpec", "PoolStats", "Requests", "SimResult", "mgc_fcfs", "poisson_requests",
           "route_by_length", "simulate", "trace_requests"]

MODES = ("fast", "detailed")
VICTIMS = ("recent", "longest")


@dataclass(frozen=True)
class PoolSpec:
    """A pool of ``units`` identical units of ``profile`` serving contexts up to ``ctx``."""

    name: str
    profile: PoolProfile
    units: int
    ctx: int
    tau_s: float | None = None  # fast mode iteration time; None = full-batch estimate
    slots_per_unit: int | None = None  # default profile.slots(ctx)

    def __post_init__(self):
        if not isinstance(self.units, (int, np.integer)) or self.units < 1:
            raise ValueError(f"units: pool {self.name!r} needs an integer >= 1, got {self.units!r}")
        if not isinstance(self.ctx, (int, np.integer)) or self.ctx < 1:
            raise ValueError(f"ctx: pool {self.name!r} needs an integer >= 1, got {self.ctx!r}")
        if self.tau_s is not None and not self.tau_s > 0:
            raise ValueError(f"tau_s: pool {self.name!r} iteration time must be > 0")
        if self.slots_per_unit is not None and self.slots_per_unit < 1:
            raise ValueError(f"slots_per_unit: pool {self.name!r} must be >= 1")
        if self.k < 1:
            raise ValueError(f"ctx: pool {self.name!r} has no KV slot at ctx={self.ctx}")

    @property
    def k(self) -> int:
        return int(self.slots_per_unit or self.profile.slots(self.ctx))


@dataclass(frozen=True)
class Requests:
    """Request arrays (sorted by arrival); ``pool`` is filled by a router."""

    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray

    def __post_init__(self):
        n = len(self.arrival_s)
        if len(self.prompt_tokens) != n or len(self.output_tokens) != n:
            raise ValueError("prompt_tokens: request arrays must have equal length")
        if n and np.any(np.diff(self.arrival_s) < 0):
            raise ValueError("arrival_s: arrivals must be sorted")
        if n and (np.min(self.prompt_tokens) < 1 or np.min(self.output_tokens) < 1):
            raise ValueError("prompt_tokens: token counts must be >= 1")

    def __len__(self) -> int:
        return len(self.arrival_s)

    @property
    def total_tokens(self) -> np.ndarray:
        return self.prompt_tokens + self.output_tokens


def poisson_requests(cdf, rate: float, n: int, rng: np.random.Generator) -> Requests:
    """n Poisson(rate) arrivals with lengths drawn from a queueing.workload.TokenCDF."""
    if not rate > 0:
        raise ValueError("rate: must be > 0 req/s")
    if n < 1:
        raise ValueError("n: need at least one request")
    t = np.cumsum(rng.exponential(1.0 / rate, n))
    L_in, L_out = cdf.sample(n, rng)
    return Requests(t, L_in, L_out)


def trace_requests(trace, rate_scale: float = 1.0, limit: int | None = None) -> Requests:
    """Replay a queueing.workload.Trace; ``rate_scale`` > 1 compresses time (more load)."""
    if not rate_scale > 0:
        raise ValueError("rate_scale: must be > 0")
    sl = slice(0, limit)
    return Requests(trace.arrival_s[sl] / rate_scale, trace.prompt_tokens[sl].astype(np.int64),
                    trace.output_tokens[sl].astype(np.int64))


def route_by_length(req: Requests, ctxs, gamma: float = 1.0, p_compress: float = 0.0,
                    rng: np.random.Generator | None = None):
    """Length routing to the first pool whose context holds the request.

    With two pools and ``gamma > 1``, a share ``p_compress`` of requests with
    ``B < L <= gamma B`` (B = the first pool's context) is compressed to ``L = B`` (prompt
    trimmed) and sent to the short pool.  Returns (pool index array, possibly modified
    Requests); a request longer than every pool's context gets pool index ``-1`` and is
    rejected by :func:`simulate` (reason ``longer_than_every_pool``).
    """
    ctxs = np.asarray(ctxs, float)
    if np.any(np.diff(ctxs) < 0):
        raise ValueError("ctxs: pools must be sorted by context")
    L = req.total_tokens
    pool = np.searchsorted(ctxs, L, side="left")
    pool[pool >= len(ctxs)] = -1
    prompt = req.prompt_tokens
    if gamma > 1.0 and p_compress > 0 and len(ctxs) >= 2:
        if rng is None:
            raise ValueError("rng: compress-and-route needs a numpy Generator")
        B = ctxs[0]
        band = (L > B) & (gamma * B >= L)
        comp = band & (rng.random(len(L)) < p_compress) & (req.output_tokens < B)
        prompt = prompt.copy()
        prompt[comp] = (B - req.output_tokens[comp]).astype(prompt.dtype)
        pool[comp] = 0
    return pool, Requests(req.arrival_s, prompt, req.output_tokens)


REJECT_REASONS = ("longer_than_every_pool", "exceeds_pool_context", "exceeds_kv")


@dataclass(frozen=True)
class PoolStats:
    name: str
    units: int
    slots: int
    n_measured: int
    p50_ttft_s: float
    p99_ttft_s: float  # the ``quantile``-quantile (P99 by default)
    mean_ttft_s: float
    mean_latency_s: float
    p99_wait_s: float
    utilisation: float
    preemptions: int
    rejected: int
    ctx: int = 0
    quantile: float = 0.99
    ttft: dict = field(default_factory=dict)  # quantile with CI (simulator.stats)
    tpot: dict = field(default_factory=dict)
    e2e: dict = field(default_factory=dict)
    rejected_by_reason: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SimResult:
    mode: str
    n_requests: int
    pools: tuple[PoolStats, ...]
    p99_ttft_s: float  # fleet-wide ``quantile``-quantile of TTFT over served requests
    mean_latency_s: float
    preemptions: int
    rejected: int
    wall_s: float
    ttft_s: np.ndarray | None = field(repr=False, default=None)
    latency_s: np.ndarray | None = field(repr=False, default=None)
    quantile: float = 0.99
    ttft: dict = field(default_factory=dict)
    tpot: dict = field(default_factory=dict)
    e2e: dict = field(default_factory=dict)
    rejected_by_reason: dict = field(default_factory=dict)
    measured: np.ndarray | None = field(repr=False, default=None)  # bool: after warm-up
    reject_reason: np.ndarray | None = field(repr=False, default=None)  # "" when served

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("mode", "n_requests", "quantile", "p99_ttft_s",
                                           "mean_latency_s", "preemptions", "rejected",
                                           "rejected_by_reason", "ttft", "tpot", "e2e",
                                           "wall_s")}
        d["pools"] = [p.to_dict() for p in self.pools]
        return d


def _q(x, p):
    x = np.asarray(x, float)
    x = x[~np.isnan(x)]
    return float(np.quantile(x, p)) if len(x) else math.nan


def _busy_fraction(starts, ends, t0, t1, c):
    if t1 <= t0 or c <= 0:
        return math.nan
    ov = np.clip(np.minimum(ends, t1) - np.maximum(starts, t0), 0.0, None)
    return float(ov.sum() / (c * (t1 - t0)))


def _fleet_tau(spec: PoolSpec, L_in, L_out):
    """Full-batch iteration time from the pool's own requests (fallback for fast mode)."""
    P = np.ceil(L_in / spec.profile.chunk)
    I = P + L_out
    X = P * L_in + L_out * L_in + 0.5 * L_out**2
    lbar = X.sum() / max(I.sum(), 1)
    return float(spec.profile.t_iter(spec.k, lbar))


# --- fast mode ----------------------------------------------------------------------------
def mgc_fcfs(arrival, service, c: int) -> np.ndarray:
    """Start times of FCFS G/G/c (arrivals sorted): heap of the c slot-free times."""
    if c < 1:
        raise ValueError("c: need at least one server")
    arr = np.asarray(arrival, float)
    S = np.asarray(service, float)
    if arr.shape != S.shape:
        raise ValueError("service: one service time per arrival")
    heap = [0.0] * min(int(c), len(arr) + 1)
    starts = np.empty(len(arr))
    hr = heapq.heapreplace
    S_l = S.tolist()
    for i, a in enumerate(arr.tolist()):
        f = heap[0]
        st = a if f <= a else f
        hr(heap, st + S_l[i])
        starts[i] = st
    return starts


def _simulate_fast_pool(arr, L_in, L_out, spec: PoolSpec):
    tau = spec.tau_s if spec.tau_s is not None else _fleet_tau(spec, L_in, L_out)
    prof = spec.profile
    P = np.ceil(L_in / prof.chunk)
    S = (P + L_out) * tau
    starts = mgc_fcfs(arr, S, spec.units * spec.k)
    wait = starts - arr
    # first token: next iteration boundary, then P prefill iterations that carry the
    # request's own prompt KV (the analytic model's form, docs/queueing.md section 1)
    ttft = wait + tau + P * (tau + prof.H * L_in / prof.calibration_ctx)
    return ttft, wait + S, starts, starts + S, np.zeros(len(arr), np.int64), 0, wait


# --- detailed mode ------------------------------------------------------------------------
class _Unit:
    """One unit's continuous-batching state in closed form (pure Python, O(1) per event
    apart from the few sequences still in prefill).

    Iterations are counted from the unit's start (``it``).  A resident request ``r``
    admitted at iteration ``a_r`` ends its prefill at ``e_r = a_r + P_r`` and finishes at
    ``f_r = e_r + L_out_r``; during global iteration ``x`` its KV context is
    ``L_in_r + max(0, x - e_r)``.  With ``S`` the summed prompts, ``D``/``E`` the count
    and summed ``e_r`` of decoding requests, the summed context is
    ``C(x) = S + D x - E + sum_{prefilling} max(0, x - e_r)`` and the time of the next
    ``m`` iterations is::

        T(m) = m W + h [m S + D (m it + m(m-1)/2) - m E + sum_{prefilling} tri(it + m - e_r)]

    with ``tri(y) = y (y - 1)/2`` for ``y >= 1`` (0 otherwise).
    """

    __slots__ = ("D", "E", "S", "W", "blocked", "bs", "clock", "ev", "fin", "h", "it", "k",
                 "order", "pf", "res", "seq", "total_blocks", "version")

    def __init__(self, prof: PoolProfile, k: int):
        self.W = prof.W
        self.h = prof.H / prof.calibration_ctx
        self.bs = prof.block_size
        self.total_blocks = prof.total_kv_blocks
        self.k = k
        self.it = 0
        self.clock = 0.0
        self.S = 0
        self.D = 0
        self.E = 0
        self.pf: dict[int, int] = {}  # prefilling request -> e_r
        self.fin: list = []  # heap of (f_r, order, r)
        self.res: dict[int, tuple] = {}  # resident request -> (e_r, f_r, L_in, order)
        self.blocked = False
        self.version = 0
        self.seq = 0
        self.order = 0
        # (version, iterations, kv, time) of the scheduled next event
        self.ev: tuple[int, int, bool, float] | None = None

    @property
    def n(self) -> int:
        return len(self.res)

    def elapsed(self, m: int) -> float:
        it = self.it
        acc = m * self.S + self.D * (m * it + m * (m - 1) // 2) - m * self.E
        end = it + m
        for e in self.pf.values():
            y = end - e
            if y > 1:
                acc += y * (y - 1) // 2
        return m * self.W + self.h * acc

    def ctx_sum(self, x: int) -> int:
        """Summed KV context during global iteration x (>= it)."""
        c = self.S + self.D * x - self.E
        for e in self.pf.values():
            if x > e:
                c += x - e
        return c

    def first_at_least(self, target: float, m_max: int) -> int:
        """Smallest m in [1, m_max] with T(m) >= target (T(m_max) >= target assumed)."""
        base = self.W + self.h * self.ctx_sum(self.it)
        lo, hi = 0, min(m_max, max(1, math.ceil(target / base)))
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.elapsed(mid) >= target - 1e-15:
                hi = mid
            else:
                lo = mid
        return hi

    def blocks_upper(self, x: int) -> int:
        """Upper bound of the KV blocks in use during iteration x (ceil per sequence)."""
        return (self.ctx_sum(x) + len(self.res) * (self.bs - 1)) // self.bs

    def blocks_exact(self, x: int) -> int:
        bs = self.bs
        tot = 0
        for e, _f, lin, _o in self.res.values():
            tot += -(-(lin + (x - e if x > e else 0)) // bs)
        return tot

    def next_finish(self) -> int:
        """Iteration at which the next resident request finishes (stale entries dropped)."""
        fin, res = self.fin, self.res
        while True:
            f, o, r = fin[0]
            got = res.get(r)
            if got is not None and got[3] == o:
                return f
            heapq.heappop(fin)

    def next_event(self):
        """(iterations to the next event, is_kv_exhaustion)."""
        m_star = self.next_finish() - self.it
        last = self.it + m_star - 1  # context is largest in the last iteration
        if self.blocks_upper(last) <= self.total_blocks or \
                self.blocks_exact(last) <= self.total_blocks:
            return m_star, False
        lo, hi = 0, m_star  # fits through iteration it + lo - 1, not through it + hi - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.blocks_exact(self.it + mid - 1) <= self.total_blocks:
                lo = mid
            else:
                hi = mid
        return lo, True

    def admit(self, r: int, L_in: int, P: int, L_out: int) -> None:
        e = self.it + P
        self.order += 1
        self.res[r] = (e, e + L_out, L_in, self.order)
        self.S += L_in
        self.pf[r] = e
        heapq.heappush(self.fin, (e + L_out, self.order, r))

    def remove(self, r: int) -> None:
        e, _f, lin, _o = self.res.pop(r)
        self.S -= lin
        if r in self.pf:
            del self.pf[r]
        else:
            self.D -= 1
            self.E -= e


class _Detailed:
    def __init__(self, req: Requests, pool_idx, specs, victim: str, watermark: float):
        self.arr = req.arrival_s.tolist()
        self.L_in = req.prompt_tokens.astype(np.int64).tolist()
        self.L_out = req.output_tokens.astype(np.int64).tolist()
        self.pool_idx = np.asarray(pool_idx).tolist()
        self.specs = specs
        self.victim = victim
        N = len(req)
        self.ttft = [math.nan] * N
        self.done = [math.nan] * N
        self.first_start = [math.nan] * N
        self.rejected = np.zeros(N, bool)
        self.busy_start: list[float] = []
        self.busy_end: list[float] = []
        self.busy_pool: list[int] = []
        self.admit_time = [0.0] * N
        chunks = [s.profile.chunk for s in specs]
        self.P = [-(-li // chunks[p]) if p >= 0 else 0 for li, p in zip(self.L_in,
                                                                          self.pool_idx)]
        self.units = [[_Unit(s.profile, s.k) for _ in range(s.units)] for s in specs]
        # per pool: lazy max-heap of (-free slots, version, unit)
        self.free_heap = [[(-s.k, 0, ui) for ui in range(s.units)] for s in specs]
        self.queues: list[deque[int]] = [deque() for _ in specs]
        self.wm = [math.ceil(watermark * s.profile.total_kv_blocks) for s in specs]
        self.heap: list = []
        self.cnt = 0
        self.preemptions = [0] * len(specs)

    # -- unit mechanics ---------------------------------------------------------------
    def _advance(self, p, u: _Unit, m: int):
        if m <= 0 or not u.res:
            return
        end = u.it + m
        if u.pf:
            firsts = [(e, r) for r, e in u.pf.items() if e <= end]
            for e, r in firsts:
                if self.ttft[r] != self.ttft[r]:  # nan: first time this request starts
                    self.ttft[r] = u.clock + u.elapsed(e - u.it) - self.arr[r]
            dt = u.elapsed(m)
            for e, r in firsts:
                del u.pf[r]
                u.D += 1
                u.E += e
        else:
            dt = u.elapsed(m)
        u.clock += dt
        u.it = end
        fin = u.fin
        while fin and fin[0][0] <= end:
            _f, o, r = heapq.heappop(fin)
            got = u.res.get(r)
            if got is None or got[3] != o:
                continue
            self.done[r] = u.clock
            self.busy_start.append(self.admit_time[r])
            self.busy_end.append(u.clock)
            self.busy_pool.append(p)
            u.remove(r)
            u.blocked = False

    def _sync(self, p, u: _Unit, now: float):
        """Bring a unit to its first iteration boundary >= now (processing due events)."""
        while u.res and u.clock < now:
            ev = u.ev
            if ev is not None and ev[0] == u.version:  # state unchanged since scheduling
                _v, m_ev, kv, t_ev = ev
            else:
                m_ev, kv = u.next_event()
                t_ev = u.clock + u.elapsed(m_ev)
            u.ev = None
            if t_ev < now:
                self._advance(p, u, m_ev)
                if kv:
                    self._preempt(p, u)
                continue
            hi = u.first_at_least(now - u.clock, m_ev)
            self._advance(p, u, hi)
            if kv and hi == m_ev:
                self._preempt(p, u)
            break
        if not u.res:
            u.clock = max(u.clock, now)
        u.version += 1

    def _schedule(self, p, ui, u: _Unit):
        u.version += 1
        fh = self.free_heap[p]
        if len(fh) > 8 * len(self.units[p]) + 64:  # drop stale entries now and then
            us = self.units[p]
            fh[:] = [(-(x.k - len(x.res)), x.version, j) for j, x in enumerate(us)]
            heapq.heapify(fh)
        heapq.heappush(fh, (-(u.k - len(u.res)), u.version, ui))
        if not u.res:
            return
        m, kv = u.next_event()
        t = u.clock + u.elapsed(m)
        u.ev = (u.version, m, kv, t)
        self.cnt += 1
        heapq.heappush(self.heap, (t, self.cnt, p, ui, u.version, m, kv))

    def _fits(self, p, u: _Unit, r: int) -> bool:
        if u.blocked or len(u.res) >= u.k:
            return False
        free = u.total_blocks - u.blocks_upper(u.it)
        return free - (-(-self.L_in[r] // u.bs)) >= self.wm[p]

    def _pick(self, p, r: int, prefer):
        """The unit with the most free slots that fits r (lazy heap; stale entries skipped)."""
        units = self.units[p]
        if prefer is not None and self._fits(p, units[prefer], r):
            return prefer
        fh = self.free_heap[p]
        skipped = []
        cand = None
        while fh:
            negfree, ver, ui = fh[0]
            u = units[ui]
            if ver != u.version and -negfree != u.k - len(u.res):
                heapq.heappop(fh)
                continue
            if -negfree <= 0:
                break
            heapq.heappop(fh)
            skipped.append((negfree, ver, ui))
            if self._fits(p, u, r):
                cand = ui
                break
            if len(skipped) >= 64:
                break
        for e in skipped:
            heapq.heappush(fh, e)
        return cand

    def _dispatch(self, p, now: float, prefer: int | None = None):
        q = self.queues[p]
        units = self.units[p]
        touched = set()
        while q:
            r = q[0]
            cand = self._pick(p, r, prefer)
            if cand is None:
                break
            u = units[cand]
            if cand not in touched:
                self._sync(p, u, now)
                touched.add(cand)
                if not self._fits(p, u, r):  # the sync may have changed nothing; recheck
                    self._schedule(p, cand, u)
                    continue
            q.popleft()
            u.admit(r, self.L_in[r], self.P[r], self.L_out[r])
            self.admit_time[r] = u.clock
            if self.first_start[r] != self.first_start[r]:
                self.first_start[r] = u.clock
            heapq.heappush(self.free_heap[p], (-(u.k - len(u.res)), u.version, cand))
            prefer = cand
        for ui in touched:
            self._schedule(p, ui, units[ui])
        return touched

    def _preempt(self, p, u: _Unit):
        while u.res and u.blocks_exact(u.it) > u.total_blocks:
            if self.victim == "recent":
                r = max(u.res, key=lambda x: u.res[x][3])
            else:
                it = u.it
                r = max(u.res, key=lambda x: u.res[x][2] + max(0, it - u.res[x][0]))
            self.busy_start.append(self.admit_time[r])
            self.busy_end.append(u.clock)
            self.busy_pool.append(p)
            self.preemptions[p] += 1
            u.remove(r)
            self.queues[p].appendleft(r)
        u.blocked = bool(u.res)

    def run(self):
        arr = self.arr
        N = len(arr)
        i = 0
        heap = self.heap
        specs = self.specs
        while i < N or heap:
            if heap and (i >= N or heap[0][0] <= arr[i]):
                _t, _, p, ui, ver, m, kv = heapq.heappop(heap)
                u = self.units[p][ui]
                if ver != u.version:
                    continue
                self._advance(p, u, m)
                if kv:
                    self._preempt(p, u)
                if ui not in self._dispatch(p, u.clock, prefer=ui):
                    self._schedule(p, ui, u)
            else:
                r = i
                i += 1
                p = self.pool_idx[r]
                if p < 0:  # rejected before the run (router or context limit)
                    continue
                prof = specs[p].profile
                bs = prof.block_size
                if (-(-(self.L_in[r] + self.L_out[r]) // bs) > prof.total_kv_blocks
                        or -(-self.L_in[r] // bs) > prof.total_kv_blocks - self.wm[p]):
                    self.rejected[r] = True
                    continue
                self.queues[p].append(r)
                if len(self.queues[p]) == 1:
                    self._dispatch(p, arr[r])
        self.ttft = np.asarray(self.ttft)
        self.done = np.asarray(self.done)
        self.first_start = np.asarray(self.first_start)
        return self


def simulate(req: Requests, pool_idx, pools, mode: str = "fast", warmup_frac: float = 0.2,
             victim: str = "recent", watermark: float = 0.01,
             quantile: float = 0.99) -> SimResult:
    """Run the DES; ``pool_idx[i]`` is request i's pool (index into ``pools``, ``-1`` =
    rejected by the router).  Every pool's context limit is enforced: a request whose
    prompt + output exceeds its pool's ``ctx`` is rejected (``exceeds_pool_context``),
    as is one whose KV can never fit a unit (``exceeds_kv``, detailed mode)."""
    import time

    if mode not in MODES:
        raise ValueError(f"mode: must be one of {MODES}, got {mode!r}")
    if victim not in VICTIMS:
        raise ValueError(f"victim: must be one of {VICTIMS}, got {victim!r}")
    if not 0 <= warmup_frac < 1:
        raise ValueError("warmup_frac: must be in [0, 1)")
    pools = list(pools)
    if not pools:
        raise ValueError("pools: need at least one pool")
    if not 0 < quantile < 1:
        raise ValueError("quantile: must be in (0, 1)")
    assigned = np.asarray(pool_idx, np.int64)
    if assigned.shape != (len(req),) or (len(req) and (assigned.min() < -1 or
                                                       assigned.max() >= len(pools))):
        raise ValueError("pool_idx: one pool index (or -1) per request is required")
    t0 = time.perf_counter()
    N = len(req)
    reason = np.full(N, "", dtype=object)
    reason[assigned < 0] = "longer_than_every_pool"
    ctx_of = np.array([s.ctx for s in pools], np.int64)
    over = (assigned >= 0) & (req.total_tokens > ctx_of[np.maximum(assigned, 0)])
    reason[over] = "exceeds_pool_context"
    pool_idx = np.where(reason == "", assigned, -1)
    ttft = np.full(N, np.nan)
    lat = np.full(N, np.nan)
    wait = np.full(N, np.nan)
    intervals = []
    preempt = [0] * len(pools)
    if mode == "fast":
        for p, spec in enumerate(pools):
            m = pool_idx == p
            if not m.any():
                intervals.append((np.empty(0), np.empty(0)))
                continue
            tt, ll, st, en, _pc, _npre, ww = _simulate_fast_pool(
                req.arrival_s[m], req.prompt_tokens[m].astype(float),
                req.output_tokens[m].astype(float), spec)
            ttft[m], lat[m], wait[m] = tt, ll, ww
            intervals.append((st, en))
    else:
        d = _Detailed(req, pool_idx, pools, victim, watermark).run()
        ttft = d.ttft
        lat = d.done - req.arrival_s
        wait = d.first_start - req.arrival_s
        reason[d.rejected] = "exceeds_kv"
        preempt = d.preemptions
        bs, be, bp = (np.asarray(d.busy_start), np.asarray(d.busy_end),
                      np.asarray(d.busy_pool, np.int64))
        intervals = [(bs[bp == p], be[bp == p]) for p in range(len(pools))]
    wall = time.perf_counter() - t0

    rejected = reason != ""
    n_w = int(warmup_frac * N)
    meas = np.zeros(N, bool)
    meas[n_w:] = True
    t_lo = req.arrival_s[n_w] if n_w < N else 0.0
    t_hi = req.arrival_s[-1] if N else 0.0
    L_out = req.output_tokens.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(L_out > 1, (lat - ttft) / np.maximum(L_out - 1, 1), np.nan)

    def reasons(mask):
        return {r: int((mask & (reason == r)).sum()) for r in REJECT_REASONS}

    def metrics(ok):
        return ({"p50_s": _q(ttft[ok], 0.5), **_ci(ttft[ok], quantile)},
                {"p50_s": _q(tpot[ok], 0.5), **_ci(tpot[ok], quantile)},
                {"p50_s": _q(lat[ok], 0.5), **_ci(lat[ok], quantile)})

    stats = []
    for p, spec in enumerate(pools):
        mine = assigned == p
        m = meas & (pool_idx == p) & ~rejected
        ok = m & ~np.isnan(ttft)
        c = spec.units * spec.k
        st, en = intervals[p]
        t_d, p_d, e_d = metrics(ok)
        stats.append(PoolStats(
            spec.name, spec.units, c, int(ok.sum()), _q(ttft[ok], 0.5), _q(ttft[ok], quantile),
            float(np.mean(ttft[ok])) if ok.any() else math.nan,
            float(np.nanmean(lat[ok])) if ok.any() else math.nan, _q(wait[ok], quantile),
            _busy_fraction(st, en, t_lo, t_hi, c), int(preempt[p]),
            int((rejected & mine).sum()), int(spec.ctx), quantile, t_d, p_d, e_d,
            reasons(mine)))
    okall = meas & ~rejected & ~np.isnan(ttft)
    t_d, p_d, e_d = metrics(okall)
    return SimResult(mode, N, tuple(stats), _q(ttft[okall], quantile),
                     float(np.nanmean(lat[okall])) if okall.any() else math.nan,
                     int(sum(preempt)), int(rejected.sum()), wall, ttft, lat, quantile,
                     t_d, p_d, e_d, reasons(np.ones(N, bool)), meas, reason)


def _ci(x, q):
    from .stats import quantile_ci

    return quantile_ci(x, q)
