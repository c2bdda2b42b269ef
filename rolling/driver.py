"""The rolling-horizon driver: :func:`step` maps ``(state, window) → (state', row)``;
:func:`run_rolling` runs every window, :func:`run_static` keeps one plan throughout.

The window solver (:data:`WindowSolver`) and the capacity sizer (:class:`CapacitySizer`)
are injected: this package imports no solver (the CLI wires GH, AGH or the MILP in), and
the default sizer is the two-pool queueing model of :mod:`hetserve.queueing.sizing`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from hetserve.instances.evaluate import evaluate_arrays
from hetserve.instances.result import RunResult, Status
from hetserve.instances.solution import Solution
from hetserve.queueing.sizing import QueueingSizer

from .forecast import forecast, next_forecast
from .params import RollingParams
from .result import RollingResult, RollingState, WindowRow
from .window import (
    RATE_FLOOR,
    cheapest_routes,
    check_demand,
    dominant_routes,
    shed_overload,
    window_instance,
)

if TYPE_CHECKING:
    from hetserve.instances.demand import DemandTrace
    from hetserve.instances.model import Instance

RESIZE_ROUNDS = 3
"""Re-plans per window when the plan routes a type where it needs a larger κ."""

KAPPA_FALLBACK = (0.75, 0.5, 0.25, 0.0)
"""Shares t of the κ inflation tried, in order, when the κ-inflated window is infeasible
(budget or GPU availability); t = 0 is the fluid plan."""

LIFTED_AVAILABILITY = 1_000_000
"""GPUs per type when :func:`refusing_limits` lifts the availability limit."""

WindowSolver = Callable[["Instance", "Solution | None", int], RunResult]
"""(planning instance, warm start or None, seed) → RunResult. GH, AGH and the MILP are
wired in by the CLI (``hetserve.cli.methods``); ``rolling`` imports no solver."""


class CapacitySizer(Protocol):
    """How much capacity a type needs beyond the fluid model, and its predicted P99 TTFT.

    :class:`hetserve.queueing.sizing.QueueingSizer` is the default implementation."""

    slo: np.ndarray
    """P99 TTFT SLO (s) per query type."""

    def kappa(self, i: int, c: int, lam: float) -> float:
        """Demand inflation κ ≥ 1 of type ``i`` on configuration ``c`` at rate ``lam``."""
        ...

    def predict(self, i: int, c: int, lam: float, headroom: float,
                planned: float | None = None) -> float:
        """P99 TTFT (s) of type ``i`` on ``c`` at realised rate ``lam`` with ``headroom`` ×
        the fluid capacity it needs, from a plan made for rate ``planned`` (default ``lam``;
        inf when unstable)."""
        ...

    def simulate(self, i: int, c: int, lam: float, headroom: float,
                 planned: float | None = None) -> tuple[float, float]:
        """(share of requests over the TTFT SLO, P99 TTFT) of the same case in the
        detailed simulator."""
        ...

    def stats(self) -> dict[str, float]:
        """Counters reported in the run's metadata."""
        ...


@dataclass(frozen=True)
class RollingContext:
    """Everything fixed over a run: instance, demand, solver, settings, sizer and the
    per-configuration switching costs."""

    instance: Instance
    demand: DemandTrace
    solver: WindowSolver
    params: RollingParams
    sizer: CapacitySizer | None
    start_cost: np.ndarray
    stop_cost: np.ndarray
    cheapest: tuple[int, ...]
    static_plan: Solution | None = None


def make_context(instance: Instance, demand: DemandTrace, solver: WindowSolver,
                 params: RollingParams, static_plan: Solution | None = None,
                 sizer: CapacitySizer | None = None) -> RollingContext:
    """The run's context; without ``sizer`` the queueing sizer is built when
    ``params.sizing`` asks for κ or for predictions."""
    check_demand(instance, demand)
    if sizer is None and (params.sizing.enabled or params.sizing.predict):
        sizer = QueueingSizer(instance, demand, params.sizing)
    start, stop = params.switching.per_replica(instance)
    return RollingContext(instance, demand, solver, params, sizer, start, stop,
                          cheapest_routes(window_instance(instance, demand, demand.rates[0])),
                          static_plan)


def _kappas(ctx: RollingContext, rates: np.ndarray, refs: tuple[int, ...]) -> np.ndarray:
    if ctx.sizer is None or not ctx.params.sizing.enabled:
        return np.ones(len(rates))
    return np.array([ctx.sizer.kappa(i, refs[i], float(rates[i])) if refs[i] >= 0 else 1.0
                     for i in range(len(rates))])


