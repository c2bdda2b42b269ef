r"""Rolling-horizon re-planning over a demand trace, sized by two-pool queueing costs
(docs/semantics.md#rolling-horizon).

The horizon is cut into windows (default 5 min over 24 h, 288 windows). In every window

1. **forecast** the window's per-type rates (and token means) from what was seen so far:
   ``last`` (the previous window's realised values), ``ema`` (exponential moving average,
   weight ``ema_alpha`` on the newest window) or ``oracle`` (the window's own realised
   values, the perfect-information bound). The first window has no history; every
   forecast uses its realised values there, so all methods start from the same
   information.
2. **size** the capacity with the two-pool queueing planner (:mod:`queueing.planner`,
   FleetOpt form, arXiv 2603.16514; docs/queueing.md) and turn it into a
   **demand inflation** κ_i ≥ 1 per query type (below);
3. **re-plan** with the injected :data:`WindowSolver` on the *planning instance* (forecast
   rates × κ_i, penalties ÷ κ_i, the window's share of the budget), warm-started from the
   previous plan, seed ``seed + window``;
4. optionally keep the previous plan (**hysteresis**) when it is still feasible for the
   planning instance and no dearer than the new plan plus the switching cost of moving;
5. **charge switching** for every replica started or stopped against the previous plan;
6. **evaluate** the plan with THE evaluator (:func:`instances.evaluate.evaluate`) on the
   *realised instance* (the window's realised rates, the true penalties), and predict
   the P99 TTFT of every type with the queueing model.

Capacity sizing (the design decision)
    The fluid model every solver uses (docs/semantics.md#exact-milp) only asks that the routed load fit the
    replicas, Σ_i λ_i x_iγ / μ_iγ ≤ ρ_max r_γ. For every query type *i* we take its
    *reference configuration* γ_i (the configuration carrying most of *i* in the previous
    plan; before any plan, the route with the lowest $ per req/s that meets the delay and
    error SLOs) and call :func:`queueing.planner.plan_two_pool` on the type's token-length
    CDF (from the demand's samples), a pool profile of one replica of γ_i
    (:func:`queueing.profiles.from_catalog`), the forecast rate and the type's P99 TTFT
    SLO. It returns a short and a long pool (``n_p`` replicas each, utilisation ρ_p).
    We set

    .. math:: \kappa_i = \mathrm{clip}\Big(\frac{\sum_p n^{req}_p}{\sum_p \rho_p n_p},
              1, \kappa_{max}\Big), \quad
              n^{req}_p = \begin{cases} n_p & \text{the TTFT SLO binds } (n_p > \lceil
              \rho_p n_p / \rho^q_{max} \rceil) \\ \rho_p n_p / \rho^q_{max} &
              \text{otherwise (only the utilisation cap binds)} \end{cases}

    i.e. queueing replicas over the queueing model's *own* fluid replicas (Σ ρ_p n_p =
    λ / μ_max at 100 % utilisation). κ_i is the relative headroom the M/G/c model needs
    to meet the P99 TTFT SLO (≥ 1/ρ^q_max, default 0.85 → +17.6 %), and larger where the
    SLO binds (low rates, long prompts). The planning instance then carries rate κ_i λ̂_i
    and penalties φ_i/κ_i, ρ_i/κ_i, so every solver plans κ_i times the fluid capacity
    while the penalty terms of its objective keep their true expected value.
    *Why not the literal ratio "queueing GPUs / the MILP's fluid GPUs"*: the two models
    count KV differently (the queueing model reserves a slot per max-context sequence, the
    roofline model packs mean-length sequences), so at paper_base rates that ratio is
    4–34× and would be a model mismatch, not a queueing requirement. The rounding of
    ``n_p`` to whole replicas is only kept where the SLO binds, since the solver rounds
    replicas itself.
    **Cache**: results are memoised per (type, reference configuration, quantised rate);
    rates are rounded *up* to a geometric grid of step ``lam_step`` (default 5 %), so
    windows with similar load reuse one planner call (hit rates are reported).

Predicted P99 TTFT
    For the realised window, the capacity the plan gives type *i* (its load share of each
    used configuration's ρ_max r_γ μ_iγ) over the realised served demand is a headroom
    a_i. The same headroom is applied in the queueing model: the planner's pools at the
    realised rate get ``round(a_i ρ_p n_p)`` replicas each and :func:`queueing.pools.
    evaluate_pool` gives their P99 TTFT; the type's P99 is the worse pool. A request
    *attains* the SLO when it is served and its type's P99 TTFT ≤ SLO (an SLO on the
    99th percentile, so this is the share of traffic whose SLO holds).

Realised cost
    The plan (made for the forecast) is evaluated by THE evaluator on the realised
    instance; its violations (overloaded replicas, ...) are counted. The cost charged is
    that of the *shed* plan: on every overloaded configuration the routed shares are
    scaled down until the load fits ρ_max r_γ, and what is shed is unmet demand paying
    φ_i (the evaluator prices it and flags ``unmet`` when ζ_i is exceeded).

Switching cost
    Starting a replica of (model, GPU, precision, n, m) costs its load time × its GPUs'
    price: load time = weight bytes / (n·m) / ``load_bandwidth_gb_s`` (default 2 GB/s,
    a sequential NVMe read; every GPU loads its shard in parallel) + ``startup_s``
    (default 30 s: engine start, CUDA-graph capture, warm-up; an assumption).
    Stopping costs ``stop_s`` seconds of the replica (default 0). Each change is charged
    once, in the window where the replica count of a configuration changes (a parallelism
    change is a stop plus a start). Window 0 starts the fleet from nothing, for every
    method alike.

State
    Everything carried from one window to the next is one frozen :class:`RollingState`
    (previous plan, its replicas, EMA state, last realised values); :func:`step` maps
    ``(state, window) → (state', row)``. The queueing cache is a memo of a pure function.

Static baselines (:func:`run_static`) solve once for the mean or the peak per-type rates
of the horizon (sized by the same κ), then keep that plan in every window.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from hetserve.instances.evaluate import evaluate_arrays
from hetserve.instances.result import RunResult
from hetserve.instances.solution import Solution

if TYPE_CHECKING:
    from hetserve.instances.demand import DemandTrace
    from hetserve.instances.model import Instance

WindowSolver = Callable[["Instance", "Solution | None", int], RunResult]
"""(planning instance, warm start or None, seed) → RunResult. GH, AGH and the MILP are
wired in by ``scripts/rolling.py``; ``heuristics`` never imports ``milp``."""

FORECASTS = ("last", "ema", "oracle")
TOKEN_MODES = ("nominal", "window")
RATE_FLOOR = 1e-6
"""req/s given to a query type with no demand in a window (an Instance needs rate > 0)."""
MLPERF_TTFT_S = 2.0
"""Default P99 TTFT SLO cap: MLPerf Inference's Llama-2-70B server scenario bounds the
99th-percentile TTFT at 2 s."""


# ====================================================================== parameters
@dataclass(frozen=True)
class SwitchingCost:
    """Cost of starting / stopping replicas (module docstring)."""

    load_bandwidth_gb_s: float = 2.0
    startup_s: float = 30.0
    stop_s: float = 0.0
    enabled: bool = True

    def __post_init__(self) -> None:
        if not self.load_bandwidth_gb_s > 0:
            raise ValueError("load_bandwidth_gb_s: must be > 0")
        if self.startup_s < 0 or self.stop_s < 0:
            raise ValueError("startup_s: must be >= 0 (and stop_s)")

    def per_replica(self, instance: Instance) -> tuple[np.ndarray, np.ndarray]:
        """($ to start, $ to stop) one replica of every configuration of ``instance``."""
        t = instance.routes
        n = len(t)
        if not self.enabled or n == 0:
            return np.zeros(n), np.zeros(n)
        precisions = {p.name: p for p in instance.precisions}
        load = np.array([instance.model_by_name[c.model].params_b * 1e9
                         * precisions[c.precision].bytes_per_weight / (c.tp * c.pp)
                         / (self.load_bandwidth_gb_s * 1e9) for c in t.configs])
        price_s = t.price_per_replica_hour / 3600.0
        return (load + self.startup_s) * price_s, self.stop_s * price_s


@dataclass(frozen=True)
class QueueingSizing:
    """How the two-pool queueing planner sizes each window (module docstring).

    ``ttft_slo_s``: one P99 TTFT SLO for every type, or ``None`` for
    min(``MLPERF_TTFT_S``, Δ_i / 2) per type. ``enabled=False`` plans on the fluid model
    alone (κ = 1, the paper's setting); P99 TTFT is still predicted when ``predict``.
    """

    enabled: bool = True
    predict: bool = True
    ttft_slo_s: float | None = None
    quantile: float = 0.99
    rho_max: float = 0.85
    lam_step: float = 0.05
    kappa_max: float = 4.0

    def __post_init__(self) -> None:
        if self.ttft_slo_s is not None and not self.ttft_slo_s > 0:
            raise ValueError("ttft_slo_s: must be > 0 or None")
        if not 0 < self.quantile < 1:
            raise ValueError("quantile: must be in (0, 1)")
        if not 0 < self.rho_max < 1:
            raise ValueError("rho_max: must be in (0, 1)")
        if not self.lam_step > 0:
            raise ValueError("lam_step: must be > 0")
        if not self.kappa_max >= 1:
            raise ValueError("kappa_max: must be >= 1")

    def slo(self, instance: Instance) -> np.ndarray:
        if self.ttft_slo_s is not None:
            return np.full(len(instance.query_types), float(self.ttft_slo_s))
        return np.array([min(MLPERF_TTFT_S, 0.5 * q.delay_slo_s) for q in instance.query_types])


@dataclass(frozen=True)
class RollingParams:
    forecast: str = "last"
    ema_alpha: float = 0.5
    hysteresis: bool = True
    token_means: str = "nominal"
    seed: int = 0
    switching: SwitchingCost = field(default_factory=SwitchingCost)
    sizing: QueueingSizing = field(default_factory=QueueingSizing)

    def __post_init__(self) -> None:
        if self.forecast not in FORECASTS:
            raise ValueError(f"forecast: {self.forecast!r} not understood; expected one of "
                             f"{list(FORECASTS)}")
        if not 0 < self.ema_alpha <= 1:
            raise ValueError("ema_alpha: must be in (0, 1]")
        if self.token_means not in TOKEN_MODES:
            raise ValueError(f"token_means: expected one of {list(TOKEN_MODES)}")


# ====================================================================== queueing sizing
@dataclass(frozen=True)
class SizingEntry:
    kappa: float
    feasible: bool
    units: int  # queueing replicas (both pools)
    fluid_units: float  # Σ ρ_p n_p
    p99_ttft_s: float
    b_star: float | None
    plan: Any = field(repr=False, default=None)


class QueueingSizer:
    """Memoised two-pool sizing per (type, configuration, quantised rate)."""

    def __init__(self, instance: Instance, demand: DemandTrace, sizing: QueueingSizing):
        self.instance = instance
        self.demand = demand
        self.sizing = sizing
        self.slo = sizing.slo(instance)
        self._profiles: dict[int, Any] = {}
        self._cache: dict[tuple[int, int, int], SizingEntry] = {}
        self._pred: dict[tuple, float] = {}
        self._cdfs: dict[int, Any] = {}
        self.calls = 0
        self.hits = 0
        self.time_s = 0.0
        self._catalog = SimpleNamespace(models=dict(instance.model_by_name),
                                        gpus=dict(instance.gpu_by_name),
                                        precisions={p.name: p for p in instance.precisions})

    def profile(self, c: int):
        if c not in self._profiles:
            from hetserve.queueing.profiles import from_catalog

            cfg = self.instance.routes.configs[c]
            try:
                self._profiles[c] = from_catalog(cfg.model, cfg.gpu, cfg.precision, cfg.tp,
                                                 cfg.pp, catalog=self._catalog,
                                                 constants=self.instance.perf)
            except ValueError:
                self._profiles[c] = None
        return self._profiles[c]

    def _bucket(self, lam: float) -> int:
        return math.ceil(math.log(max(lam, RATE_FLOOR)) / math.log1p(self.sizing.lam_step) - 1e-9)

    def _lam_of(self, k: int) -> float:
        return math.exp(k * math.log1p(self.sizing.lam_step))

    def cdf(self, i: int):
        """Total-token CDF of type ``i`` from all the demand's samples (cached)."""
        if i not in self._cdfs:
            from hetserve.queueing.workload import Trace, cdf_from_trace

            p, o = self.demand.type_tokens(i)
            tr = Trace(self.demand.query_types[i], np.zeros(len(p)),
                       np.maximum(p, 1).astype(np.int64), np.maximum(o, 1).astype(np.int64))
            self._cdfs[i] = cdf_from_trace(tr)
        return self._cdfs[i]

    def _long_ctx(self, i: int) -> int:
        cdf = self.cdf(i)
        return int(max(2048, 2 ** math.ceil(math.log2(cdf.max_tokens))))

    def size(self, i: int, c: int, lam: float) -> SizingEntry:
        """κ and the two-pool plan of type ``i`` on configuration ``c`` at rate ``lam``."""
        key = (i, c, self._bucket(lam))
        if key in self._cache:
            self.hits += 1
            return self._cache[key]
        t0 = time.perf_counter()
        self.calls += 1
        fallback = SizingEntry(1.0 / self.sizing.rho_max, False, 0, 0.0, math.inf, None)
        prof = self.profile(c)
        entry = fallback
        if prof is not None:
            from hetserve.queueing.planner import plan_two_pool

            try:
                res = plan_two_pool(self.cdf(i), self._lam_of(key[2]),
                                    float(self.slo[i]), prof, prof, long_ctx=self._long_ctx(i),
                                    gammas=(1.0,), rho_max=self.sizing.rho_max,
                                    q=self.sizing.quantile, bstar_check=False)
            except ValueError:
                res = None
            if res is not None and res.feasible:
                fluid = req = 0.0
                for pool in (res.short, res.long):
                    n, rho = pool["units"], pool["rho"]
                    if n <= 0 or not math.isfinite(rho):
                        continue
                    f = rho * n
                    fluid += f
                    slo_binds = n > math.ceil(f / self.sizing.rho_max - 1e-9)
                    req += n if slo_binds else f / self.sizing.rho_max
                kappa = req / fluid if fluid > 0 else 1.0 / self.sizing.rho_max
                kappa = min(max(kappa, 1.0), self.sizing.kappa_max)
                worst = max(res.short["p99_ttft_s"], res.long["p99_ttft_s"])
                entry = SizingEntry(kappa, True, res.short["units"] + res.long["units"], fluid,
                                    worst, res.b_star, res)
        self._cache[key] = entry
        self.time_s += time.perf_counter() - t0
        return entry

    def predict(self, i: int, c: int, lam: float, headroom: float) -> float:
        """P99 TTFT of type ``i`` at realised rate ``lam`` with ``headroom`` × the queueing
        model's fluid replicas (module docstring); inf when unstable or not sizable."""
        if lam <= RATE_FLOOR:
            return 0.0
        if headroom <= 0:
            return math.inf
        entry = self.size(i, c, lam)
        if not entry.feasible or entry.plan is None:
            return math.inf
        res = entry.plan
        lam_q = self._lam_of(self._bucket(lam))
        key = (i, c, self._bucket(lam), round(headroom, 3))
        if key in self._pred:
            return self._pred[key]
        t0 = time.perf_counter()
        from hetserve.queueing.pools import calibrate_slice, evaluate_pool

        prof = self.profile(c)
        cdf = self.cdf(i)
        long_ctx = self._long_ctx(i)
        B = res.b_star if res.b_star is not None else float(long_ctx)
        worst = 0.0
        pools = []
        if long_ctx > B:
            alpha = cdf.F(B)
            pools.append((calibrate_slice(prof, cdf, 0.0, float(B), int(B)), alpha, res.short))
            pools.append((calibrate_slice(prof, cdf, float(B), float(long_ctx), long_ctx),
                          max(0.0, cdf.F(float(long_ctx)) - alpha), res.long))
        else:
            pools.append((calibrate_slice(prof, cdf, 0.0, float(long_ctx), long_ctx), 1.0,
                          res.long))
        for cal, share, pool in pools:
            lam_p = share * lam_q
            if lam_p <= 0:
                continue
            fluid = lam_p / cal.max_throughput if cal.max_throughput > 0 else math.inf
            if not math.isfinite(fluid):
                worst = math.inf
                break
            n = max(1, round(headroom * fluid))
            ev = evaluate_pool(cal, lam_p, n, self.sizing.quantile)
            worst = max(worst, ev.p99_ttft_s if ev.feasible else math.inf)
        self._pred[key] = worst
        self.time_s += time.perf_counter() - t0
        return worst

    def stats(self) -> dict[str, Any]:
        return {"planner_calls": self.calls, "cache_hits": self.hits,
                "hit_rate": self.hits / max(1, self.hits + self.calls),
                "queueing_time_s": self.time_s}


# ====================================================================== state and rows
@dataclass(frozen=True)
class RollingState:
    """What one window hands to the next (frozen)."""

    window: int = 0
    plan: Solution | None = None
    replicas: tuple[int, ...] = ()
    forecast_rates: tuple[float, ...] | None = None  # EMA state / last realised
    forecast_prompt: tuple[float, ...] | None = None
    forecast_output: tuple[float, ...] | None = None
    ref_configs: tuple[int, ...] | None = None


@dataclass(frozen=True)
class WindowRow:
    window: int
    start_s: float
    forecast_rate: float
    realised_rate: float
    kappa_mean: float
    rental: float
    storage: float
    delay_penalty: float
    unmet_penalty: float
    window_cost: float
    switching_cost: float
    total_cost: float
    gpus: int
    gpus_by_type: dict[str, int]
    replicas: int
    starts: int
    stops: int
    violations: int
    violation_kinds: str
    shed_share: float
    unmet_share: float
    solve_time_s: float
    sizing_time_s: float
    step_time_s: float
    p99_ttft_max_s: float
    slo_attainment: float
    p99_ttft_by_type: dict[str, float]
    kept_previous: bool
    status: str

    def flat(self, gpu_names: list[str], type_names: list[str]) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__
             if k not in ("gpus_by_type", "p99_ttft_by_type")}
        for g in gpu_names:
            d[f"gpus_{g}"] = self.gpus_by_type.get(g, 0)
        for q in type_names:
            d[f"p99_ttft_{q}"] = self.p99_ttft_by_type.get(q, math.nan)
        return d


