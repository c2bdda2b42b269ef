"""Glue between the planner and the DES: pool-spec parsing and plan-driven runs.

``--pools`` syntax: ``auto`` (plan with :func:`queueing.plan_two_pool` and simulate the
plan) or a comma list ``PROFILE:CTX:UNITS`` (e.g. ``a100:4096:6,a100:65536:1``), pools
sorted by context; requests go to the first pool whose context holds them.  For explicit
pools the fast mode's iteration time is the full-batch estimate from the routed
requests (conservative); for ``auto`` it is the planner's load-aware value.
"""

from __future__ import annotations

import math

import numpy as np

from hetserve.queueing.planner import plan_two_pool
from hetserve.queueing.profiles import PoolProfile, get_profile
from hetserve.queueing.workload import TokenCDF, cdf_from_trace, load_trace, load_workload

from .des import PoolSpec, Requests, poisson_requests, route_by_length, simulate, trace_requests

__all__ = ["parse_pools", "plan_pools", "run_simulation"]


def parse_pools(spec: str, profile_lookup=get_profile) -> list[PoolSpec]:
    """Parse ``PROFILE:CTX:UNITS[,...]`` into PoolSpecs sorted by context."""
    pools = []
    for i, part in enumerate(p.strip() for p in spec.split(",") if p.strip()):
        bits = part.split(":")
        if len(bits) != 3:
            raise ValueError(f"pools: entry {part!r} must be PROFILE:CTX:UNITS")
        prof = profile_lookup(bits[0])
        try:
            ctx, units = int(bits[1]), int(bits[2])
        except ValueError as exc:
            raise ValueError(f"pools: CTX and UNITS of {part!r} must be integers") from exc
        pools.append(PoolSpec(f"pool{i}-{ctx}", prof, units, ctx))
    if not pools:
        raise ValueError("pools: no pool given")
    return sorted(pools, key=lambda p: p.ctx)


def plan_pools(cdf: TokenCDF, rate: float, slo_ttft: float, profile: PoolProfile,
               long_ctx: int = 65536, gammas=None, p_compress: float = 0.75,
               rho_max: float = 0.85):
    """Plan, then turn the plan into PoolSpecs (with the planner's iteration times)."""
    plan = plan_two_pool(cdf, rate, slo_ttft, profile, long_ctx=long_ctx, gammas=gammas,
                         p_compress=p_compress, rho_max=rho_max, bstar_check=False)
    if not plan.feasible:
        raise ValueError("slo_ttft: no feasible plan for this workload, rate and SLO")
    pools = []
    if plan.split:
        pools.append(PoolSpec("short", profile, max(1, plan.short.units), int(plan.b_star),
                              tau_s=plan.short.tau_s))
    pools.append(PoolSpec("long", profile, max(1, plan.long.units), int(long_ctx),
                          tau_s=plan.long.tau_s))
    return plan, pools


def run_simulation(*, workload: str | None, replay: str | None, rate: float | None,
                   pools: str, seed: int, requests: int | None, mode: str = "fast",
                   slo_ttft: float = 0.5, profile: str = "a100", long_ctx: int = 65536,
                   gamma: float | None = None, p_compress: float = 0.75,
                   warmup_frac: float = 0.2) -> dict:
    """Build requests (Poisson or replay), pools (auto plan or explicit), run the DES."""
    if (workload is None) == (replay is None):
        raise ValueError("workload: give exactly one of --workload (with --rate) or --replay")
    rng = np.random.default_rng(seed)
    if replay is not None:
        trace = load_trace(replay)
        req = trace_requests(trace, limit=requests)
        cdf = cdf_from_trace(trace)
        plan_rate = trace.rate if rate is None else rate
        if rate is not None:
            req = trace_requests(trace, rate_scale=rate / trace.rate, limit=requests)
    else:
        if rate is None or not rate > 0:
            raise ValueError("rate: --rate > 0 is required with --workload")
        cdf = load_workload(workload)
        n = 20000 if requests is None else requests
        if n < 1:
            raise ValueError("requests: must be >= 1")
        req = poisson_requests(cdf, rate, n, rng)
        plan_rate = rate
    prof = get_profile(profile)
    plan = None
    if pools.strip().lower() == "auto":
        gam = None if gamma is None else (gamma,)
        plan, specs = plan_pools(cdf, plan_rate, slo_ttft, prof, long_ctx, gam, p_compress)
        g = plan.gamma_star if plan.split else 1.0
    else:
        specs = parse_pools(pools)
        g = 1.0 if gamma is None else gamma
    idx, req2 = route_by_length(req, [s.ctx for s in specs], g, p_compress if g > 1 else 0.0,
                                rng)
    res = simulate(req2, idx, specs, mode=mode, warmup_frac=warmup_frac)
    out = {"workload": workload or replay, "requests": len(req),
           "rate": float(plan_rate), "seed": seed, "gamma": g, "sim": res.to_dict()}
    if plan is not None:
        out["plan"] = plan.to_dict()
    out["pools"] = [{"name": s.name, "profile": s.profile.name, "ctx": s.ctx, "units": s.units,
                     "slots_per_unit": s.k} for s in specs]
    return _clean(out)


def _clean(x):
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


_ = Requests  # re-exported type used in annotations by callers