def _solve(ctx: RollingContext, inst: Instance, warm: Solution | None, seed: int) -> RunResult:
    try:
        return ctx.solver(inst, warm, seed)
    except Exception as exc:  # an injected solver failing must not end a 288-window run
        return RunResult("error", Status.NO_SOLUTION, None, None, 0.0,
                         diagnosis=(f"{type(exc).__name__}: {exc}",))


def _switch(ctx: RollingContext, old: np.ndarray, new: np.ndarray) -> tuple[int, int, float]:
    if len(old) == 0:
        old = np.zeros_like(new)
    up = np.maximum(new - old, 0)
    down = np.maximum(old - new, 0)
    return int(up.sum()), int(down.sum()), float(up @ ctx.start_cost + down @ ctx.stop_cost)


def refusing_limits(ctx: RollingContext, inst: Instance, warm: Solution | None,
                    seed: int) -> str:
    """Which of the instance's limits refuse the κ-inflated window ``inst`` (infeasible as
    it stands): ``budget`` or ``availability`` when lifting that limit alone makes it
    feasible, ``budget+availability`` when only lifting both does, "" when even that does
    not (the window is then not refused by these limits and counts as admissible);
    docs/rolling.md."""
    lifted_avail = {g.name: LIFTED_AVAILABILITY for g in inst.gpus}
    tries: list[tuple[str, dict[str, Any]]] = []
    if inst.budget is not None:
        tries.append(("budget", {"budget": None}))
    tries.append(("availability", {"availability": lifted_avail}))
    if inst.budget is not None:
        tries.append(("budget+availability", {"budget": None, "availability": lifted_avail}))
    for name, changes in tries:
        if _solve(ctx, inst.replace(**changes), warm, seed).feasible:
            return name
    return ""


def plan_for(ctx: RollingContext, rates: np.ndarray, prompt: np.ndarray | None,
             output: np.ndarray | None, refs: tuple[int, ...] | None, warm: Solution | None,
             seed: int) -> tuple[Solution | None, Instance, np.ndarray, str, float, float,
                             str]:
    """Plan one window: (plan, planning instance, κ, status, solve s, sizing s, refused_by).

    ``refused_by`` is "" when the κ-sized window was planned as sized, else the limit that
    refused it (:func:`refusing_limits`): the window is *infeasible within limits*."""
    base = ctx.instance
    solve_s = 0.0
    t0 = time.perf_counter()
    if refs is None:
        refs = ctx.cheapest
        if ctx.sizer is not None and ctx.params.sizing.enabled:
            # no plan yet: a fluid pre-solve tells which configurations the types use
            fluid = window_instance(base, ctx.demand, rates, prompt, output)
            t1 = time.perf_counter()
            pre = _solve(ctx, fluid, warm, seed)
            solve_s += time.perf_counter() - t1
            if pre.solution is not None:
                _, x = pre.solution.to_arrays(fluid)
                refs = dominant_routes(x, ctx.cheapest)
    kappa = _kappas(ctx, rates, refs)
    sizing_s = time.perf_counter() - t0 - solve_s
    inst = window_instance(base, ctx.demand, rates, prompt, output, kappa)
    t1 = time.perf_counter()
    res = _solve(ctx, inst, warm, seed)
    solve_s += time.perf_counter() - t1
    resize_refused = ""
    if res.feasible and ctx.sizer is not None and ctx.params.sizing.enabled:
        res, inst, kappa, extra, resize_refused = _resize(ctx, res, inst, kappa, refs, rates,
                                                          prompt, output, warm, seed)
        solve_s += extra
    status = res.status.value
    if not res.feasible:
        t1 = time.perf_counter()
        refused = refusing_limits(ctx, inst, warm, seed)
        solve_s += time.perf_counter() - t1
        if not np.allclose(kappa, 1.0):
            # the inflated instance may break the budget or availability: keep as much of
            # the inflation as fits (κ_t = 1 + t (κ − 1), t falling), the fluid plan last
            for t in KAPPA_FALLBACK:
                k_t = 1.0 + t * (kappa - 1.0)
                inst_t = window_instance(base, ctx.demand, rates, prompt, output, k_t)
                t1 = time.perf_counter()
                res2 = _solve(ctx, inst_t, warm, seed)
                solve_s += time.perf_counter() - t1
                if res2.feasible:
                    label = "fluid-fallback" if t == 0 else f"kappa-fallback-{t:g}"
                    return res2.solution, inst_t, k_t, label, solve_s, sizing_s, refused
        if res.solution is not None:
            return res.solution, inst, kappa, f"{status}-plan", solve_s, sizing_s, refused
        return warm, inst, kappa, f"{status}-kept", solve_s, sizing_s, refused
    return res.solution, inst, kappa, status, solve_s, sizing_s, resize_refused


