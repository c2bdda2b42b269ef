"""Requests and fleets for the DES: pool specs, plan files, one simulation run.

This module imports no planner: a plan reaches it as data (the JSON that
``hetserve pools --json`` writes, or its ``fleet`` part), and planning + simulating is
composed outside ``simulator/`` (:mod:`queueing.verify`).

``--pools`` syntax: a comma list ``PROFILE:CTX:UNITS`` (e.g. ``a100:4096:6,a100:65536:1``),
PROFILE a preset or a name from a profiles file; pools are sorted by context and a
request goes to the first pool whose context holds prompt + output (longer than every
pool: rejected).  For explicit pools the fast mode's iteration time is the full-batch
estimate from the routed requests (conservative); a plan carries the planner's
load-aware value per pool.
"""

from __future__ import annotations

import math

import numpy as np

from hetserve.instances.jsonsafe import plain
from hetserve.queueing.profiles import PoolProfile, profile_from_dict, resolve_profile
from hetserve.queueing.slo import TTFTSLO
from hetserve.queueing.workload import TokenCDF, cdf_from_json, cdf_from_trace, load_trace, load_workload

from .des import PoolSpec, Requests, poisson_requests, route_by_length, simulate, trace_requests
from .stats import slo_report

__all__ = ["Fleet", "fleet_from_plan", "make_requests", "parse_pools", "run_simulation"]

MAX_REQUESTS = 20_000_000


class Fleet:
    """Pools (sorted by context) and the routing parameters of one fleet."""

    def __init__(self, pools: list[PoolSpec], gamma: float = 1.0, p_compress: float = 0.0):
        if not pools:
            raise ValueError("pools: no pool given")
        if not (math.isfinite(gamma) and gamma >= 1):
            raise ValueError(f"gamma: must be a finite number >= 1, got {gamma!r}")
        if not 0 <= p_compress <= 1:
            raise ValueError(f"p_compress: must be in [0, 1], got {p_compress!r}")
        self.pools = sorted(pools, key=lambda p: p.ctx)
        self.gamma = float(gamma)
        self.p_compress = float(p_compress) if gamma > 1 else 0.0

    @property
    def profiles(self) -> tuple[PoolProfile, ...]:
        return tuple(p.profile for p in self.pools)

    def describe(self) -> list[dict]:
        return [{"name": s.name, "profile": s.profile.name, "ctx": s.ctx, "units": s.units,
                 "slots_per_unit": s.k, "tau_s": s.tau_s} for s in self.pools]


def parse_pools(spec: str, profiles: dict | None = None) -> list[PoolSpec]:
    """Parse ``PROFILE:CTX:UNITS[,...]`` into PoolSpecs sorted by context."""
    pools = []
    for i, part in enumerate(p.strip() for p in spec.split(",") if p.strip()):
        bits = part.split(":")
        if len(bits) != 3:
            raise ValueError(f"pools: entry {part!r} must be PROFILE:CTX:UNITS")
        prof = resolve_profile(bits[0], profiles)
        try:
            ctx, units = int(bits[1]), int(bits[2])
        except ValueError:
            raise ValueError(f"pools: CTX and UNITS of {part!r} must be integers") from None
        if not 1 <= ctx <= 1 << 24 or not 1 <= units <= 10_000_000:
            raise ValueError(f"pools: {part!r} needs 1 <= CTX <= 16777216 and "
                             "1 <= UNITS <= 10000000")
        pools.append(PoolSpec(f"pool{i}-{ctx}", prof, units, ctx))
    if not pools:
        raise ValueError("pools: no pool given")
    return sorted(pools, key=lambda p: p.ctx)


def _field(d, key, where):
    if not isinstance(d, dict) or key not in d:
        raise ValueError(f"plan: {where}{key}: missing")
    return d[key]


