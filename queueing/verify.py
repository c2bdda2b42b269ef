"""Verified sizing: a plan is SLO-feasible only when the detailed simulator agrees.

Algorithm (docs/queueing.md §1c)
-------------------------------
1. The analytic planner (:func:`queueing.planner.plan_two_pool`) gives the start: the
   cheapest (B, gamma, n_s, n_l).
2. Requests are drawn once (Poisson arrivals, lengths from the plan's CDF, seed ``s``) and
   replayed unchanged in every round (*common random numbers*: the only difference
   between rounds is the capacity, so a change in the miss rate is not noise).
3. The detailed simulator runs the fleet; :func:`simulator.stats.slo_report` gives every
   constraint's miss rate with a batch-means confidence interval.  The fleet passes when
   every constraint's one-sided 95 % upper bound is ``<= 1 - q`` on the primary stream
   *and* on an independent holdout stream of the same size (seed ``s + 7919``): one
   stream's interval is itself an estimate, and heavy-tailed pools (a few long requests
   hold slots for minutes) passed on one stream and missed on a fresh one.  A holdout
   failure grows the pools like a primary one.
4. Otherwise the pools whose own miss rate is above ``1 - q`` (or, if none, the pool with
   the most misses) grow by ``max(1, ceil(step * units))`` with ``step`` 0.1, doubling
   after each failed round; once a round passes, the gap between the last failing and
   the passing size is bisected (at most ``refine`` rounds).
5. When capacity was added, the next-cheapest analytic candidates (other (B, gamma) rows
   cheaper than the verified cost) are verified too, and the cheapest verified one wins.

Results are cached on (fleet, workload, rate, SLO, requests, seed), so rolling windows of
similar load and repeated CLI calls reuse them.
"""

from __future__ import annotations

import dataclasses
import math
import time

from hetserve.instances.jsonsafe import plain
from hetserve.simulator.des import PoolSpec
from hetserve.simulator.runner import Fleet, make_requests, run_fleet

from .planner import PlanResult, plan_two_pool
from .profiles import PoolProfile
from .slo import TTFTSLO, as_slo
from .workload import TokenCDF, cdf_from_json

__all__ = ["clear_verify_cache", "plan_and_simulate", "plan_verified", "verify_plan"]

_CACHE: dict = {}


def clear_verify_cache() -> None:
    _CACHE.clear()


def _fleet_of_row(plan: PlanResult, row: dict, short: PoolProfile, long: PoolProfile,
                  units: tuple[int, ...] | None = None) -> Fleet:
    pools = []
    if row["split"]:
        pools.append(PoolSpec("short", short, max(1, int(row["n_short"])), int(row["B"])))
    pools.append(PoolSpec("long", long, max(1, int(row["n_long"])), int(plan.long_ctx)))
    if units is not None:
        pools = [dataclasses.replace(p, units=int(u)) for p, u in zip(pools, units)]
    g = float(row["gamma"]) if row["split"] else 1.0
    return Fleet(pools, g, plan.p_compress if g > 1 else 0.0)


def _key(fleet: Fleet, cdf: TokenCDF, rate, slo: TTFTSLO, n, seed, mode):
    return (tuple((p.profile, p.ctx, p.units) for p in fleet.pools), fleet.gamma,
            fleet.p_compress, cdf, round(rate, 9), slo, n, seed, mode)


def _check(fleet: Fleet, req, cdf, rate, slo, n, seed, mode, batches=20):
    key = (*_key(fleet, cdf, rate, slo, n, seed, mode), batches)
    hit = _CACHE.get(key)
    if hit is None:
        res, rep = run_fleet(fleet, req, seed=seed, mode=mode, quantile=slo.quantile, slo=slo,
                             batches=batches)
        hit = (res, rep)
        if len(_CACHE) > 4096:
            _CACHE.clear()
        _CACHE[key] = hit
    return hit


def _pool_misses(res, rep_req, slo: TTFTSLO, fleet: Fleet):
    """Per pool: (measured requests, misses of the fleet constraint)."""
    import numpy as np

    from hetserve.queueing.slo import prefill_alone_s

    meas = res.measured
    prompt = rep_req.prompt_tokens.astype(float)
    tokens = rep_req.total_tokens.astype(float)
    pmin = prefill_alone_s(prompt, fleet.profiles)
    out = []
    for con in slo.constraints():
        members = meas & slo.members(con, tokens, prompt, pmin)
        target = np.asarray(con.target(prompt, pmin), float) * np.ones(len(prompt))
        with np.errstate(invalid="ignore"):
            miss = (res.reject_reason != "") | ~(res.ttft_s <= target)
        out.append((members, miss))
    return out