def _resize(ctx: RollingContext, res: RunResult, inst: Instance, kappa: np.ndarray,
            refs: tuple[int, ...], rates: np.ndarray, prompt: np.ndarray | None,
            output: np.ndarray | None, warm: Solution | None,
            seed: int) -> tuple[RunResult, Instance, np.ndarray, float, str]:
    """Make the capacity the plan buys the capacity the prediction assumes: κ_i was sized
    on a reference configuration, but the prediction (:func:`_predict`) uses the one the
    plan routes type *i* to. Where the plan moved a type to a configuration that needs a
    larger κ, re-plan with the larger κ (κ only grows, so this ends; at most
    ``RESIZE_ROUNDS`` re-plans, keeping the last feasible plan). When that re-plan is
    infeasible the kept plan holds less than the sized capacity on its own routes: the
    last element names the limit that refused it (:func:`refusing_limits`), else ""."""
    solve_s = 0.0
    refused = ""
    for _ in range(RESIZE_ROUNDS):
        if res.solution is None:
            break
        _, x = res.solution.to_arrays(inst)
        used = dominant_routes(x, refs)
        if used == tuple(refs):
            break
        grown = np.maximum(kappa, _kappas(ctx, rates, used))
        if np.allclose(grown, kappa, rtol=1e-3):
            break
        nxt = window_instance(ctx.instance, ctx.demand, rates, prompt, output, grown)
        t1 = time.perf_counter()
        res2 = _solve(ctx, nxt, warm, seed)
        if not res2.feasible:
            refused = refusing_limits(ctx, nxt, warm, seed)
            solve_s += time.perf_counter() - t1
            break
        solve_s += time.perf_counter() - t1
        res, inst, kappa, refs = res2, nxt, grown, used
    return res, inst, kappa, solve_s, refused


def step(ctx: RollingContext, state: RollingState) -> tuple[RollingState, WindowRow]:
    """Plan, charge and evaluate window ``state.window``; return the next state and the row."""
    t_start = time.perf_counter()
    w = state.window
    d, p, base = ctx.demand, ctx.params, ctx.instance
    f_rates, f_prompt, f_output = forecast(p, d, state, w)
    tok = p.token_means == "window"
    kept = False
    refused = ""
    if ctx.static_plan is not None:
        plan, solve_s, sizing_s, status = ctx.static_plan, 0.0, 0.0, "static"
        plan_inst = window_instance(base, d, f_rates, f_prompt if tok else None,
                                    f_output if tok else None)
        kappa = np.ones(len(f_rates))
    else:
        plan, plan_inst, kappa, status, solve_s, sizing_s, refused = plan_for(
            ctx, f_rates * (1.0 + p.rate_margin), f_prompt if tok else None,
            f_output if tok else None, state.ref_configs, state.plan, p.seed + w)
        if p.hysteresis and state.plan is not None and plan is not state.plan:
            try:
                r_old, x_old = state.plan.to_arrays(plan_inst)
                ev_old = evaluate_arrays(plan_inst, r_old, x_old)
                if plan is None:
                    plan, kept = state.plan, True
                elif ev_old.feasible:
                    r_new, x_new = plan.to_arrays(plan_inst)
                    ev_new = evaluate_arrays(plan_inst, r_new, x_new)
                    _, _, move = _switch(ctx, np.array(state.replicas), r_new)
                    if not ev_new.feasible or ev_old.objective <= ev_new.objective + move:
                        plan, kept = state.plan, True
            except ValueError:
                pass
    if plan is None:
        plan = Solution.empty()
    real_inst = window_instance(base, d, d.rates[w], d.prompt_mean[w] if tok else None,
                                d.output_mean[w] if tok else None)
    r, x = plan.to_arrays(real_inst)
    raw = evaluate_arrays(real_inst, r, x)
    x_shed = shed_overload(real_inst, r, x)
    ev = evaluate_arrays(real_inst, r, x_shed)
    starts, stops, switch_cost = _switch(ctx, np.array(state.replicas, dtype=np.int64), r)
    kinds = sorted({v.kind for v in raw.violations} | {v.kind for v in ev.violations})
    lam = np.maximum(d.rates[w], 0.0)
    served_plan = x.sum(axis=1)
    served = x_shed.sum(axis=1)
    shed = float((lam * (served_plan - served)).sum() / max(lam.sum(), 1e-12))
    unmet = float((lam * np.maximum(0.0, 1 - served)).sum() / max(lam.sum(), 1e-12))
    p99, attain, sim = _predict(ctx, plan_inst, real_inst, r, x, x_shed, kappa)
    t_all = time.perf_counter() - t_start
    refs = dominant_routes(x, ctx.cheapest) if x.size else ctx.cheapest
    nf = next_forecast(p, d, state, w)
    new_state = RollingState(window=w + 1, plan=plan, replicas=tuple(int(v) for v in r),
                             forecast_rates=nf[0], forecast_prompt=nf[1], forecast_output=nf[2],
                             ref_configs=refs)
    c = ev.cost
    row = WindowRow(
        window=w, start_s=float(d.starts_s[w]), forecast_rate=float(np.sum(f_rates)),
        realised_rate=float(lam.sum()), kappa_mean=float(np.mean(kappa)),
        rental=c.rental, storage=c.storage, delay_penalty=c.delay_penalty,
        unmet_penalty=c.unmet_penalty, window_cost=c.total, switching_cost=switch_cost,
        total_cost=c.total + switch_cost, gpus=int(sum(ev.gpus_by_type.values())),
        gpus_by_type=dict(ev.gpus_by_type), replicas=int(r.sum()), starts=starts, stops=stops,
        violations=len(raw.violations), violation_kinds=";".join(kinds), shed_share=shed,
        unmet_share=unmet, solve_time_s=solve_s, sizing_time_s=sizing_s, step_time_s=t_all,
        p99_ttft_max_s=max(p99.values(), default=0.0), slo_attainment=attain,
        p99_ttft_by_type=p99, kept_previous=kept, status=status,
        slo_miss_sim=sim[0], slo_met_sim=sim[1], p99_ttft_sim_max_s=sim[2],
        refused_by=refused)
    return new_state, row