@dataclass(frozen=True)
class RollingResult:
    """Per-window rows of one rolling (or static) run, plus run metadata."""

    method: str
    rows: tuple[WindowRow, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        return np.array([getattr(r, name) for r in self.rows], dtype=float)

    @property
    def total_cost(self) -> float:
        return float(self.column("total_cost").sum())

    def summary(self) -> dict[str, Any]:
        rate = self.column("realised_rate")
        att = self.column("slo_attainment")
        return {
            "method": self.method,
            "windows": len(self.rows),
            "total_cost": self.total_cost,
            "operating_cost": float(self.column("window_cost").sum()),
            "rental": float(self.column("rental").sum()),
            "storage": float(self.column("storage").sum()),
            "delay_penalty": float(self.column("delay_penalty").sum()),
            "unmet_penalty": float(self.column("unmet_penalty").sum()),
            "switching_cost": float(self.column("switching_cost").sum()),
            "peak_window_cost": float(self.column("window_cost").max()),
            "window_cost_std": float(self.column("window_cost").std()),
            "mean_gpus": float(self.column("gpus").mean()),
            "peak_gpus": int(self.column("gpus").max()),
            "starts": int(self.column("starts").sum()),
            "stops": int(self.column("stops").sum()),
            "windows_with_violations": int((self.column("violations") > 0).sum()),
            "shed_share": float((self.column("shed_share") * rate).sum() / max(rate.sum(), 1e-12)),
            "slo_attainment": float((att * rate).sum() / max(rate.sum(), 1e-12)),
            "solve_time_s": float(self.column("solve_time_s").sum()),
            "wall_time_s": float(self.column("step_time_s").sum()),
            "kept_previous": int(self.column("kept_previous").sum()),
            **{k: v for k, v in self.meta.items() if not isinstance(v, (dict, list))},
        }

    def write_csv(self, path: str | Path, instance: Instance) -> None:
        gpus = [g.name for g in instance.gpus]
        types = [q.name for q in instance.query_types]
        rows = [r.flat(gpus, types) for r in self.rows]
        with Path(path).open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            for r in rows:
                w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})