def _summary(res, rep, fleet: Fleet) -> dict:
    return {"units": [p.units for p in fleet.pools],
            "met": rep["met"],
            "constraints": [{"name": c["name"], "miss": c["miss"]["rate"],
                             "miss_ucb": c["miss"]["ucb"]} for c in rep["constraints"]],
            "ttft_quantile": res.ttft, "pools_ttft": [p.ttft for p in res.pools]}


HOLDOUT_OFFSET = 7919
"""The holdout stream's seed is ``seed + HOLDOUT_OFFSET``: independent of the primary
stream and of the small seeds users and benchmarks evaluate with."""


def _stream(fleet: Fleet, cdf: TokenCDF, rate: float, requests: int, seed: int):
    """(seed, requests, pool index per request, routed requests) of one Poisson stream."""
    import numpy as np

    from hetserve.simulator.des import route_by_length

    req, _, _ = make_requests(cdf=cdf, rate=rate, n=requests, seed=seed)
    idx, routed = route_by_length(req, [s.ctx for s in fleet.pools], fleet.gamma,
                                  fleet.p_compress, np.random.default_rng([seed, 7]))
    return seed, req, idx, routed


def verify_fleet(fleet: Fleet, cdf: TokenCDF, rate: float, slo: TTFTSLO, *,
                 requests: int = 20000, seed: int = 0, mode: str = "detailed",
                 max_rounds: int = 10, refine: int = 2, mean_service_s: float = 0.0,
                 holdout: bool = True) -> dict:
    """Grow ``fleet`` until the detailed simulator's upper bounds meet ``slo`` on the
    primary stream (seed ``seed``) and, with ``holdout``, on a second independent stream
    (seed ``seed + HOLDOUT_OFFSET``) of the same size; batch means span >= 2 mean service
    times where the run allows (5..20 batches)."""
    t0 = time.perf_counter()
    streams = [_stream(fleet, cdf, rate, requests, seed)]
    if holdout:
        streams.append(_stream(fleet, cdf, rate, requests, seed + HOLDOUT_OFFSET))
    span = 0.8 * requests / rate  # measured window (after the 20 % warm-up)
    batches = 20 if mean_service_s <= 0 else int(min(20, max(5, span / (2 * mean_service_s))))
    start = [p.units for p in fleet.pools]
    units = list(start)
    step = [0.1] * len(units)
    last_fail: list[int] | None = None
    rounds = []
    passed = None
    holdout_rounds = 0  # rounds the primary stream passed and the holdout stream failed

    def build(u):
        return Fleet([dataclasses.replace(p, units=int(x)) for p, x in zip(fleet.pools, u)],
                     fleet.gamma, fleet.p_compress)

    def run_all(u):
        """(first failing stream or None, its (res, rep), the primary's (res, rep))."""
        fl = build(u)
        first = None
        for k, (s, req, _idx, _routed) in enumerate(streams):
            res, rep = _check(fl, req, cdf, rate, slo, requests, s, mode, batches)
            rounds.append({**_summary(res, rep, fl), "stream": "primary" if k == 0
                           else "holdout"})
            if k == 0:
                first = (res, rep)
            if not rep["met"]:
                return k, (res, rep), first
        return None, None, first

    for _ in range(max_rounds):
        bad_k, bad, primary = run_all(units)
        if bad_k is None:
            passed = (list(units), *primary)
            break
        if bad_k > 0:
            holdout_rounds += 1
        last_fail = list(units)
        res, rep = bad
        _s, _req, idx, routed = streams[bad_k]
        per = _pool_misses(res, routed, slo, build(units))
        failing = [c for c, d in zip(per, rep["constraints"]) if not d["met"]]
        grow = set()
        worst, worst_p = -1, 0
        for members, miss in failing:
            allowed = 1.0 - slo.quantile
            for p in range(len(units)):
                in_p = members & (idx == p)
                if not in_p.any():
                    continue
                k = int(miss[in_p].sum())
                if k / in_p.sum() > allowed:
                    grow.add(p)
                if k > worst:
                    worst, worst_p = k, p
        if not grow:
            grow = {worst_p}
        for p in grow:
            units[p] += max(1, math.ceil(step[p] * units[p]))
            step[p] *= 2
    info = {"requests": requests, "seed": seed,
            "holdout_seed": seed + HOLDOUT_OFFSET if holdout else None,
            "holdout_rounds": holdout_rounds, "start_units": start}
    if passed is None:
        return {"status": "failed", "rounds": rounds, **info, "units": units,
                "wall_s": time.perf_counter() - t0}
    # bisect between the last failing and the passing size (per pool, jointly)
    best_units, best_res, best_rep = passed
    if last_fail is not None:
        lo = last_fail
        for _ in range(refine):
            mid = [(a + b) // 2 if b - a > 1 else b for a, b in zip(lo, best_units)]
            if mid == best_units:
                break
            bad_k, _bad, primary = run_all(mid)
            if bad_k is None:
                best_units, best_res, best_rep = mid, *primary
            else:
                lo = mid
    return {"status": "verified", "rounds": rounds, **info, "batches": batches,
            "units": best_units, "report": best_rep, "sim": best_res.to_dict(),
            "wall_s": time.perf_counter() - t0}


def verify_plan(plan: PlanResult, short: PoolProfile, long: PoolProfile | None = None, *,
                requests: int = 20000, seed: int = 0, candidates: int = 2,
                mode: str = "detailed", max_rounds: int = 10,
                holdout: bool = True) -> PlanResult:
    """Verify the plan's fleet in the detailed simulator and add capacity where the upper
    confidence bound misses; returns the plan with ``verification`` and ``slo_status``."""
    long = short if long is None else long
    if not plan.feasible:
        return plan
    if not 100 <= requests <= 5_000_000:
        raise ValueError("verify_requests: must be in [100, 5000000]")
    cdf = cdf_from_json(plan.cdf, name=plan.workload)
    slo = TTFTSLO.from_dict(plan.slo)
    # enough requests for a steady state: the run spans >= 10 mean service times (the
    # 20 % warm-up then covers two), within 10x the requested count
    es = max((pool.mean_service_s for pool in (plan.short, plan.long) if pool is not None),
             default=0.0)
    if math.isfinite(es) and es > 0:
        requests = int(min(max(requests, math.ceil(10 * plan.rate * es)), 10 * requests))
    feas = sorted((r for r in plan.rows if r["feasible"]),
                  key=lambda r: (r["cost_per_hour"], r["worst_p99_ttft_s"]))
    price = {"short": short.price_per_unit_hour, "long": long.price_per_unit_hour}
    tried = []
    best = None
    for row in feas[:max(1, candidates)]:
        if best is not None and row["cost_per_hour"] >= best[1]:
            break
        fl = _fleet_of_row(plan, row, short, long)
        v = verify_fleet(fl, cdf, plan.rate, slo, requests=requests, seed=seed, mode=mode,
                         max_rounds=max_rounds, mean_service_s=es, holdout=holdout)
        cost = sum(u * price[p.name] for u, p in zip(v["units"], fl.pools))
        tried.append({"B": row["B"], "gamma": row["gamma"], "split": row["split"],
                      "analytic_units": v["start_units"], "units": v["units"],
                      "status": v["status"], "holdout_rounds": v["holdout_rounds"],
                      "analytic_cost_per_hour": row["cost_per_hour"],
                      "cost_per_hour": cost, "rounds": len(v["rounds"]),
                      "wall_s": v["wall_s"]})
        if v["status"] == "verified" and (best is None or cost < best[1]):
            best = (row, cost, fl, v)
        if v["status"] == "verified" and v["units"] == v["start_units"]:
            break  # the cheapest remaining candidate needed nothing: nothing can beat it
    analytic_cost = feas[0]["cost_per_hour"] if feas else math.inf
    if best is None:
        ver = {"status": "failed", "candidates": tried, "requests": requests, "seed": seed}
        return dataclasses.replace(plan, verification=plain(ver),
                                   slo_status="verification-failed", feasible=False)
    row, cost, fl, v = best
    pools = []
    for p, u in zip(fl.pools, v["units"]):
        pools.append({"name": p.name, "profile": p.profile.to_dict(), "ctx": int(p.ctx),
                      "units": int(u), "tau_s": None})
    routing = dict((plan.fleet or {}).get("routing", {}), gamma=fl.gamma,
                   p_compress=fl.p_compress)
    fleet = {"pools": pools, "routing": routing}
    rep = v["report"]
    pred = {"short": plan.short, "long": plan.long} if row is feas[0] else {}
    ver = {"status": "verified", "requests": requests, "seed": seed,
           "holdout_seed": v["holdout_seed"], "mode": mode,
           "rule": "every constraint's one-sided 95 % upper confidence bound of the miss "
                   "rate <= 1 - q (batch means, common random numbers across rounds) on "
                   "the primary stream and on an independent holdout stream",
           "holdout_added": v["holdout_rounds"] > 0,
           "analytic_cost_per_hour": analytic_cost, "cost_per_hour": cost,
           "added_cost_per_hour": cost - analytic_cost,
           "added_pct": 100.0 * (cost / analytic_cost - 1.0) if analytic_cost > 0 else None,
           "added_units": [u - s for u, s in zip(v["units"], v["start_units"])],
           "predicted_p_quantile_ttft_s": {k: d.p99_ttft_s for k, d in pred.items() if d},
           "simulated_ttft": v["sim"]["ttft"],
           "simulated_pools": [{"name": p["name"], "units": p["units"], "ttft": p["ttft"],
                                "tpot": p["tpot"], "e2e": p["e2e"]} for p in v["sim"]["pools"]],
           "constraints": rep["constraints"], "unservable": rep["unservable"],
           "candidates": tried, "rounds": v["rounds"]}
    gpus = sum(u * p.profile.gpus_per_unit for u, p in zip(v["units"], fl.pools))
    return dataclasses.replace(
        plan, fleet=fleet, cost_per_hour=cost, gpus=gpus, verification=plain(ver),
        slo_status="verified", b_star=row["B"], gamma_star=row["gamma"],
        split=bool(row["split"]))


def plan_verified(cdf: TokenCDF, rate: float, slo, short: PoolProfile,
                  long: PoolProfile | None = None, *, verify: bool = True,
                  verify_requests: int = 20000, seed: int = 0, candidates: int = 2,
                  holdout: bool = True, plan_miss_scale: float = 1.0,
                  **plan_kw) -> PlanResult:
    """Analytic plan, then (``verify=True``) verified in the detailed simulator.

    ``plan_miss_scale`` < 1 sizes the analytic start for that share of each constraint's
    miss budget (``1 - q' = s (1 - q)``) and verifies against the SLO as stated: a plan
    sized exactly at the target fails the verification's upper-bound test about as often
    as not (docs/queueing.md §6)."""
    if not 0 < plan_miss_scale <= 1:
        raise ValueError("plan_miss_scale: must be in (0, 1]")
    if plan_miss_scale < 1:
        full = as_slo(slo, plan_kw.pop("q", 0.99))
        tight = dataclasses.replace(
            full, quantile=1 - plan_miss_scale * (1 - full.quantile),
            classes=tuple(dataclasses.replace(c, quantile=1 - plan_miss_scale * (1 - c.quantile))
                          for c in full.classes))
        plan = plan_two_pool(cdf, rate, tight, short, long, **plan_kw)
        plan = dataclasses.replace(plan, slo=full.to_dict(), quantile=full.quantile)
    else:
        plan = plan_two_pool(cdf, rate, slo, short, long, **plan_kw)
    if not verify or not plan.feasible:
        return plan
    return verify_plan(plan, short, long, requests=verify_requests, seed=seed,
                       candidates=candidates, holdout=holdout)


def plan_and_simulate(*, cdf: TokenCDF | None, rate: float | None, slo, short: PoolProfile,
                      long: PoolProfile | None = None, seed: int = 0,
                      requests: int | None = None, mode: str = "fast",
                      replay: str | None = None, quantile: float = 0.99,
                      plan_kw: dict | None = None) -> dict:
    """``hetserve simulate --pools auto``: plan analytically, simulate the plan's fleet."""
    from hetserve.simulator.runner import fleet_from_plan, run_simulation

    slo = as_slo(slo, quantile)
    plan_rate = rate
    if replay is not None:
        from .workload import cdf_from_trace, load_trace

        trace = load_trace(replay)
        cdf = cdf_from_trace(trace)
        plan_rate = trace.rate if rate is None else rate
    if plan_rate is None or cdf is None:
        raise ValueError("rate: --rate > 0 is required with --workload")
    plan = plan_two_pool(cdf, plan_rate, slo, short, long, bstar_check=False,
                         **(plan_kw or {}))
    if not plan.feasible:
        raise ValueError("slo_ttft: no feasible plan for this workload, rate and SLO")
    fleet, _ = fleet_from_plan(plan.to_dict())
    out = run_simulation(fleet=fleet, cdf=None if replay else cdf, replay=replay,
                         rate=rate, seed=seed, requests=requests,
                         mode=mode, quantile=slo.quantile, slo=slo)
    out["plan"] = plan.to_dict()
    return out