def fleet_from_plan(obj) -> tuple[Fleet, dict]:
    """The fleet a plan JSON (``hetserve pools --json``) describes, plus its context
    (``rate``, ``cdf``, ``slo`` when present).  Strict: every bad field is named."""
    if not isinstance(obj, dict):
        raise ValueError("plan: must be a JSON object written by `hetserve pools --json`")
    fleet = obj.get("fleet")
    if fleet is None:
        raise ValueError("plan: fleet: missing or null (the plan is infeasible, or not "
                         "written by `hetserve pools --json`)")
    pools_d = _field(fleet, "pools", "fleet.")
    if not isinstance(pools_d, list) or not 1 <= len(pools_d) <= 64:
        raise ValueError("plan: fleet.pools: must be a list of 1-64 pools")
    pools = []
    for i, p in enumerate(pools_d):
        w = f"fleet.pools[{i}]."
        prof = profile_from_dict(_field(p, "profile", w), f"plan: {w}profile")
        ctx, units = _field(p, "ctx", w), _field(p, "units", w)
        for name, v, hi in (("ctx", ctx, 1 << 24), ("units", units, 10_000_000)):
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= hi:
                raise ValueError(f"plan: {w}{name}: must be an integer in [1, {hi}], got {v!r}")
        tau = p.get("tau_s")
        if tau is not None and (isinstance(tau, bool) or not isinstance(tau, (int, float))
                                or not (math.isfinite(tau) and 0 < tau <= 60)):
            raise ValueError(f"plan: {w}tau_s: must be a number in (0, 60] or null")
        name = p.get("name", f"pool{i}")
        if not isinstance(name, str) or not name.isprintable() or len(name) > 100:
            raise ValueError(f"plan: {w}name: must be a printable string")
        try:
            pools.append(PoolSpec(name, prof, units, ctx,
                                  tau_s=None if tau is None else float(tau)))
        except ValueError as exc:
            raise ValueError(f"plan: {w}{exc}") from None
    routing = _field(fleet, "routing", "fleet.")
    gamma = _field(routing, "gamma", "fleet.routing.")
    p_c = _field(routing, "p_compress", "fleet.routing.")
    for name, v in (("gamma", gamma), ("p_compress", p_c)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"plan: fleet.routing.{name}: must be a finite number")
    try:
        fl = Fleet(pools, float(gamma), float(p_c))
    except ValueError as exc:
        raise ValueError(f"plan: fleet.routing.{exc}") from None
    ctx = {}
    rate = obj.get("rate")
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or \
                not (math.isfinite(rate) and 0 < rate <= 1e7):
            raise ValueError("plan: rate: must be a number in (0, 1e7]")
        ctx["rate"] = float(rate)
    if obj.get("cdf") is not None:
        try:
            ctx["cdf"] = cdf_from_json(obj["cdf"], name=str(obj.get("workload", "plan")))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"plan: cdf: {exc}") from None
    if obj.get("slo"):
        try:
            ctx["slo"] = TTFTSLO.from_dict(obj["slo"])
        except ValueError as exc:
            raise ValueError(f"plan: {exc}") from None
    return fl, ctx


def make_requests(*, cdf: TokenCDF | None = None, replay: str | None = None,
                  rate: float | None = None, n: int | None = None,
                  seed: int = 0) -> tuple[Requests, TokenCDF, float]:
    """Poisson arrivals with lengths from ``cdf``, or a trace replay (``rate`` rescales
    its time axis).  Returns (requests, the CDF they follow, their rate)."""
    if (cdf is None) == (replay is None):
        raise ValueError("workload: give exactly one of --workload (with --rate) or --replay")
    if n is not None and not 1 <= n <= MAX_REQUESTS:
        raise ValueError(f"requests: must be in [1, {MAX_REQUESTS}]")
    if replay is not None:
        trace = load_trace(replay)
        scale = 1.0 if rate is None else rate / trace.rate
        req = trace_requests(trace, rate_scale=scale, limit=n)
        return req, cdf_from_trace(trace), trace.rate * scale
    if rate is None or not (math.isfinite(rate) and 0 < rate <= 1e7):
        raise ValueError("rate: --rate in (0, 1e7] req/s is required with --workload")
    rng = np.random.default_rng(seed)
    return poisson_requests(cdf, rate, 20000 if n is None else n, rng), cdf, float(rate)


def run_fleet(fleet: Fleet, req: Requests, *, seed: int = 0, mode: str = "detailed",
              quantile: float = 0.99, slo: TTFTSLO | None = None,
              warmup_frac: float = 0.2, batches: int = 20):
    """Route ``req`` over ``fleet`` and simulate; returns (SimResult, slo report | None);
    ``batches`` is the batch-means count of the SLO's intervals."""
    rng = np.random.default_rng([seed, 7])  # compression draws, independent of arrivals
    idx, req2 = route_by_length(req, [s.ctx for s in fleet.pools], fleet.gamma,
                                fleet.p_compress, rng)
    res = simulate(req2, idx, fleet.pools, mode=mode, warmup_frac=warmup_frac,
                   quantile=quantile)
    rep = slo_report(req2, res, slo, fleet.profiles, batches) if slo is not None else None
    return res, rep


def run_simulation(*, fleet: Fleet, workload: str | None = None, cdf: TokenCDF | None = None,
                   replay: str | None = None, rate: float | None = None, seed: int = 0,
                   requests: int | None = None, mode: str = "fast", quantile: float = 0.99,
                   slo: TTFTSLO | None = None, warmup_frac: float = 0.2) -> dict:
    """Build requests (Poisson or replay), run ``fleet`` through the DES, report."""
    if workload is not None:
        cdf = load_workload(workload)
    req, cdf, lam = make_requests(cdf=cdf if replay is None else None, replay=replay,
                                  rate=rate, n=requests, seed=seed)
    res, rep = run_fleet(fleet, req, seed=seed, mode=mode, quantile=quantile, slo=slo,
                         warmup_frac=warmup_frac)
    out = {"workload": replay or cdf.name, "requests": len(req), "rate": float(lam),
           "seed": seed, "gamma": fleet.gamma, "p_compress": fleet.p_compress,
           "pools": fleet.describe(), "sim": res.to_dict()}
    if rep is not None:
        out["slo"] = rep
    return plain(out)