# ====================================================================== instances
def window_instance(base: Instance, demand: DemandTrace, rates: np.ndarray,
                    prompt: np.ndarray | None = None, output: np.ndarray | None = None,
                    kappa: np.ndarray | None = None) -> Instance:
    """``base`` over one window: rates (× κ, penalties ÷ κ), the window's budget share."""
    hours = demand.window_s / 3600.0
    k = np.ones(len(rates)) if kappa is None else np.asarray(kappa, float)
    qts = []
    for i, q in enumerate(base.query_types):
        changes: dict[str, Any] = {
            "rate_per_s": max(float(rates[i]), RATE_FLOOR) * float(k[i]),
            "unmet_penalty": q.unmet_penalty / float(k[i]),
            "delay_penalty": q.delay_penalty / float(k[i]),
        }
        if prompt is not None:
            changes["prompt_tokens"] = max(1.0, float(prompt[i]))
            changes["output_tokens"] = max(1.0, float(output[i]))
        qts.append(replace(q, **changes))
    budget = None if base.budget is None else base.budget * hours / base.horizon_h
    return base.replace(query_types=tuple(qts), horizon_h=hours, budget=budget)


def _check_demand(instance: Instance, demand: DemandTrace) -> None:
    names = tuple(q.name for q in instance.query_types)
    if demand.query_types != names:
        raise ValueError(f"demand: query types {list(demand.query_types)} do not match the "
                         f"instance's {list(names)}")