def _predict(ctx: RollingContext, plan_inst: Instance, real_inst: Instance, r: np.ndarray,
             x_plan: np.ndarray, x: np.ndarray,
             kappa: np.ndarray) -> tuple[dict[str, float], float, tuple[float, float, float]]:
    """Predicted P99 TTFT per type, the SLO attainment and, when the sizing judges in the
    detailed simulator, (share of the window's requests over their TTFT SLO, 1.0 if every
    type's share is within 1 − q else 0.0, the largest simulated P99 TTFT).

    For the realised window, the capacity the plan gives type *i* (its load share of each
    used configuration's ρ_max r_γ μ_iγ) over the realised served demand is a headroom a_i,
    handed to the sizer's prediction with the rate the window was planned for (the sizer
    evaluates the pools it sized for that rate, so the capacity the plan bought is the
    capacity the prediction assumes). A request *attains* the SLO when it is served and its
    type's P99 TTFT ≤ SLO (an SLO on the 99th percentile, so this is the share of traffic
    whose SLO holds).

    The simulated judgement runs the same pools at the same equivalent load in the detailed
    simulator (:meth:`CapacitySizer.simulate`); a type's misses are its unserved share plus
    its served share times the simulated share over the SLO (docs/rolling.md)."""
    names = [q.name for q in real_inst.query_types]
    none = (math.nan, math.nan, math.nan)
    if ctx.sizer is None or not ctx.params.sizing.predict:
        return {}, math.nan, none
    judge = ctx.params.sizing.judge == "detailed"
    allowed = 1.0 - ctx.params.sizing.quantile
    t = real_inst.routes
    lam = t.rates
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where(t.capacity > 0, t.capacity, np.inf)
        load = np.where(x_plan > 0, plan_inst.routes.rates[:, None] * x_plan / mu, 0.0)
        tot = load.sum(axis=0)  # planned replica-load per configuration
        share = np.where(tot > 0, load / np.where(tot > 0, tot, 1.0), 0.0)
        cap = (real_inst.max_utilisation * r)[None, :] * share * np.where(np.isfinite(mu), mu, 0)
    p99: dict[str, float] = {}
    good = 0.0
    missed = 0.0
    met = True
    p99_sim = 0.0
    for i, name in enumerate(names):
        demand_i = lam[i] * x[i].sum()
        unserved_i = max(0.0, lam[i] - demand_i) if lam[i] > RATE_FLOOR else 0.0
        if demand_i <= RATE_FLOOR:
            p99[name] = 0.0
            missed += unserved_i
            met = met and unserved_i <= allowed * max(lam[i], RATE_FLOOR)
            continue
        headroom = float(cap[i].sum()) / demand_i
        c = int(np.argmax(x[i]))
        planned = float(plan_inst.routes.rates[i] / kappa[i]) * x_plan[i].sum()
        val = ctx.sizer.predict(i, c, demand_i, headroom, planned)
        p99[name] = val
        if val <= ctx.sizer.slo[i]:
            good += demand_i
        if judge:
            miss, p99_i = ctx.sizer.simulate(i, c, demand_i, headroom, planned)
            miss_i = unserved_i + demand_i * miss
            missed += miss_i
            met = met and miss_i <= allowed * lam[i] * (1 + 1e-9)
            p99_sim = max(p99_sim, p99_i)
    attain = good / max(float(lam.sum()), 1e-12)
    sim = ((missed / max(float(lam.sum()), 1e-12), float(met), p99_sim) if judge else none)
    return p99, attain, sim


