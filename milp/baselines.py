"""The paper's v2 baselines that need an LP or MILP solver (arXiv 2604.07472 v2;
docs/semantics.md#heuristics).

* :func:`lpr` (method ``"lpr"``), LP relaxation + rounding:
  1. solve the LP relaxation of :mod:`milp.formulation` (default tightenings);
  2. round each configuration's replicas up for the LP's routing,
     ``r_c = ⌈Σ_i a_ic x^{LP}_ic / ρ_max⌉`` (the LP's own r_c ≥ w_c would open every
     configuration with a sliver of traffic); where a
     deployment has several (TP, PP) options open, keep the one with the largest LP
     load (one parallelism per deployment, unless the instance allows several);
     the open set is fixed and the LP re-solved over (x, u, continuous r) so the
     traffic of the closed options moves, then replicas are rounded up;
  3. repair availability and budget greedily: while a GPU type is over its limit or
     the spend is over budget, remove one replica from the configuration with the
     least load per replica on the offending resource, and re-route the repaired fleet
     with the routing LP (:mod:`hetserve.instances.routing`);
  4. trim every configuration to ``⌈load/ρ_max⌉`` replicas.
  The evaluator judges the result: a rounded plan with no feasible routing comes back
  INFEASIBLE (with the plan, for inspection).
* :func:`hf` (method ``"hf"``), homogeneous fleet: for each GPU tier alone, solve the
  MILP on ``instance.replace(tiers=(tier,), gpus=(gpu,))``, evaluate each plan on the
  ORIGINAL instance and keep the cheapest feasible one. The time limit of ``params``
  is shared: each tier gets the remaining time divided by the tiers left.

Both return the evaluator's objective; ``bound`` is None (neither proves anything
about the heterogeneous optimum).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from hetserve.instances.evaluate import evaluate, evaluate_arrays
from hetserve.instances.model import Instance
from hetserve.instances.result import RunResult, Status
from hetserve.instances.routing import RoutingData, route_fleet
from hetserve.instances.solution import Solution
from hetserve.milp.diagnose import diagnose
from hetserve.milp.highs_model import ArrayModel, build_arrays
from hetserve.milp.highs_run import run_array_model
from hetserve.milp.solve import MilpParams, extract, solve


def lpr(instance: Instance, *, seed: int = 0, time_limit_s: float = 60.0) -> RunResult:
    """LP relaxation + rounding + repair (see the module docstring)."""
    t0 = time.perf_counter()
    t = instance.routes
    am = build_arrays(instance, lp_relaxation=True)
    idx = am.index
    status, lp_value, v, _ = run_array_model(am, time_limit_s=time_limit_s, seed=seed)
    if v is None:
        return RunResult("lpr", Status.INFEASIBLE if status == "Infeasible" else Status.NO_SOLUTION,
                         None, None, time.perf_counter() - t0, seed=seed,
                         diagnosis=tuple(diagnose(instance)) if status == "Infeasible" else (),
                         stats={"lp_status": status})
    x_lp = v[am.cols["x"]]
    load = np.zeros(idx.n_cfg)
    np.add.at(load, idx.rk, idx.load * x_lp)
    open_ = load > 1e-6
    for ks in idx.deployments:
        members = [k for k in ks if open_[k]]
        if len(members) > 1:
            keep = max(members, key=lambda k: load[k])
            open_[[k for k in members if k != keep]] = False
    # re-route on the open set (replicas still continuous), then round up
    st2, x2 = _relaxation_on(am, open_, time_limit_s, seed)
    if x2 is not None:
        x_lp = x2
        load = np.zeros(idx.n_cfg)
        np.add.at(load, idx.rk, idx.load * x_lp)
    r = np.where(open_, np.ceil(load / instance.max_utilisation - 1e-6), 0.0)
    r = np.minimum(r, idx.rbar)
    # greedy repair of availability and budget
    gpu_use = idx.gpu_row_use()
    price = instance.horizon_h * t.price_per_replica_hour[idx.cfg]
    sizes = np.array([instance.models[int(j)].weight_gb_fp16 for j in idx.models])
    repaired = 0
    for _ in range(int(r.sum()) + 1):
        culprit = None
        for row, (_, limit, ks) in enumerate(idx.gpu_rows):
            if float(gpu_use[ks, row] @ r[ks]) > limit:
                culprit = ks[r[ks] > 0]
                break
        if culprit is None and instance.budget is not None:
            stored = np.zeros(len(idx.models))
            np.maximum.at(stored, idx.cfg_model_pos, (r > 0).astype(float))
            spend = float(price @ r) + (instance.horizon_h * instance.storage_price_per_gb_h
                                        * float(sizes @ stored))
            if spend > instance.budget:
                culprit = np.nonzero(r > 0)[0]
        if culprit is None or len(culprit) == 0:
            break
        k = min(culprit, key=lambda k: load[k] / r[k])
        r[k] -= 1
        repaired += 1
    x_full = np.zeros((len(instance.query_types), len(t)))
    x_full[idx.ri, idx.route_cfg()] = x_lp
    r_full = np.zeros(len(t))
    r_full[idx.cfg] = r
    st3 = None
    if repaired:  # the optimal routing of the repaired whole-replica fleet
        routed = route_fleet(RoutingData.from_instance(instance), r_full,
                             rho=instance.max_utilisation)
        st3 = "Infeasible" if routed is None else "Optimal"
        if routed is not None:
            x_full = routed.full(len(t))
    ld = t.load(x_full)[idx.cfg]
    r = np.minimum(r, np.ceil(ld / instance.max_utilisation - 1e-9))
    r_full[idx.cfg] = r
    r_int, x_fix, _ = extract(instance, r_full, x_full)
    sol = Solution.from_arrays(instance, r_int, x_fix)
    ev = evaluate_arrays(instance, *sol.to_arrays(instance))
    return RunResult("lpr", Status.FEASIBLE if ev.feasible else Status.INFEASIBLE, sol, ev,
                     time.perf_counter() - t0, seed=seed,
                     stats={"lp_status": status, "lp_value": lp_value, "reroute_status": st2,
                            "repair_removed": repaired, "repair_reroute_status": st3})


def _relaxation_on(am: ArrayModel, open_: np.ndarray, time_limit_s: float,
                   seed: int) -> tuple[str, np.ndarray | None]:
    """The LP relaxation (with its tightenings) restricted to the open configurations:
    w and o fixed, replicas continuous. Returns (status, x or None)."""
    idx = am.index
    fixed = replace(am, lb=am.lb.copy(), ub=am.ub.copy())
    w = open_.astype(float)
    o = np.zeros(len(idx.models))
    np.maximum.at(o, idx.cfg_model_pos, w)
    for name, val in (("w", w), ("o", o)):
        fixed.lb[am.cols[name]] = val
        fixed.ub[am.cols[name]] = val
    fixed.ub[am.cols["r"]] = np.where(open_, am.ub[am.cols["r"]], 0.0)
    st, _, v, _ = run_array_model(fixed, time_limit_s=time_limit_s, seed=seed)
    return st, (None if v is None else v[am.cols["x"]])


def hf(instance: Instance, params: MilpParams | None = None, *, seed: int = 0) -> RunResult:
    """Homogeneous fleet: the best single-tier MILP plan, evaluated on ``instance``."""
    params = MilpParams() if params is None else params
    t0 = time.perf_counter()
    best: tuple[float, Solution, str] | None = None
    per_tier: dict[str, str] = {}
    tiers = list(instance.tiers)
    for n, tier in enumerate(tiers):
        left = params.time_limit_s - (time.perf_counter() - t0)
        if left <= 0:
            per_tier[tier.name] = "skipped (time)"
            continue
        gpu = instance.gpu_by_name[tier.gpu]
        avail = {g: c for g, c in instance.availability.items() if g == tier.gpu}
        sub = instance.replace(name=f"{instance.name}-hf-{tier.name}", tiers=(tier,),
                               gpus=(gpu,), availability=avail)
        sub_params = replace(params, time_limit_s=max(0.5, left / (len(tiers) - n)),
                             root_bound=False)
        res = solve(sub, sub_params, seed=seed)
        per_tier[tier.name] = str(res.status)
        if res.solution is None:
            continue
        ev = evaluate(instance, res.solution)
        if ev.feasible and (best is None or ev.objective < best[0]):
            best = (ev.objective, res.solution, tier.name)
    stats: dict[str, Any] = {"per_tier": per_tier}
    if best is None:
        none_fit = all(s == "infeasible" for s in per_tier.values())
        return RunResult("hf", Status.INFEASIBLE if none_fit else Status.NO_SOLUTION, None, None,
                         time.perf_counter() - t0, seed=seed,
                         diagnosis=("no single GPU tier can serve the instance alone",)
                         if none_fit else (), stats=stats)
    stats["tier"] = best[2]
    ev = evaluate(instance, best[1])
    return RunResult("hf", Status.FEASIBLE, best[1], ev, time.perf_counter() - t0, seed=seed,
                     stats=stats)


__all__ = ["hf", "lpr"]