def _cheapest_routes(inst: Instance) -> tuple[int, ...]:
    t = inst.routes
    out = []
    for i, q in enumerate(inst.query_types):
        ok = t.usable[i] & (t.error[i] <= q.error_slo) & (t.capacity[i] > 0)
        if not ok.any():
            ok = t.usable[i] & (t.capacity[i] > 0)
        if not ok.any():
            out.append(-1)
            continue
        per = np.where(ok, t.price_per_replica_hour / np.where(ok, t.capacity[i], 1.0), np.inf)
        out.append(int(np.argmin(per)))
    return tuple(out)


def _dominant_routes(x: np.ndarray, fallback: tuple[int, ...]) -> tuple[int, ...]:
    out = []
    for i in range(x.shape[0]):
        out.append(int(np.argmax(x[i])) if x[i].max() > 1e-9 else fallback[i])
    return tuple(out)


def shed_overload(inst: Instance, r: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Routed shares scaled down on every configuration whose load exceeds ρ_max r."""
    t = inst.routes
    lam = np.array([q.rate_per_s for q in inst.query_types]).reshape(-1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        load = np.where((x > 0) & t.fits, lam * x / np.where(t.capacity > 0, t.capacity, 1.0),
                        0.0).sum(axis=0)
    cap = inst.max_utilisation * r
    scale = np.ones(len(r))
    over = load > cap + 1e-12
    scale[over] = np.where(load[over] > 0, cap[over] / load[over], 0.0)
    return x * scale[None, :]


# ====================================================================== one window
@dataclass(frozen=True)
class _Context:
    instance: Instance
    demand: DemandTrace
    solver: WindowSolver
    params: RollingParams
    sizer: QueueingSizer | None
    start_cost: np.ndarray
    stop_cost: np.ndarray
    cheapest: tuple[int, ...]
    static_plan: Solution | None = None


def _forecast(ctx: _Context, state: RollingState, w: int):
    d, p = ctx.demand, ctx.params
    real = (d.rates[w], d.prompt_mean[w], d.output_mean[w])
    if p.forecast == "oracle" or state.forecast_rates is None:
        return real
    return (np.array(state.forecast_rates), np.array(state.forecast_prompt),
            np.array(state.forecast_output))


def _next_forecast(ctx: _Context, state: RollingState, w: int):
    d, p = ctx.demand, ctx.params
    real = (d.rates[w], d.prompt_mean[w], d.output_mean[w])
    if p.forecast == "ema" and state.forecast_rates is not None:
        a = p.ema_alpha
        prev = (state.forecast_rates, state.forecast_prompt, state.forecast_output)
        return tuple(tuple(a * np.asarray(r) + (1 - a) * np.asarray(f))
                     for r, f in zip(real, prev))
    return tuple(tuple(map(float, r)) for r in real)


def _kappas(ctx: _Context, rates: np.ndarray, refs: tuple[int, ...]) -> np.ndarray:
    if ctx.sizer is None or not ctx.params.sizing.enabled:
        return np.ones(len(rates))
    return np.array([ctx.sizer.size(i, refs[i], float(rates[i])).kappa if refs[i] >= 0 else 1.0
                     for i in range(len(rates))])


def _solve(ctx: _Context, inst: Instance, warm: Solution | None, seed: int) -> RunResult | None:
    try:
        res = ctx.solver(inst, warm, seed)
    except Exception as exc:  # a failing solver must not kill a 288-window run
        return RunResult("error", _status("no_solution"), None, None, 0.0,
                         diagnosis=(f"{type(exc).__name__}: {exc}",))
    return res


def _status(name: str):
    from hetserve.instances.result import Status

    return Status(name)


def _switch(ctx: _Context, old: np.ndarray, new: np.ndarray) -> tuple[int, int, float]:
    if len(old) == 0:
        old = np.zeros_like(new)
    up = np.maximum(new - old, 0)
    down = np.maximum(old - new, 0)
    return int(up.sum()), int(down.sum()), float(up @ ctx.start_cost + down @ ctx.stop_cost)


def plan_for(ctx: _Context, rates: np.ndarray, prompt: np.ndarray | None,
             output: np.ndarray | None, refs: tuple[int, ...] | None, warm: Solution | None,
             seed: int) -> tuple[Solution | None, Instance, np.ndarray, str, float, float]:
    """Plan one window: (plan, planning instance, κ, status, solve s, sizing s)."""
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
            if pre is not None and pre.solution is not None:
                _, x = pre.solution.to_arrays(fluid)
                refs = _dominant_routes(x, ctx.cheapest)
    kappa = _kappas(ctx, rates, refs)
    sizing_s = time.perf_counter() - t0 - solve_s
    inst = window_instance(base, ctx.demand, rates, prompt, output, kappa)
    t1 = time.perf_counter()
    res = _solve(ctx, inst, warm, seed)
    solve_s += time.perf_counter() - t1
    status = res.status.value if res is not None else "no_solution"
    if res is None or not res.feasible:
        if not np.allclose(kappa, 1.0):
            # the inflated instance may break the budget or availability: plan fluid
            fluid = window_instance(base, ctx.demand, rates, prompt, output)
            t1 = time.perf_counter()
            res2 = _solve(ctx, fluid, warm, seed)
            solve_s += time.perf_counter() - t1
            if res2 is not None and res2.feasible:
                return res2.solution, inst, np.ones(len(kappa)), "fluid-fallback", solve_s, sizing_s
        if res is not None and res.solution is not None:
            return res.solution, inst, kappa, f"{status}-plan", solve_s, sizing_s
        return warm, inst, kappa, f"{status}-kept", solve_s, sizing_s
    return res.solution, inst, kappa, status, solve_s, sizing_s


def step(ctx: _Context, state: RollingState) -> tuple[RollingState, WindowRow]:
    """Plan, charge and evaluate window ``state.window``; return the next state and the row."""
    t_start = time.perf_counter()
    w = state.window
    d, p, base = ctx.demand, ctx.params, ctx.instance
    f_rates, f_prompt, f_output = _forecast(ctx, state, w)
    tok = p.token_means == "window"
    kept = False
    if ctx.static_plan is not None:
        plan, solve_s, sizing_s, status = ctx.static_plan, 0.0, 0.0, "static"
        plan_inst = window_instance(base, d, f_rates, f_prompt if tok else None,
                                    f_output if tok else None)
        kappa = np.ones(len(f_rates))
    else:
        plan, plan_inst, kappa, status, solve_s, sizing_s = plan_for(
            ctx, f_rates, f_prompt if tok else None, f_output if tok else None,
            state.ref_configs, state.plan, p.seed + w)
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
    p99, attain = _predict(ctx, plan_inst, real_inst, r, x, x_shed)
    t_all = time.perf_counter() - t_start
    refs = _dominant_routes(x, ctx.cheapest) if x.size else ctx.cheapest
    nf = _next_forecast(ctx, state, w)
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
        p99_ttft_by_type=p99, kept_previous=kept, status=status)
    return new_state, row


def _predict(ctx: _Context, plan_inst: Instance, real_inst: Instance, r: np.ndarray,
             x_plan: np.ndarray, x: np.ndarray) -> tuple[dict[str, float], float]:
    """Predicted P99 TTFT per type and the SLO attainment (module docstring)."""
    names = [q.name for q in real_inst.query_types]
    if ctx.sizer is None or not ctx.params.sizing.predict:
        return {}, math.nan
    t = real_inst.routes
    lam_plan = np.array([q.rate_per_s for q in plan_inst.query_types]).reshape(-1, 1)
    lam = np.array([q.rate_per_s for q in real_inst.query_types])
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where(t.capacity > 0, t.capacity, np.inf)
        load = np.where(x_plan > 0, lam_plan * x_plan / mu, 0.0)  # planned replica-load
        tot = load.sum(axis=0)
        share = np.where(tot > 0, load / np.where(tot > 0, tot, 1.0), 0.0)
        cap = (real_inst.max_utilisation * r)[None, :] * share * np.where(np.isfinite(mu), mu, 0)
    p99: dict[str, float] = {}
    good = 0.0
    for i, name in enumerate(names):
        demand_i = lam[i] * x[i].sum()
        if demand_i <= RATE_FLOOR:
            p99[name] = 0.0
            continue
        headroom = float(cap[i].sum()) / demand_i
        c = int(np.argmax(x[i]))
        val = ctx.sizer.predict(i, c, demand_i, headroom)
        p99[name] = val
        if val <= ctx.sizer.slo[i]:
            good += demand_i
    attain = good / max(float(lam.sum()), 1e-12)
    return p99, attain


# ====================================================================== drivers
def _context(instance: Instance, demand: DemandTrace, solver: WindowSolver,
             params: RollingParams, static_plan: Solution | None = None,
             sizer: QueueingSizer | None = None) -> _Context:
    _check_demand(instance, demand)
    if sizer is None and (params.sizing.enabled or params.sizing.predict):
        sizer = QueueingSizer(instance, demand, params.sizing)
    start, stop = params.switching.per_replica(instance)
    return _Context(instance, demand, solver, params, sizer, start, stop,
                    _cheapest_routes(window_instance(instance, demand, demand.rates[0])),
                    static_plan)


def run_rolling(instance: Instance, demand: DemandTrace, solver: WindowSolver,
                params: RollingParams = RollingParams(), *, method: str = "rolling",
                progress: Callable[[int, WindowRow], None] | None = None,
                static_plan: Solution | None = None,
                sizer: QueueingSizer | None = None) -> RollingResult:
    """Run every window of ``demand`` (re-planning, or with ``static_plan`` fixed)."""
    t0 = time.perf_counter()
    ctx = _context(instance, demand, solver, params, static_plan, sizer)
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
                params: RollingParams = RollingParams(), *, basis: str = "peak",
                sizer: QueueingSizer | None = None) -> tuple[Solution | None, str, np.ndarray]:
    """One plan for the whole horizon, sized for the per-type ``mean`` or ``peak`` rate."""
    if basis not in ("mean", "peak"):
        raise ValueError(f"basis: expected 'mean' or 'peak', got {basis!r}")
    ctx = _context(instance, demand, solver, params, None, sizer)
    rates = demand.mean_rates() if basis == "mean" else demand.peak_rates()
    tok = params.token_means == "window"
    pm = demand.prompt_mean.mean(axis=0) if tok else None
    om = demand.output_mean.mean(axis=0) if tok else None
    plan, _, kappa, status, _, _ = plan_for(ctx, rates, pm, om, None, None, params.seed)
    return plan, status, kappa


def run_static(instance: Instance, demand: DemandTrace, solver: WindowSolver,
               params: RollingParams = RollingParams(), *, basis: str = "peak",
               method: str | None = None,
               progress: Callable[[int, WindowRow], None] | None = None) -> RollingResult:
    """Static baseline: :func:`static_plan` kept in every window, evaluated on the realised
    demand like a rolling run (switching only for the initial fleet)."""
    t0 = time.perf_counter()
    sizer = QueueingSizer(instance, demand, params.sizing) if (
        params.sizing.enabled or params.sizing.predict) else None
    plan, status, kappa = static_plan(instance, demand, solver, params, basis=basis, sizer=sizer)
    solve_s = time.perf_counter() - t0
    res = run_rolling(instance, demand, solver, params, method=method or f"static-{basis}",
                      progress=progress, static_plan=plan or Solution.empty(), sizer=sizer)
    meta = dict(res.meta)
    meta.update(static_status=status, static_solve_s=solve_s,
                static_kappa_mean=float(np.mean(kappa)))
    return RollingResult(res.method, res.rows, meta)


__all__ = ["FORECASTS", "QueueingSizer", "QueueingSizing", "RollingParams", "RollingResult",
           "RollingState", "SwitchingCost", "WindowRow", "WindowSolver", "run_rolling",
           "run_static", "shed_overload", "static_plan", "step", "window_instance"]