def run_rolling(instance: Instance, demand: DemandTrace, solver: WindowSolver,
                params: RollingParams | None = None, *, method: str = "rolling",
                progress: Callable[[int, WindowRow], None] | None = None,
                static_plan: Solution | None = None,
                sizer: CapacitySizer | None = None) -> RollingResult:
    """Run every window of ``demand`` (re-planning, or with ``static_plan`` fixed)."""
    params = RollingParams() if params is None else params
    t0 = time.perf_counter()
    ctx = make_context(instance, demand, solver, params, static_plan, sizer)
    state = RollingState()
    rows = []
    for _ in range(demand.n_windows):
        state, row = step(ctx, state)
        rows.append(row)
        if progress is not None:
            progress(row.window, row)
    meta: dict[str, Any] = {"forecast": params.forecast if static_plan is None else "static",
                            "queueing_sizing": params.sizing.enabled,
                            "wall_s": time.perf_counter() - t0}
    if ctx.sizer is not None:
        meta.update(ctx.sizer.stats())
    return RollingResult(method, tuple(rows), meta)


def static_plan(instance: Instance, demand: DemandTrace, solver: WindowSolver,
                params: RollingParams | None = None, *, basis: str = "peak",
                sizer: CapacitySizer | None = None) -> tuple[Solution | None, str, np.ndarray]:
    """One plan for the whole horizon, sized for the per-type ``mean`` or ``peak`` rate."""
    params = RollingParams() if params is None else params
    if basis not in ("mean", "peak"):
        raise ValueError(f"basis: expected 'mean' or 'peak', got {basis!r}")
    ctx = make_context(instance, demand, solver, params, None, sizer)
    rates = demand.mean_rates() if basis == "mean" else demand.peak_rates()
    tok = params.token_means == "window"
    pm = demand.prompt_mean.mean(axis=0) if tok else None
    om = demand.output_mean.mean(axis=0) if tok else None
    plan, _, kappa, status, _, _, _ = plan_for(ctx, rates, pm, om, None, None, params.seed)
    return plan, status, kappa


def run_static(instance: Instance, demand: DemandTrace, solver: WindowSolver,
               params: RollingParams | None = None, *, basis: str = "peak",
               method: str | None = None,
               progress: Callable[[int, WindowRow], None] | None = None,
               sizer: CapacitySizer | None = None) -> RollingResult:
    """Static baseline: :func:`static_plan` kept in every window, evaluated on the realised
    demand like a rolling run (switching only for the initial fleet)."""
    params = RollingParams() if params is None else params
    t0 = time.perf_counter()
    if sizer is None and (params.sizing.enabled or params.sizing.predict):
        sizer = QueueingSizer(instance, demand, params.sizing)
    plan, status, kappa = static_plan(instance, demand, solver, params, basis=basis, sizer=sizer)
    solve_s = time.perf_counter() - t0
    res = run_rolling(instance, demand, solver, params, method=method or f"static-{basis}",
                      progress=progress, static_plan=plan or Solution.empty(), sizer=sizer)
    meta = dict(res.meta)
    meta.update(static_status=status, static_solve_s=solve_s,
                static_kappa_mean=float(np.mean(kappa)))
    return RollingResult(res.method, res.rows, meta)


def run(instance: Instance, demand: DemandTrace, solver: WindowSolver,
        params: RollingParams | None = None, *, static: str | None = None,
        method: str | None = None, progress: Callable[[int, WindowRow], None] | None = None,
        sizer: CapacitySizer | None = None) -> RollingResult:
    """A rolling run, or with ``static`` = ``mean`` | ``peak`` the static baseline."""
    if static is not None:
        return run_static(instance, demand, solver, params, basis=static, method=method,
                          progress=progress, sizer=sizer)
    return run_rolling(instance, demand, solver, params, method=method or "rolling",
                       progress=progress, sizer=sizer)
