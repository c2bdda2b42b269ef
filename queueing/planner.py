"""Two-pool fleet planner (FleetOpt form): boundary B, compress-and-route gamma, baseline.

Math
----
Traffic at rate ``lambda`` with total-token CDF ``F`` is split at a boundary ``B``:
a short pool with max context ``B`` and a long pool with max context ``C_l``.
Compress-and-route (C&R) with factor ``gamma >= 1`` and compressible share ``p_c``
trims a share ``p_c`` of the borderline band ``B < L <= gamma B`` down to ``L = B``
(prompt trimmed, output kept) and sends it to the short pool::

    alpha'(gamma) = min(1, F(B) + p_c [F(gamma B) - F(B)]),
    lambda_s = alpha' lambda,   lambda_l = (1 - alpha') lambda

(the two streams are treated as independent Poisson processes, the usual thinning
approximation).  Both pools are calibrated on their *post-routing* traffic by
deterministic quadrature (:mod:`queueing.workload`): the short pool on ``L <= B`` plus
the compressed band, the long pool on the uncompressed part of the band plus
``L > gamma B``.  ``gamma = 1`` is plain length routing.  Requests longer than ``C_l``
are not served (reported as ``unserved_frac``).

Each pool is sized by :func:`queueing.pools.size_pool` (utilisation cap + P99 TTFT SLO);
a row's cost is ``n_s price_s + n_l price_l`` per hour.  The sweep covers every CDF
breakpoint ``B`` with ``0.01 <= F(B) <= 0.999`` and ``B < C_l``, times the gamma grid;
the plan is the cheapest feasible row (ties: lower worst P99).  The homogeneous
baseline is one pool at ``C_l`` on the long profile carrying all traffic; it is also a
candidate row (``split=False``), so the plan never costs more than the baseline (with
whole units a split can lose at low rates: each pool needs at least one unit).
``cr_gain_pts`` is the C&R gain in percentage points of the baseline cost: the best
plan at ``gamma = 1`` (plain routing, or the baseline itself) minus the best plan overall.

B* condition (equal marginal GPU cost).  In the utilisation-capped (fluid) regime a pool
needs ``lambda_p / (mu_max rho_max)`` units, so at ``gamma = 1``::

    Cost(B) = lambda/rho_max [ F(B) price_s / mu_s(B) + (1 - F(B)) price_l / mu_l(B) ]

with ``1/mu(B)`` the unit-seconds per request of each pool's slice.  ``dCost/dB = 0`` is
the equal-marginal-cost condition: the marginal cost of moving the boundary requests
(and of the lower ``k(B)`` for every short request) into the short pool equals the
marginal long-pool cost saved.  :func:`marginal_cost_boundary` evaluates both marginal
costs on a fine log grid of ``B`` (central differences) and returns the zero crossing of
their difference with the lowest fluid cost; the planner reports it next to the
integer-sized sweep optimum.

Choices: calibrations are cached (per profile, CDF slice and context) so a repeated
sweep at another rate only re-sizes; ``planner_ms`` is the wall time of the sweep as
called (cold or warm caches, see ``clear_caches``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from hetserve.instances.jsonsafe import plain

from .pools import (
    PoolCalibration,
    PoolEval,
    PoolTargets,
    calibrate_pool,
    calibrate_slice,
    certain_miss,
    mix_stats,
    size_pool,
)
from .profiles import PoolProfile
from .slo import TTFTSLO, as_slo, prefill_alone_s
from .workload import TokenCDF, _piece_tables, clear_slices, prefetch_slices, slice_stats

__all__ = ["PlanResult", "clear_caches", "default_gammas", "marginal_cost_boundary",
           "plan_two_pool"]


def default_gammas() -> tuple[float, ...]:
    return tuple(round(1.0 + 0.1 * i, 10) for i in range(11))


def clear_caches() -> None:
    """Drop every cached calibration (to time a cold sweep)."""
    clear_slices()
    _piece_tables.cache_clear()
    calibrate_slice.cache_clear()
    _COMPILED.clear()
    _short_cal.cache_clear()
    _long_cal.cache_clear()


@lru_cache(maxsize=8192)
def _short_cal(profile: PoolProfile, cdf: TokenCDF, B: float, gamma: float, p_c: float,
               batch: str) -> PoolCalibration:
    base = slice_stats(cdf, 0.0, B, profile.chunk)
    if gamma <= 1.0 or p_c <= 0:
        return calibrate_pool(profile, base, int(B), batch)
    band = slice_stats(cdf, B, gamma * B, profile.chunk, compress_to=B)
    return calibrate_pool(profile, mix_stats([(base, 1.0), (band, p_c)]), int(B), batch)


@lru_cache(maxsize=8192)
def _long_cal(profile: PoolProfile, cdf: TokenCDF, B: float, gB: float, long_ctx: int,
              p_c: float, batch: str) -> PoolCalibration:
    if gB <= B or p_c <= 0:
        return calibrate_slice(profile, cdf, B, float(long_ctx), long_ctx, batch)
    band = slice_stats(cdf, B, gB, profile.chunk)
    rest = (slice_stats(cdf, gB, float(long_ctx), profile.chunk) if gB < long_ctx
            else band)
    parts = [(band, 1.0 - p_c)] + ([(rest, 1.0)] if gB < long_ctx else [])
    return calibrate_pool(profile, mix_stats(parts), long_ctx, batch)


def _prefetch(cdf: TokenCDF, Bs, gammas, short: PoolProfile, long: PoolProfile,
              long_ctx: int, p_c: float) -> None:
    """Every slice the sweep's calibrations read (:func:`_short_cal`, :func:`_long_cal`,
    the homogeneous pool), computed in one vectorised pass per chunk size."""
    L = float(long_ctx)
    want: dict[int, list] = {short.chunk: [], long.chunk: []}
    want[long.chunk].append((0.0, L, None))
    for B in Bs:
        want[short.chunk].append((0.0, B, None))
        want[long.chunk].append((B, L, None))
        if p_c <= 0:
            continue
        for g in gammas:
            if g <= 1.0:
                continue
            want[short.chunk].append((B, g * B, B))
            gB = min(g * B, L)
            if gB > B:
                want[long.chunk].append((B, gB, None))
                if gB < L:
                    want[long.chunk].append((gB, L, None))
    for chunk, specs in want.items():
        prefetch_slices(cdf, specs, chunk)


_COMPILED: dict = {}


class _Compiled:
    """Per-pool constraint data (node masks, targets, certain misses), built once per
    calibration and SLO: the allowances change per row, the rest does not."""

    def __init__(self, slo: TTFTSLO, profiles):
        self.slo = slo
        self.cons = slo.constraints()
        self.profiles = profiles

    def pool(self, cal: PoolCalibration):
        # calibrations are themselves cached, so their identity keys this cache
        key = (id(cal), self.slo, self.profiles)
        hit = _COMPILED.get(key)
        if hit is not None and hit[0] is cal:
            return hit[1]
        st = cal.stats
        # prefill-alone times only decide membership and targets under the exclude and
        # own_class policies (queueing.slo); the default policy never reads them
        pmin = (prefill_alone_s(st.node_prompt, self.profiles)
                if self.slo.unservable in ("exclude", "own_class") else None)
        names, targets, weights, shares, misses = [], [], [], [], []
        for c in self.cons:
            mask = self.slo.members(c, st.node_tokens, st.node_prompt, pmin)
            w = st.node_w * mask
            names.append(c.name)
            tgt = np.asarray(c.target(st.node_prompt, pmin), float)
            targets.append(tgt if tgt.shape == st.node_w.shape
                           else tgt * np.ones_like(st.node_w))
            weights.append(w)
            shares.append(float(w.sum()))
        tg = PoolTargets(tuple(names), tuple(targets), tuple(weights), (1.0,) * len(names))
        misses = tuple(certain_miss(cal, tg, i) for i in range(len(names)))
        out = (tg, tuple(shares), misses)
        if len(_COMPILED) > 65536:
            _COMPILED.clear()
        _COMPILED[key] = (cal, out)
        return out

    def allowances(self, parts, split=None):
        """Per-pool PoolTargets with the fleet-wide rule ``v_p <= m_p + delta_p`` (module
        docstring of queueing.slo); parts = [(cal, lam)].  ``split=None`` gives every pool
        the same excess ``delta``; a tuple ``f`` (summing to 1) gives pool ``p`` the share
        ``f_p`` of the fleet's excess budget, ``delta_p = delta f_p / s_p``.
        Returns (targets list, reason).  Plain floats: a handful of constraints, called
        for every row of the sweep."""
        comp = [self.pool(cal) if lam > 0 else None for cal, lam in parts]
        k = len(self.cons)
        mass = [0.0] * k
        sure = [0.0] * k
        for (cal, lam), c in zip(parts, comp):
            if c is None:
                continue
            _tg, sh, m = c
            for i in range(k):
                mass[i] += lam * sh[i]
                sure[i] += lam * sh[i] * m[i]
        M = [sure[i] / mass[i] if mass[i] > 0 else 0.0 for i in range(k)]
        q = [c.quantile for c in self.cons]
        delta = [(1.0 - q[i]) - M[i] for i in range(k)]
        reason = ""
        bad = [i for i in range(k) if delta[i] < -1e-12 and mass[i] > 0]
        if bad:
            i = bad[0]
            reason = (f"requests that miss their target by prefill alone are "
                      f"{100 * M[i]:.2f} % of constraint {self.cons[i].name!r}, above its "
                      f"1 - q = {100 * (1 - q[i]):.2f} %")
        out = []
        for j, ((_cal, lam), c) in enumerate(zip(parts, comp)):
            if c is None:
                out.append(None)
                continue
            tg, sh, m = c
            d = delta
            if split is not None:
                s_p = [lam * sh[i] / mass[i] if mass[i] > 0 else 0.0 for i in range(k)]
                d = [delta[i] * split[j] / s_p[i] if s_p[i] > 0 else 1.0 for i in range(k)]
            out.append(PoolTargets(tg.names, tg.targets, tg.weights,
                                   tuple(min(max(mi + di, 0.0), 1.0) for mi, di in zip(m, d)),
                                   m))
        return out, reason


# shares of the fleet's excess miss budget given to the long pool, tried when the TTFT
# target (not rho_max) sets a pool's size; the equal-excess rule is the first candidate
BUDGET_SPLITS = (0.5, 0.8, 0.95)


def _slo_bound(ev: PoolEval, rho_max: float) -> bool:
    return ev.units > 0 and math.isfinite(ev.rho) and \
        ev.units > math.ceil(ev.units * ev.rho / rho_max - 1e-9)


def _best_split(comp: _Compiled, parts, s: PoolEval, l_: PoolEval, target: float,
                rho_max: float, q: float):
    """Cheapest sizing over splits of the fleet's miss budget between the two pools (the
    fleet constraint holds for every split; docs/queueing.md §1a)."""
    best = (s.cost_per_hour + l_.cost_per_hour if s.feasible and l_.feasible else math.inf,
            s, l_)
    (cal_s, lam_s), (cal_l, lam_l) = parts
    for f in BUDGET_SPLITS:
        (tg_s, tg_l), reason = comp.allowances(parts, split=(1.0 - f, f))
        if reason:
            continue
        s2 = size_pool(cal_s, lam_s, target, rho_max, q, targets=tg_s)
        l2 = size_pool(cal_l, lam_l, target, rho_max, q, targets=tg_l)
        if s2.feasible and l2.feasible and s2.cost_per_hour + l2.cost_per_hour < best[0] - 1e-9:
            best = (s2.cost_per_hour + l2.cost_per_hour, s2, l2)
    return best[1], best[2]


def unservable_report(cdf: TokenCDF, slo: TTFTSLO, profiles, long_ctx: int) -> dict:
    """Share and prompt range of the requests no profile can serve in time (prefill alone)."""
    st = slice_stats(cdf, 0.0, float(min(long_ctx, cdf.max_tokens)), profiles[0].chunk)
    pmin = prefill_alone_s(st.node_prompt, profiles)
    mask = slo.unservable_mask(st.node_tokens, st.node_prompt, pmin)
    share = float(st.node_w[mask].sum()) * st.mass
    d = {"policy": slo.unservable, "share": share, "min_prompt_tokens": None,
         "max_prompt_tokens": None, "description": "none"}
    if share > 0:
        lo, hi = float(st.node_prompt[mask].min()), float(st.node_prompt[mask].max())
        d.update(min_prompt_tokens=lo, max_prompt_tokens=hi,
                 description=(f"{100 * share:.3g} % of requests (prompts of about "
                              f"{lo:,.0f}-{hi:,.0f} tokens) miss the TTFT target by prefill "
                              f"alone on every profile ({', '.join(sorted({p.name for p in profiles}))}); "
                              f"policy {slo.unservable!r}"))
    return d


def _row(B, g, alpha, s: PoolEval, l: PoolEval, reason: str = "") -> dict:
    feasible = s.feasible and l.feasible and not reason
    return {
        "B": B, "gamma": g, "alpha": alpha, "n_short": s.units, "n_long": l.units,
        "gpus": s.gpus + l.gpus, "cost_per_hour": s.cost_per_hour + l.cost_per_hour,
        "p99_ttft_short_s": s.p99_ttft_s, "p99_ttft_long_s": l.p99_ttft_s,
        "worst_p99_ttft_s": max(s.p99_ttft_s, l.p99_ttft_s), "rho_short": s.rho,
        "rho_long": l.rho, "feasible": feasible,
        "reason": reason or (s.reason if not s.feasible else l.reason if not l.feasible else ""),
    }


def marginal_cost_boundary(cdf: TokenCDF, short: PoolProfile, long: PoolProfile,
                           long_ctx: int, rate: float, rho_max: float, b_lo: float,
                           b_hi: float, points: int = 160, batch: str = "load") -> dict:
    """Fluid cost and the equal-marginal-cost boundary on a log grid in [b_lo, b_hi]."""
    if not 0 < b_lo < b_hi:
        raise ValueError("b_lo: need 0 < b_lo < b_hi")
    Bs = np.unique(np.round(np.geomspace(b_lo, b_hi, points)))
    cs, cl = [], []
    for B in Bs:
        s = calibrate_slice(short, cdf, 0.0, float(B), int(B), batch)
        l = calibrate_slice(long, cdf, float(B), float(long_ctx), long_ctx, batch)
        fs = s.stats.mass
        cs.append(rate * fs * short.price_per_unit_hour / (s.max_throughput * rho_max)
                  if fs > 0 and s.k > 0 else (math.inf if fs > 0 else 0.0))
        cl.append(rate * l.stats.mass * long.price_per_unit_hour / (l.max_throughput * rho_max)
                  if l.stats.mass > 0 and l.k > 0 else 0.0)
    cs, cl = np.asarray(cs), np.asarray(cl)
    total = cs + cl
    mc_s = np.gradient(cs, Bs)  # marginal short-pool $/h per token of boundary
    mc_l = -np.gradient(cl, Bs)  # marginal long-pool $/h saved
    d = mc_s - mc_l
    cross = np.nonzero((d[:-1] < 0) & (d[1:] >= 0))[0]
    b_cond = None
    if cross.size:
        j = cross[np.argmin(total[cross])]
        t = -d[j] / (d[j + 1] - d[j]) if d[j + 1] != d[j] else 0.0
        b_cond = float(Bs[j] + t * (Bs[j + 1] - Bs[j]))
    i = int(np.argmin(total))
    return {"b_condition": b_cond, "b_fluid_argmin": float(Bs[i]),
            "fluid_cost_min": float(total[i]), "grid": Bs, "fluid_cost": total,
            "mc_short": mc_s, "mc_long": mc_l}


@dataclass(frozen=True)
class PlanResult:
    """Best two-pool plan, homogeneous baseline and the whole sweep (costs in $/h)."""

    workload: str
    rate: float
    slo_ttft_s: float
    quantile: float
    rho_max: float
    short_profile: str
    long_profile: str
    long_ctx: int
    p_compress: float
    feasible: bool
    split: bool  # False when the homogeneous fleet is the cheapest plan
    b_star: float | None
    gamma_star: float | None
    alpha: float | None
    short: PoolEval | None  # the best plan's pools (None when no plan is feasible)
    long: PoolEval | None
    cost_per_hour: float
    gpus: int
    homogeneous: dict
    savings_pct: float | None
    plain_best: dict | None
    cr_gain_pts: float | None
    b_star_condition: float | None
    b_star_fluid: float | None
    unserved_frac: float
    planner_ms: float
    bstar_check_ms: float
    rows: tuple = field(repr=False, default=())
    slo: dict = field(default_factory=dict)
    unservable: dict = field(default_factory=dict)
    warnings: tuple = ()
    fleet: dict | None = None  # exactly what ``hetserve simulate --plan`` runs
    cdf: dict | None = None  # the workload CDF the plan was sized on
    verification: dict | None = None  # set by queueing.verify
    slo_status: str = "analytic"  # analytic | verified | verification-failed | infeasible

    def __post_init__(self):
        if not self.rate > 0:
            raise ValueError("rate: must be > 0 req/s")
        if not self.slo_ttft_s > 0:
            raise ValueError("slo_ttft_s: must be > 0 s")
        if not 0 < self.rho_max < 1:
            raise ValueError("rho_max: must be in (0, 1)")
        if not 0 <= self.p_compress <= 1:
            raise ValueError("p_compress: must be in [0, 1]")
        if self.planner_ms < 0:
            raise ValueError("planner_ms: must be >= 0")

    def to_dict(self, include_rows: bool = False) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "rows"}
        if include_rows:
            d["rows"] = list(self.rows)
        return plain(d)


def plan_two_pool(cdf: TokenCDF, rate: float, slo_ttft, short: PoolProfile,
                  long: PoolProfile | None = None, long_ctx: int = 65536,
                  gammas=None, p_compress: float = 0.75, rho_max: float = 0.85,
                  q: float = 0.99, boundaries=None, batch: str = "load",
                  bstar_check: bool = True) -> PlanResult:
    """Sweep (B, gamma), size both pools, compare with the homogeneous fleet.

    ``slo_ttft`` is a target in seconds (flat, quantile ``q``) or a
    :class:`queueing.slo.TTFTSLO` (length-aware target, classes, unservable policy)."""
    long = short if long is None else long
    if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
        raise ValueError(f"rate: must be a finite number > 0 req/s, got {rate!r}")
    slo = as_slo(slo_ttft, q)
    q = slo.quantile
    if not isinstance(long_ctx, (int, np.integer)) or long_ctx < 2:
        raise ValueError(f"long_ctx: must be an integer >= 2 tokens, got {long_ctx!r}")
    if not 0 <= p_compress <= 1:
        raise ValueError(f"p_compress: must be in [0, 1], got {p_compress!r}")
    if not 0 < rho_max < 1:
        raise ValueError(f"rho_max: must be in (0, 1), got {rho_max!r}")
    gammas = default_gammas() if gammas is None else tuple(float(g) for g in gammas)
    if not gammas or any(not (g >= 1.0 and math.isfinite(g)) for g in gammas):
        raise ValueError("gammas: every gamma must be a finite number >= 1")
    if len(gammas) > 1000:
        raise ValueError("gammas: at most 1000 values")
    if boundaries is None:
        Bs = [float(b) for b in cdf.breakpoints() if b < long_ctx]
    else:
        Bs = sorted(float(b) for b in boundaries)
        if any(not (math.isfinite(b) and 0 < b < long_ctx) for b in Bs):
            raise ValueError("boundaries: every B must satisfy 0 < B < long_ctx")

    t0 = time.perf_counter()
    _prefetch(cdf, Bs, gammas, short, long, int(long_ctx), p_compress)
    comp = _Compiled(slo, (short, long))
    unserv = unservable_report(cdf, slo, (short, long), int(long_ctx))
    policy_block = slo.unservable == "infeasible" and unserv["share"] > 0
    homo_cal = calibrate_slice(long, cdf, 0.0, float(long_ctx), int(long_ctx), batch)
    served = cdf.F(float(long_ctx))
    (homo_tg,), homo_reason = comp.allowances([(homo_cal, served * rate)])
    homo = size_pool(homo_cal, served * rate, slo.target_s, rho_max, q, targets=homo_tg)
    rows = []
    resplit = []
    for B in Bs:
        FB = cdf.F(B)
        for g in gammas:
            gB = min(g * B, float(long_ctx))
            alpha = min(1.0, FB + p_compress * (cdf.F(gB) - FB)) if g > 1 else FB
            scal = _short_cal(short, cdf, B, g, p_compress, batch)
            lcal = _long_cal(long, cdf, B, gB if g > 1 else B, int(long_ctx), p_compress, batch)
            lam_s = alpha * rate
            lam_l = max(0.0, served - alpha) * rate
            parts = [(scal, lam_s), (lcal, lam_l)]
            (tg_s, tg_l), reason = comp.allowances(parts)
            if reason:
                s = size_pool(scal, 0.0, slo.target_s, rho_max, q)
                l_ = size_pool(lcal, 0.0, slo.target_s, rho_max, q)
            else:
                s = size_pool(scal, lam_s, slo.target_s, rho_max, q, targets=tg_s)
                l_ = size_pool(lcal, lam_l, slo.target_s, rho_max, q, targets=tg_l)
                if _slo_bound(s, rho_max) or _slo_bound(l_, rho_max):
                    resplit.append((len(rows), parts))
            rows.append((_row(B, g, alpha, s, l_, reason), s, l_))
    # second pass: where the target sets a pool's size, try other splits of the fleet's
    # miss budget between the pools (a row's result depends on that row alone)
    for j, parts in resplit:
        r0, s0, l0 = rows[j]
        s, l_ = _best_split(comp, parts, s0, l0, slo.target_s, rho_max, q)
        if s is not s0:
            rows[j] = (_row(r0["B"], r0["gamma"], r0["alpha"], s, l_), s, l_)
    planner_ms = 1e3 * (time.perf_counter() - t0)

    # the homogeneous fleet is itself a candidate (B = C_l, empty short pool)
    empty = size_pool(_short_cal(short, cdf, float(rows[0][0]["B"]) if rows else 1.0, 1.0,
                                 p_compress, batch), 0.0, slo.target_s, rho_max, q)
    homo_row = _row(float(long_ctx), 1.0, 0.0, empty, homo, homo_reason)
    homo_row["split"] = False
    for r in rows:
        r[0]["split"] = True
    rows.append((homo_row, empty, homo))
    feas = [] if policy_block else [r for r in rows if r[0]["feasible"]]
    best = min(feas, key=lambda r: (r[0]["cost_per_hour"], r[0]["worst_p99_ttft_s"]),
               default=None)
    plain = min((r for r in feas if r[0]["gamma"] == 1.0),
                key=lambda r: (r[0]["cost_per_hour"], r[0]["worst_p99_ttft_s"]), default=None)
    homo_cost = homo.cost_per_hour if (homo.feasible and not homo_reason) else math.inf
    savings = cr_gain = None
    if best is not None and math.isfinite(homo_cost) and homo_cost > 0:
        savings = 100.0 * (1.0 - best[0]["cost_per_hour"] / homo_cost)
        if plain is not None:
            cr_gain = 100.0 * (plain[0]["cost_per_hour"] - best[0]["cost_per_hour"]) / homo_cost

    b_cond = b_fluid = None
    t1 = time.perf_counter()
    if bstar_check and len(Bs) >= 2:
        mc = marginal_cost_boundary(cdf, short, long, int(long_ctx), rate, rho_max, Bs[0],
                                    Bs[-1], batch=batch)
        b_cond, b_fluid = mc["b_condition"], mc["b_fluid_argmin"]
    bstar_ms = 1e3 * (time.perf_counter() - t1)

    warnings = []
    if best is not None and best[0]["split"]:
        gs = [g for g in gammas]
        if len(gs) > 1 and best[0]["gamma"] == max(gs):
            warnings.append(f"gamma* = {best[0]['gamma']:g} is the top of the searched grid "
                            f"({min(gs):g}..{max(gs):g}); a larger gamma may be cheaper")
        if len(Bs) > 1 and best[0]["B"] in (Bs[0], Bs[-1]):
            edge = "lowest" if best[0]["B"] == Bs[0] else "highest"
            warnings.append(f"B* = {best[0]['B']:g} is the {edge} boundary searched "
                            f"({Bs[0]:g}..{Bs[-1]:g})")
    if best is not None:
        cap = sum(math.ceil(ev.units * ev.rho / rho_max - 1e-9)
                  for ev in (best[1], best[2]) if ev.units > 0 and math.isfinite(ev.rho))
        if cap > 0 and best[1].units + best[2].units > 2 * cap:
            warnings.append(f"the TTFT target, not rho_max, sets the size: "
                            f"{best[1].units + best[2].units} units against {cap} at "
                            f"rho_max; requests close to their prefill limit drive it "
                            f"(unservable: {unserv['description']})")
    if policy_block:
        warnings.append("no plan: " + unserv["description"])

    fleet = None
    if best is not None:
        pools = []
        if best[0]["split"]:
            pools.append({"name": "short", "profile": short.to_dict(), "ctx": int(best[0]["B"]),
                          "units": int(best[1].units), "tau_s": best[1].tau_s})
        pools.append({"name": "long", "profile": long.to_dict(), "ctx": int(long_ctx),
                      "units": int(best[2].units), "tau_s": best[2].tau_s})
        g_star = float(best[0]["gamma"]) if best[0]["split"] else 1.0
        fleet = {"pools": pools, "routing": {
            "rule": "length: the first pool (by context) that holds prompt + output; "
                    "requests longer than every pool are rejected",
            "gamma": g_star, "p_compress": float(p_compress) if g_star > 1 else 0.0}}

    homo_d = homo.to_dict()
    homo_d["profile"] = long.name
    homo_d["reason"] = homo_reason or homo_d["reason"]
    return PlanResult(
        workload=cdf.name, rate=float(rate), slo_ttft_s=float(slo.target_s), quantile=q,
        rho_max=rho_max, short_profile=short.name, long_profile=long.name,
        long_ctx=int(long_ctx), p_compress=float(p_compress), feasible=best is not None,
        split=bool(best[0]["split"]) if best else False,
        b_star=best[0]["B"] if best else None, gamma_star=best[0]["gamma"] if best else None,
        alpha=best[0]["alpha"] if best else None,
        short=best[1] if best else None, long=best[2] if best else None,
        cost_per_hour=best[0]["cost_per_hour"] if best else math.inf,
        gpus=best[0]["gpus"] if best else 0, homogeneous=homo_d, savings_pct=savings,
        plain_best=dict(plain[0]) if plain else None, cr_gain_pts=cr_gain,
        b_star_condition=b_cond, b_star_fluid=b_fluid,
        unserved_frac=float(1.0 - served), planner_ms=planner_ms,
        bstar_check_ms=bstar_ms, rows=tuple(r[0] for r in rows), slo=slo.to_dict(),
        unservable=unserv, warnings=tuple(warnings), fleet=fleet, cdf=cdf.to_json(),
        slo_status="analytic" if best is not None else "infeasible",
    )
