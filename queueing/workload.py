"""Workload token-length CDFs and deterministic quadrature over their pieces.

Math
----
A workload is the CDF ``F`` of the total tokens ``L = L_in + L_out`` of a request, given
by breakpoints ``(t_i, F_i)`` with an implicit ``(0, 0)`` in front.  Between breakpoints
the density is uniform (piecewise-linear CDF, the open fleet simulator's convention), so
piece ``i`` carries mass ``F_i - F_{i-1}`` spread uniformly over ``(t_{i-1}, t_i]``.
Each piece also carries the output share ``f_i`` of its tokens: ``L_out = f_i L``,
``L_in = (1 - f_i) L``.  For the Azure traces ``f_i`` is the mean of
``GeneratedTokens / (ContextTokens + GeneratedTokens)`` over the requests in the piece;
for CDF JSON files without it we use 0.2 (the fleet simulator's 80/20 split).

Per-request work in a pool with prefill chunk ``C``:
``P = ceil(max(L_in, 1) / C)`` prefill iterations, ``I = P + L_out`` iterations in all,
and the KV context summed over its iterations
``X = P L_in + L_out L_in + L_out^2 / 2`` (the prompt's KV is resident during prefill,
then grows by one token per decode step).

Calibration of a slice ``lo < L <= hi`` (a pool's share of the CDF) is deterministic
quadrature: every piece is clipped to the slice and split into ``nodes_per_piece`` equal
sub-intervals evaluated at their midpoints (composite midpoint rule, weight = the
sub-interval's probability mass).  This gives the slice mass, ``E[I]``, ``E[I^2]``,
``E[P]``, ``E[X]`` and the discrete prefill distribution used for the P99 TTFT
convolution, with no Monte-Carlo noise (the fleet simulator draws 3000 samples).

Data: the Azure LLM inference traces 2023 (code and conversation services, CC-BY 4.0;
Patel et al., "Splitwise: Efficient generative LLM inference using phase splitting",
ISCA 2024).  The trace CDFs use the fleet simulator's breakpoint grid (64 ... 65536
tokens); built-in reference CDFs ``fleetsim-azure``, ``lmsys`` and ``agent-heavy`` are
the fleet simulator's tabulated CDF values (FleetOpt, arXiv 2603.16514).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from hetserve.instances import fields
from hetserve.instances.errors import InstanceError
from hetserve.instances.traces import AZURE_TRACES, Trace, workload_names, workload_table
from hetserve.instances.traces import load_trace as _load_trace

__all__ = [
    "BUILTIN_CDFS",
    "DEFAULT_BREAKPOINTS",
    "SliceStats",
    "TokenCDF",
    "Trace",
    "cdf_from_json",
    "cdf_from_trace",
    "load_trace",
    "load_workload",
    "slice_stats",
]

DEFAULT_BREAKPOINTS = (64, 128, 256, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192,
                       12288, 16384, 24576, 32768, 49152, 65536)
DEFAULT_OUT_FRAC = 0.2
NMOM = 7  # quadrature sums: w, w x, w I, w I^2, w P, w X, w X2

BUILTIN_CDFS: dict[str, tuple[tuple[float, float], ...]] = {
    name: tuple((float(t), float(f)) for t, f in workload_table(name)["cdf"])
    for name in workload_names()
}
"""The bundled token CDFs (package data ``instances/data/workloads/*.json``)."""
TRACE_FILES = AZURE_TRACES


@dataclass(frozen=True)
class TokenCDF:
    """Piecewise-uniform CDF of total tokens per request, with an output share per piece."""

    tokens: tuple[float, ...]
    cum: tuple[float, ...]
    out_frac: tuple[float, ...]
    name: str = "cdf"
    _t: np.ndarray = field(init=False, repr=False, compare=False)
    _c: np.ndarray = field(init=False, repr=False, compare=False)
    _f: np.ndarray = field(init=False, repr=False, compare=False)
    _pieces: tuple = field(init=False, repr=False, compare=False)
    _xs: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        t = np.asarray(self.tokens, float)
        c = np.asarray(self.cum, float)
        f = np.asarray(self.out_frac, float)
        if t.ndim != 1 or t.size < 1:
            raise ValueError("tokens: need at least one breakpoint")
        if c.shape != t.shape:
            raise ValueError("cum: must have one cumulative fraction per breakpoint")
        if f.shape != t.shape:
            raise ValueError("out_frac: must have one output share per piece")
        if not np.all(np.isfinite(t)) or t[0] <= 0 or np.any(np.diff(t) <= 0):
            raise ValueError("tokens: breakpoints must be positive and strictly increasing")
        if not np.all(np.isfinite(c)) or np.any(c < 0) or np.any(np.diff(c) < -1e-12):
            raise ValueError("cum: cumulative fractions must be >= 0 and non-decreasing")
        if abs(c[-1] - 1.0) > 1e-3:
            raise ValueError(f"cum: last cumulative fraction must be 1, got {c[-1]:.6g}")
        if np.any(f < 0) or np.any(f >= 1):
            raise ValueError("out_frac: output shares must be in [0, 1)")
        c = np.minimum(np.maximum.accumulate(c), 1.0)
        c[-1] = 1.0
        object.__setattr__(self, "_t", t)
        object.__setattr__(self, "_c", c)
        object.__setattr__(self, "_f", f)
        left = np.concatenate(([0.0], t[:-1]))
        mass = np.diff(np.concatenate(([0.0], c)))
        pcs = (left, t.copy(), mass, f.copy())
        for a in pcs:
            a.setflags(write=False)
        object.__setattr__(self, "_pieces", pcs)
        # F's knots as Python floats: a scalar F is a bisection, not a NumPy call
        object.__setattr__(self, "_xs", ((0.0, *map(float, t)), (0.0, *map(float, c))))
        # hashed once: the CDF keys every slice and calibration cache (hashing its three
        # tuples on each of the sweep's thousands of lookups cost more than the lookups)
        object.__setattr__(self, "_hash", hash((self.tokens, self.cum, self.out_frac,
                                                self.name)))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined]

    # --- basic functions -------------------------------------------------------------
    @property
    def max_tokens(self) -> float:
        return float(self._t[-1])

    def F(self, x):
        """CDF value(s) at x tokens (linear between breakpoints, F(0) = 0)."""
        xs, cs = self._xs
        if isinstance(x, (int, float)):
            x = float(x)
            if x <= 0.0:
                return 0.0
            if x >= xs[-1]:
                return cs[-1]
            j = bisect.bisect_right(xs, x)
            x0, x1 = xs[j - 1], xs[j]
            return cs[j - 1] + (cs[j] - cs[j - 1]) * (x - x0) / (x1 - x0)
        out = np.interp(np.asarray(x, float), xs, cs)
        return float(out) if np.ndim(out) == 0 else out

    def breakpoints(self, lo: float = 0.01, hi: float = 0.999) -> np.ndarray:
        """Breakpoints t with lo <= F(t) <= hi (candidate pool boundaries)."""
        m = (self._c >= lo) & (self._c <= hi)
        return self._t[m].copy()

    def pieces(self):
        """(left, right, mass, out_frac) arrays of the pieces (read-only views)."""
        return self._pieces

    def sample(self, n: int, rng: np.random.Generator):
        """Draw n requests; returns (L_in, L_out) as int64 arrays (L_in >= 1, L_out >= 1)."""
        if n < 0:
            raise ValueError("n: must be >= 0")
        left, right, mass, f = self.pieces()
        u = rng.random(n)
        cum = np.cumsum(mass)
        i = np.minimum(np.searchsorted(cum, u, side="right"), len(mass) - 1)
        # skip empty pieces that searchsorted may land on at exact boundaries
        while True:
            bad = mass[i] <= 0
            if not bad.any():
                break
            i[bad] += 1
            i = np.minimum(i, len(mass) - 1)
            if np.all(mass[i[bad]] <= 0) and np.all(i[bad] == len(mass) - 1):
                break
        lo_c = cum[i] - mass[i]
        frac = np.clip((u - lo_c) / np.where(mass[i] > 0, mass[i], 1.0), 0.0, 1.0)
        L = left[i] + frac * (right[i] - left[i])
        L_out = np.maximum(1, np.rint(f[i] * L)).astype(np.int64)
        L_in = np.maximum(1, np.rint(L).astype(np.int64) - L_out)
        return L_in, L_out

    def to_json(self) -> dict:
        return {"name": self.name, "cdf": [[float(a), float(b)] for a, b in zip(self._t, self._c)],
                "out_frac": [float(v) for v in self._f]}


# --- quadrature --------------------------------------------------------------------------
@dataclass(frozen=True)
class SliceStats:
    """Moments of per-request work over a CDF slice lo < L <= hi (chunk-specific)."""

    lo: float
    hi: float
    chunk: int
    mass: float  # probability of the slice
    mean_tokens: float  # E[L | slice]
    mean_iters: float  # E[I]
    m2_iters: float  # E[I^2]
    mean_prefill_iters: float  # E[P]
    mean_ctx_sum: float  # E[X], KV-token-iterations per request
    prefill_iters: np.ndarray = field(repr=False)  # support of P (nodes)
    prefill_w: np.ndarray = field(repr=False)  # probabilities (sum to 1)
    # tail nodes, one per prefill-iteration count: mean prompt tokens, prefill
    # iterations, mean total tokens and probability (sum 1); the length-aware SLO and the
    # per-request prefill time need the prompt
    node_prompt: np.ndarray = field(repr=False, default_factory=lambda: np.ones(1))
    node_prefill: np.ndarray = field(repr=False, default_factory=lambda: np.ones(1))
    node_tokens: np.ndarray = field(repr=False, default_factory=lambda: np.ones(1))
    node_w: np.ndarray = field(repr=False, default_factory=lambda: np.ones(1))
    mean_ctx2_sum: float = 0.0  # E[X2], squared KV context summed over the iterations

    @property
    def resident_ctx2(self) -> float:
        """Iteration-weighted mean squared KV context of a resident sequence (tokens^2)."""
        return self.mean_ctx2_sum / self.mean_iters if self.mean_iters > 0 else 0.0

    @property
    def cv2_iters(self) -> float:
        if self.mean_iters <= 0:
            return 0.0
        return max(self.m2_iters / self.mean_iters**2 - 1.0, 0.0)

    @property
    def resident_ctx(self) -> float:
        """Iteration-weighted mean KV context of a resident sequence (tokens)."""
        return self.mean_ctx_sum / self.mean_iters if self.mean_iters > 0 else 0.0


def _nodes(cdf: TokenCDF, lo: float, hi: float, per_piece: int, pieces=None):
    """Composite-midpoint nodes (x, weight, output share) of the CDF clipped to (lo, hi],
    ``per_piece`` per piece (only the pieces indexed by ``pieces`` when given)."""
    left, right, mass, f = cdf.pieces()
    if pieces is not None:
        idx = np.asarray(pieces, dtype=np.int64)
        left, right, mass, f = left[idx], right[idx], mass[idx], f[idx]
    a = np.maximum(left, lo)
    b = np.minimum(right, hi)
    width = right - left
    keep = (b > a) & (mass > 0)
    if not keep.any():
        return np.empty(0), np.empty(0), np.empty(0)
    a, b, m, fk = a[keep], b[keep], mass[keep] * (b[keep] - a[keep]) / width[keep], f[keep]
    s = (np.arange(per_piece) + 0.5) / per_piece
    x = (a[:, None] + s[None, :] * (b - a)[:, None]).ravel()
    w = np.repeat(m / per_piece, per_piece)
    ff = np.repeat(fk, per_piece)
    return x, w, ff


def slice_stats(cdf: TokenCDF, lo: float, hi: float, chunk: int,
                nodes_per_piece: int = 48, compress_to: float | None = None) -> SliceStats:
    """Deterministic quadrature of the work moments over the slice lo < L <= hi.

    ``compress_to=B`` models compress-and-route: each request keeps its output tokens and
    its prompt is trimmed so that ``L_in + L_out = B`` (extractive compression hitting the
    budget exactly), i.e. ``L_in = max(B - L_out, 1)``.
    """
    if hi <= lo:
        raise ValueError(f"hi: slice upper bound {hi} must exceed lower bound {lo}")
    if chunk < 1:
        raise ValueError("chunk: must be >= 1")
    if compress_to is not None and compress_to <= 0:
        raise ValueError("compress_to: must be > 0 tokens")
    return _slice_cached(cdf, float(lo), float(hi), int(chunk), int(nodes_per_piece),
                         None if compress_to is None else float(compress_to))


@lru_cache(maxsize=256)
def _piece_tables(cdf: TokenCDF, chunk: int, per_piece: int):
    """Quadrature sums of every whole piece, prefix-summed over pieces: a slice made of
    whole pieces is then a difference of two rows (the planner's slices start and end at
    breakpoints; only a gamma band ends inside a piece).  Returns (cum_moments[npc + 1, 7]
    of sum w, w x, w I, w I^2, w P, w X, w X2; cum_bins[npc + 1, 3, maxP + 1] of per-P sums of w,
    w L_in, w x)."""
    left, right, mass, f = cdf.pieces()
    s = (np.arange(per_piece) + 0.5) / per_piece
    x = left[:, None] + s[None, :] * (right - left)[:, None]
    w = np.broadcast_to((mass / per_piece)[:, None], x.shape)
    L_in, P, I, X, X2 = _work(x, f[:, None] * x, chunk)
    mom = np.stack([w, w * x, w * I, w * I**2, w * P, w * X, w * X2]).sum(axis=2).T
    Pi = P.astype(np.int64)
    nb = int(Pi.max()) + 1
    bins = np.zeros((len(left), 3, nb))
    for k in range(len(left)):
        for j, v in enumerate((w[k], w[k] * L_in[k], w[k] * x[k])):
            bins[k, j] = np.bincount(Pi[k], weights=v, minlength=nb)
    cm = np.vstack([np.zeros((1, NMOM)), np.cumsum(mom, axis=0)])
    cb = np.concatenate([np.zeros((1, 3, nb)), np.cumsum(bins, axis=0)])
    return cm, cb


def _work(x, L_out, chunk):
    """(L_in, P, I, X, X2) of requests with total tokens x and L_out output tokens; X2 sums
    the squared context over the iterations, sum_d (L_in + d)^2 ~= L_out L_in^2 +
    L_in L_out^2 + L_out^3 / 3 while decoding (the iteration-time spread of a pool,
    docs/queueing.md §1)."""
    L_in = np.maximum(x - L_out, 1.0)
    P = np.ceil(L_in / chunk)
    I = P + L_out
    X = P * L_in + L_out * L_in + 0.5 * L_out**2
    X2 = P * L_in**2 + L_out * L_in**2 + L_in * L_out**2 + L_out**3 / 3.0
    return L_in, P, I, X, X2


def _stats_of(lo, hi, chunk, mom, bins) -> SliceStats:
    """SliceStats from the unnormalised sums (moments [7], per-P bins [3, nP])."""
    mass = float(mom[0])
    if mass <= 0:
        return SliceStats(lo, hi, chunk, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, np.zeros(1), np.ones(1))
    Pu = np.flatnonzero(bins[0] > 0)
    wP = bins[0, Pu]
    g_in = bins[1, Pu] / wP
    g_x = bins[2, Pu] / wP
    Pw = wP / mass
    Pf = Pu.astype(float)
    m = mom / mass
    return SliceStats(lo, hi, chunk, mass, float(m[1]), float(m[2]), float(m[3]),
                      float(m[4]), float(m[5]), Pf, Pw, g_in, Pf.copy(), g_x, Pw, float(m[6]))


_SLICES: dict[tuple, SliceStats] = {}
_SLICES_MAX = 8192


def _slice_cached(cdf: TokenCDF, lo: float, hi: float, chunk: int, per_piece: int,
                  compress_to: float | None = None) -> SliceStats:
    """Memoised :func:`_slice_one` (filled in bulk by :func:`prefetch_slices`)."""
    key = (cdf, lo, hi, chunk, per_piece, compress_to)
    hit = _SLICES.get(key)
    if hit is None:
        hit = _slice_one(cdf, lo, hi, chunk, per_piece, compress_to)
        _remember(key, hit)
    return hit


def _remember(key: tuple, st: SliceStats) -> None:
    if len(_SLICES) >= _SLICES_MAX:
        _SLICES.clear()
    _SLICES[key] = st


def clear_slices() -> None:
    """Drop every memoised slice (the planner's ``clear_caches`` times a cold sweep)."""
    _SLICES.clear()


def _slice_one(cdf: TokenCDF, lo: float, hi: float, chunk: int, per_piece: int,
               compress_to: float | None = None) -> SliceStats:
    left, right, _mass, _f = cdf.pieces()
    if compress_to is None:
        # whole pieces from the prefix tables, the (at most two) cut pieces by quadrature
        cm, cb = _piece_tables(cdf, chunk, per_piece)
        i0 = int(np.searchsorted(left, lo, side="left"))  # first piece with left >= lo
        i1 = int(np.searchsorted(right, hi, side="right"))  # pieces [.., i1) end <= hi
        mom = cm[max(i1, i0)] - cm[i0]
        bins = cb[max(i1, i0)] - cb[i0]
        cut = [k for k in {i0 - 1, i1} if 0 <= k < len(left)
               and min(right[k], hi) > max(left[k], lo) and not (lo <= left[k]
                                                                  and right[k] <= hi)]
        if not cut:
            return _stats_of(lo, hi, chunk, mom, bins)
        x, w, f = _nodes(cdf, lo, hi, per_piece, pieces=sorted(cut))
        L_in, P, I, X, X2 = _work(x, f * x, chunk)
        mom = mom + np.array([w.sum(), w @ x, w @ I, w @ I**2, w @ P, w @ X, w @ X2])
        Pi = P.astype(np.int64)
        nb = max(bins.shape[1], int(Pi.max()) + 1 if Pi.size else 0)
        extra = np.stack([np.bincount(Pi, weights=v, minlength=nb)
                          for v in (w, w * L_in, w * x)])
        if nb > bins.shape[1]:
            bins = np.pad(bins, ((0, 0), (0, nb - bins.shape[1])))
        return _stats_of(lo, hi, chunk, mom, bins + extra)
    x, w, f = _nodes(cdf, lo, hi, per_piece)
    L_out = np.minimum(f * x, compress_to - 1.0)
    x = np.maximum(np.minimum(x, compress_to), L_out + 1.0)
    L_in, P, I, X, X2 = _work(x, L_out, chunk)
    Pi = P.astype(np.int64)
    mom = (np.array([w.sum(), w @ x, w @ I, w @ I**2, w @ P, w @ X, w @ X2]) if w.size
           else np.zeros(NMOM))
    bins = (np.stack([np.bincount(Pi, weights=v) for v in (w, w * L_in, w * x)])
            if w.size else np.zeros((3, 1)))
    return _stats_of(lo, hi, chunk, mom, bins)


def prefetch_slices(cdf: TokenCDF, specs, chunk: int, nodes_per_piece: int = 48) -> None:
    """Compute the :func:`slice_stats` of many slices ``specs = [(lo, hi, compress_to or
    None), ...]`` in one vectorised pass and memoise them.

    The same quadrature as :func:`_slice_one` (whole pieces from the prefix tables, cut
    pieces and compressed slices by composite midpoints), evaluated for all slices at once:
    a cold planner sweep needs some 300 small slices, and one NumPy pass over all of them
    costs a fraction of 300 separate ones (docs/queueing.md §4, "Planner time").  Sums are
    taken in another order, so values agree with :func:`_slice_one` to rounding
    (tests/queueing/test_workload_batch.py)."""
    chunk, pp = int(chunk), int(nodes_per_piece)
    todo, seen = [], set()
    for lo, hi, ct in specs:
        key = (cdf, float(lo), float(hi), chunk, pp, None if ct is None else float(ct))
        if hi > lo and key not in _SLICES and key not in seen:
            seen.add(key)
            todo.append(key)
    plain = [k for k in todo if k[5] is None]
    comp = [k for k in todo if k[5] is not None]
    if plain:
        for key, st in zip(plain, _plain_batch(cdf, plain, chunk, pp)):
            _remember(key, st)
    if comp:
        for key, st in zip(comp, _compressed_batch(cdf, comp, chunk, pp)):
            _remember(key, st)


def _plain_batch(cdf: TokenCDF, keys, chunk: int, pp: int) -> list[SliceStats]:
    left, right, mass, f = cdf.pieces()
    n = len(left)
    cm, cb = _piece_tables(cdf, chunk, pp)
    lo = np.array([k[1] for k in keys])
    hi = np.array([k[2] for k in keys])
    i0 = np.searchsorted(left, lo, side="left")  # first piece with left >= lo
    i1 = np.searchsorted(right, hi, side="right")  # pieces [.., i1) end <= hi
    top = np.maximum(i1, i0)
    mom = cm[top] - cm[i0]
    bins = cb[top] - cb[i0]
    # cut pieces: i0 - 1 and i1, where the slice covers part (not all) of them
    sl = np.concatenate([np.arange(len(keys))] * 2)
    pc = np.concatenate([i0 - 1, i1])
    lo2, hi2 = lo[sl], hi[sl]
    ok = (pc >= 0) & (pc < n)
    pcs = np.clip(pc, 0, n - 1)
    a = np.maximum(left[pcs], lo2)
    b = np.minimum(right[pcs], hi2)
    whole = (lo2 <= left[pcs]) & (right[pcs] <= hi2)
    keep = ok & (b > a) & ~whole & (mass[pcs] > 0)
    # i0 - 1 == i1 can name one piece twice (a slice inside one piece): count it once
    dup = keep[len(keys):] & keep[:len(keys)] & (i0 - 1 == i1)
    keep[len(keys):] &= ~dup
    if keep.any():
        sl, pcs, a, b = sl[keep], pcs[keep], a[keep], b[keep]
        m = mass[pcs] * (b - a) / (right[pcs] - left[pcs])
        s = (np.arange(pp) + 0.5) / pp
        x = a[:, None] + s[None, :] * (b - a)[:, None]
        w = np.broadcast_to((m / pp)[:, None], x.shape)
        L_in, P, I, X, X2 = _work(x, f[pcs][:, None] * x, chunk)
        add = np.stack([w, w * x, w * I, w * I**2, w * P, w * X, w * X2]).sum(axis=2).T
        np.add.at(mom, sl, add)
        Pi = P.astype(np.int64)
        nb = max(bins.shape[2], int(Pi.max()) + 1)
        if nb > bins.shape[2]:
            bins = np.pad(bins, ((0, 0), (0, 0), (0, nb - bins.shape[2])))
        flat = (sl[:, None] * nb + Pi).ravel()
        for j, v in enumerate((w, w * L_in, w * x)):
            bins[:, j] += np.bincount(flat, weights=v.ravel(),
                                      minlength=len(keys) * nb).reshape(len(keys), nb)
    return _stats_batch(keys, chunk, mom, bins)


def _compressed_batch(cdf: TokenCDF, keys, chunk: int, pp: int) -> list[SliceStats]:
    left, right, mass, f = cdf.pieces()
    lo = np.array([k[1] for k in keys])[:, None]
    hi = np.array([k[2] for k in keys])[:, None]
    ct = np.array([k[5] for k in keys])[:, None]
    S = len(keys)
    a = np.maximum(left[None, :], lo)
    b = np.minimum(right[None, :], hi)
    sl, pc = np.nonzero((b > a) & (mass > 0)[None, :])  # (slice, piece) pairs that overlap
    a, b = a[sl, pc], b[sl, pc]
    m = mass[pc] * (b - a) / (right[pc] - left[pc])
    s = (np.arange(pp) + 0.5) / pp
    x = a[:, None] + s[None, :] * (b - a)[:, None]
    w = np.broadcast_to((m / pp)[:, None], x.shape)
    L_out = np.minimum(f[pc][:, None] * x, ct[sl] - 1.0)
    x = np.maximum(np.minimum(x, ct[sl]), L_out + 1.0)
    L_in, P, I, X, X2 = _work(x, L_out, chunk)
    mom = np.zeros((S, NMOM))
    np.add.at(mom, sl, np.stack([w, w * x, w * I, w * I**2, w * P, w * X,
                                 w * X2]).sum(axis=2).T)
    Pi = P.astype(np.int64)
    nb = int(Pi.max()) + 1 if Pi.size else 1
    flat = (sl[:, None] * nb + Pi).ravel()
    bins = np.stack([np.bincount(flat, weights=v.ravel(), minlength=S * nb).reshape(S, nb)
                     for v in (w, w * L_in, w * x)], axis=1)
    return _stats_batch(keys, chunk, mom, bins)


def _stats_batch(keys, chunk: int, mom: np.ndarray, bins: np.ndarray) -> list[SliceStats]:
    """:func:`_stats_of` of every row of ``mom [S, 6]`` and ``bins [S, 3, nP]``."""
    mass = mom[:, 0]
    pos = bins[:, 0] > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        g_in = bins[:, 1] / bins[:, 0]
        g_x = bins[:, 2] / bins[:, 0]
        Pw = bins[:, 0] / mass[:, None]
        m = mom / mass[:, None]
    out = []
    for j, key in enumerate(keys):
        lo, hi = key[1], key[2]
        if not mass[j] > 0:
            out.append(SliceStats(lo, hi, chunk, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, np.zeros(1),
                                  np.ones(1)))
            continue
        Pu = np.flatnonzero(pos[j])
        Pf = Pu.astype(float)
        pw = Pw[j, Pu]
        mj = m[j].tolist()
        out.append(SliceStats(lo, hi, chunk, float(mass[j]), mj[1], mj[2], mj[3], mj[4],
                              mj[5], Pf, pw, g_in[j, Pu], Pf.copy(), g_x[j, Pu], pw, mj[6]))
    return out


# --- loaders -------------------------------------------------------------------------------
def load_trace(name_or_path: str) -> Trace:
    """``azure-conv`` | ``azure-code`` | an Azure-format CSV (one reader:
    :mod:`instances.traces`); bad input raises ``ValueError`` naming the file and row."""
    try:
        return _load_trace(name_or_path)
    except InstanceError as exc:
        raise ValueError(f"trace: {exc}") from None


def cdf_from_trace(trace: Trace, breakpoints=DEFAULT_BREAKPOINTS) -> TokenCDF:
    """Empirical total-token CDF of a trace on a breakpoint grid, with per-piece output share."""
    L = (trace.prompt_tokens + trace.output_tokens).astype(float)
    share = trace.output_tokens / L
    bp = list(breakpoints)
    while bp[-1] < L.max():
        bp.append(bp[-1] * 2)
    last = int(np.searchsorted(bp, L.max()))  # first breakpoint >= max L
    bp = np.asarray(bp[: last + 1], float)
    cum = np.searchsorted(np.sort(L), bp, side="right") / L.size
    piece = np.searchsorted(bp, L, side="left")
    g = float(share.mean())
    tot = np.bincount(piece, weights=share, minlength=bp.size)
    cnt = np.bincount(piece, minlength=bp.size)
    f = np.where(cnt > 0, tot / np.maximum(cnt, 1), g)
    return TokenCDF(tuple(float(v) for v in bp), tuple(float(v) for v in cum),
                    tuple(float(v) for v in np.minimum(f, 0.99)), name=trace.name)


def cdf_from_json(obj, name: str = "cdf", out_frac: float = DEFAULT_OUT_FRAC) -> TokenCDF:
    """CDF from ``[[tokens, cum_frac], ...]`` or ``{"cdf": [...], "out_frac": ...}``, read
    strictly (:mod:`instances.fields`): tokens in (0, 10^8], fractions in [0, 1], at most
    10,000 breakpoints; ``ValueError`` names the entry."""
    try:
        return _cdf_from_json(obj, name, out_frac)
    except InstanceError as exc:
        raise ValueError(f"cdf: {exc}") from None


def _cdf_from_json(obj, name: str, out_frac: float) -> TokenCDF:
    where = name
    of: object = out_frac
    if isinstance(obj, dict):
        fields.obj(obj, where, known=("name", "cdf", "out_frac", "source", "description"))
        of = obj.get("out_frac", out_frac)
        name = fields.get(obj, "name", where, fields.name, default=name)
        obj = fields.get(obj, "cdf", where, fields.array, min_len=1, max_len=10_000)
    pairs = fields.array(obj, f"{where}.cdf", min_len=1, max_len=10_000)
    t, c = [], []
    for k, pair in enumerate(pairs):
        at = f"{where}.cdf[{k}]"
        if not isinstance(pair, list) or len(pair) != 2:
            raise InstanceError(at, "expected a [tokens, cum_frac] pair")
        t.append(fields.number(pair[0], at, lo=0, hi=1e8, lo_open=True))
        c.append(fields.number(pair[1], at, lo=0, hi=1))
    if isinstance(of, list):
        fs = fields.array(of, f"{where}.out_frac", min_len=len(t), max_len=len(t))
        f = tuple(fields.number(v, f"{where}.out_frac[{k}]", lo=0, hi=1, hi_open=True)
                  for k, v in enumerate(fs))
    else:
        f = (fields.number(of, f"{where}.out_frac", lo=0, hi=1, hi_open=True),) * len(t)
    return TokenCDF(tuple(t), tuple(c), f, name=name)


def load_workload(spec: str) -> TokenCDF:
    """azure-conv | azure-code | a built-in name | path to a CDF JSON file."""
    if spec in TRACE_FILES:
        return _trace_cdf(spec)
    if spec in BUILTIN_CDFS:
        return cdf_from_json(workload_table(spec), name=spec)
    path = Path(spec)
    if not path.exists():
        raise ValueError(f"workload: {spec!r} is neither azure-conv, azure-code, "
                         f"{', '.join(sorted(BUILTIN_CDFS))} nor an existing CDF JSON file")
    try:
        obj = fields.read_json(path, max_bytes=16 * 2**20)
    except InstanceError as exc:
        raise ValueError(f"workload: {exc}") from None
    return cdf_from_json(obj, name=path.stem)


@lru_cache(maxsize=4)
def _trace_cdf(spec: str) -> TokenCDF:
    return cdf_from_trace(load_trace(spec))

