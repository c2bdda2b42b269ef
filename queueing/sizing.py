r"""Per-window capacity sizing with the two-pool queueing planner (FleetOpt form, arXiv 2603.16514;
docs/queueing.md), used by ``hetserve.rolling``.

The fluid model every fleet solver uses (docs/semantics.md#exact-milp) only asks that the
routed load fit the replicas, :math:`\sum_i \lambda_i x_{i\gamma} / \mu_{i\gamma} \le
\rho_{max} r_\gamma`. For every query type *i* and a *reference configuration* γ_i (chosen by
the caller: the configuration carrying most of *i*), :class:`QueueingSizer` calls
:func:`~hetserve.queueing.planner.plan_two_pool` on the type's token-length CDF (from the
demand's samples), a pool profile of one replica of γ_i
(:func:`~hetserve.queueing.profiles.from_catalog`), the rate and the type's P99 TTFT SLO. It
returns a short and a long pool (``n_p`` replicas each, utilisation ρ_p). The **demand
inflation** is

.. math:: \kappa_i = \mathrm{clip}\Big(\frac{\sum_p n^{req}_p}{\sum_p \rho_p n_p},
          1, \kappa_{max}\Big), \quad
          n^{req}_p = \begin{cases} n_p & \text{the TTFT SLO binds } (n_p > \lceil
          \rho_p n_p / \rho^q_{max} \rceil) \\ \rho_p n_p / \rho^q_{max} &
          \text{otherwise (only the utilisation cap binds)} \end{cases}

i.e. queueing replicas over the queueing model's *own* fluid replicas (Σ ρ_p n_p = λ / μ_max
at 100 % utilisation). κ_i is the relative headroom the M/G/c model needs to meet the P99
TTFT SLO (≥ 1/ρ^q_max, default 0.85 → +17.6 %), larger where the SLO binds (low rates, long
prompts). *Why not the literal ratio "queueing GPUs / the MILP's fluid GPUs"*: the two models
count KV differently (the queueing model reserves a slot per max-context sequence, the
roofline model packs mean-length sequences), so at paper_base rates that ratio is 4–34× and
would be a model mismatch, not a queueing requirement. The rounding of ``n_p`` to whole
replicas is only kept where the SLO binds, since the fleet solver rounds replicas itself.

**Cache**: results are memoised per (type, configuration, quantised rate); rates are rounded
*up* to a geometric grid of step ``lam_step`` (default 5 %), so windows with similar load
reuse one planner call (hit rates are reported by :meth:`QueueingSizer.stats`).

**Predicted P99 TTFT** (:meth:`QueueingSizer.predict`): given a headroom *a* (capacity a plan
gives the type over its served demand, in units of its fluid need), the plan that bought
κ_i is the planner's own pools: they keep their sizes ``n_p`` and see the realised rate
scaled by κ_i / a (a = κ_i: the realised rate itself; less headroom: proportionally more
load). :func:`~hetserve.queueing.pools.evaluate_pool` gives each pool's TTFT tail and the
type's P99 is the quantile of the mixture (Σ_p share_p P_p(TTFT > t) ≤ 1 − q), the
fleet-wide SLO the planner sized for — not the worse pool's own P99, which may exceed the
SLO by design when a small long pool spends most of the miss budget.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from hetserve.instances.catalog import Catalog

from .planner import PlanResult, plan_two_pool
from .pools import PoolCalibration, PoolEval, calibrate_slice, evaluate_pool, flat_targets
from .profiles import PoolProfile, from_catalog
from .workload import TokenCDF, Trace, cdf_from_trace

if TYPE_CHECKING:
    from hetserve.instances.demand import DemandTrace
    from hetserve.instances.model import Instance

NEGLIGIBLE_RATE = 1e-6
"""req/s below which a type is treated as having no demand (P99 TTFT 0, no sizing)."""
MLPERF_TTFT_S = 2.0
"""Default P99 TTFT SLO cap: MLPerf Inference's Llama-2-70B server scenario bounds the
99th-percentile TTFT at 2 s."""


@dataclass(frozen=True)
class QueueingSizing:
    """Settings of the queueing sizer.

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
        """P99 TTFT SLO (s) per query type of ``instance``."""
        if self.ttft_slo_s is not None:
            return np.full(len(instance.query_types), float(self.ttft_slo_s))
        return np.array([min(MLPERF_TTFT_S, 0.5 * q.delay_slo_s) for q in instance.query_types])


@dataclass(frozen=True)
class SizingEntry:
    """The queueing sizing of one (type, configuration, rate bucket)."""

    kappa: float
    feasible: bool
    units: int
    """Queueing replicas of both pools."""
    fluid_units: float
    """Σ_p ρ_p n_p: the queueing model's replicas at 100 % utilisation."""
    p99_ttft_s: float
    b_star: float | None
    plan: PlanResult | None = field(repr=False, default=None)
    need: float = math.nan
    """Σ_p n^req_p / Σ_p ρ_p n_p before the clip to [1, κ_max]: the capacity the pools hold
    in units of the fluid need."""


@dataclass(frozen=True)
class PoolSlice:
    """One pool of a type's two-pool plan: its calibration, max context, traffic share and
    the planner's sizing of it."""

    calibration: PoolCalibration
    ctx: int
    share: float
    planned: PoolEval


class QueueingSizer:
    """Memoised two-pool sizing per (type, configuration, quantised rate) of one instance
    and demand (the token-length CDFs come from the demand's samples)."""

    def __init__(self, instance: Instance, demand: DemandTrace, sizing: QueueingSizing):
        self.instance = instance
        self.demand = demand
        self.sizing = sizing
        self.slo = sizing.slo(instance)
        self._profiles: dict[int, PoolProfile | None] = {}
        self._cache: dict[tuple[int, int, int], SizingEntry] = {}
        self._pred: dict[tuple[int, int, int, float, float], float] = {}
        self._cdfs: dict[int, TokenCDF] = {}
        self.calls = 0
        self.hits = 0
        self.time_s = 0.0
        self._catalog = Catalog(gpus=dict(instance.gpu_by_name),
                                models=dict(instance.model_by_name),
                                precisions={p.name: p for p in instance.precisions},
                                benchmarks={})

    def profile(self, c: int) -> PoolProfile | None:
        """Pool profile of one replica of configuration ``c`` (None if it cannot serve)."""
        if c not in self._profiles:
            cfg = self.instance.routes.configs[c]
            try:
                self._profiles[c] = from_catalog(cfg.model, cfg.gpu, cfg.precision, cfg.tp,
                                                 cfg.pp, catalog=self._catalog,
                                                 constants=self.instance.perf)
            except ValueError:
                self._profiles[c] = None
        return self._profiles[c]

    def _bucket(self, lam: float) -> int:
        return math.ceil(math.log(max(lam, NEGLIGIBLE_RATE)) / math.log1p(self.sizing.lam_step)
                         - 1e-9)

    def _lam_of(self, k: int) -> float:
        return math.exp(k * math.log1p(self.sizing.lam_step))

    def cdf(self, i: int) -> TokenCDF:
        """Total-token CDF of type ``i`` from all the demand's samples (cached)."""
        if i not in self._cdfs:
            p, o = self.demand.type_tokens(i)
            tr = Trace(self.demand.query_types[i], np.zeros(len(p)),
                       np.maximum(p, 1).astype(np.int64), np.maximum(o, 1).astype(np.int64))
            self._cdfs[i] = cdf_from_trace(tr)
        return self._cdfs[i]

    def long_ctx(self, i: int) -> int:
        """Max context of type ``i``'s long pool: the next power of two ≥ its longest
        request (at least 2,048 tokens)."""
        return int(max(2048, 2 ** math.ceil(math.log2(self.cdf(i).max_tokens))))

    def size(self, i: int, c: int, lam: float) -> SizingEntry:
        """κ and the two-pool plan of type ``i`` on configuration ``c`` at rate ``lam``."""
        key = (i, c, self._bucket(lam))
        if key in self._cache:
            self.hits += 1
            return self._cache[key]
        t0 = time.perf_counter()
        self.calls += 1
        entry = SizingEntry(1.0 / self.sizing.rho_max, False, 0, 0.0, math.inf, None)
        prof = self.profile(c)
        if prof is not None:
            try:
                res: PlanResult | None = plan_two_pool(
                    self.cdf(i), self._lam_of(key[2]), float(self.slo[i]), prof, prof,
                    long_ctx=self.long_ctx(i), gammas=(1.0,), rho_max=self.sizing.rho_max,
                    q=self.sizing.quantile, bstar_check=False)
            except ValueError:
                res = None
            if res is not None and res.feasible and res.short is not None and res.long is not None:
                fluid = req = 0.0
                for pool in (res.short, res.long):
                    n, rho = pool.units, pool.rho
                    if n <= 0 or not math.isfinite(rho):
                        continue
                    f = rho * n
                    fluid += f
                    slo_binds = n > math.ceil(f / self.sizing.rho_max - 1e-9)
                    req += n if slo_binds else f / self.sizing.rho_max
                need = req / fluid if fluid > 0 else 1.0 / self.sizing.rho_max
                kappa = min(max(need, 1.0), self.sizing.kappa_max)
                worst = max(res.short.p99_ttft_s, res.long.p99_ttft_s)
                entry = SizingEntry(kappa, True, res.short.units + res.long.units, fluid,
                                    worst, res.b_star, res, need)
        self._cache[key] = entry
        self.time_s += time.perf_counter() - t0
        return entry

    def kappa(self, i: int, c: int, lam: float) -> float:
        """The demand inflation κ of type ``i`` on configuration ``c`` at rate ``lam``."""
        return self.size(i, c, lam).kappa

    def slices(self, i: int, c: int, plan: PlanResult) -> list[PoolSlice]:
        """The pools of ``plan`` (a sizing of type ``i`` on configuration ``c``), calibrated
        on the slices of the type's CDF they serve: short ``L ≤ B*`` and long ``B* < L ≤
        long_ctx`` when the plan splits, else one pool up to ``long_ctx``."""
        prof = self.profile(c)
        if prof is None or plan.short is None or plan.long is None:
            raise ValueError(f"plan: type {i} on configuration {c} has no two-pool plan")
        cdf = self.cdf(i)
        long_ctx = self.long_ctx(i)
        B = plan.b_star if plan.b_star is not None else float(long_ctx)
        if long_ctx > B:
            alpha = cdf.F(B)
            return [PoolSlice(calibrate_slice(prof, cdf, 0.0, float(B), int(B)), int(B), alpha,
                              plan.short),
                    PoolSlice(calibrate_slice(prof, cdf, float(B), float(long_ctx), long_ctx),
                              long_ctx, max(0.0, cdf.F(float(long_ctx)) - alpha), plan.long)]
        return [PoolSlice(calibrate_slice(prof, cdf, 0.0, float(long_ctx), long_ctx), long_ctx,
                          1.0, plan.long)]

    def predict(self, i: int, c: int, lam: float, headroom: float,
                planned: float | None = None) -> float:
        """P99 TTFT (the type's fleet-wide quantile) of type ``i`` at realised rate ``lam``
        when the plan, made for rate ``planned`` (default ``lam``), gives it ``headroom`` ×
        its fluid need at ``lam`` (module docstring); inf when unstable or not sizable."""
        if lam <= NEGLIGIBLE_RATE:
            return 0.0
        if headroom <= 0:
            return math.inf
        lam_plan = lam if planned is None or planned <= NEGLIGIBLE_RATE else planned
        entry = self.size(i, c, lam_plan)
        if not entry.feasible or entry.plan is None:
            return math.inf
        key = (i, c, self._bucket(lam_plan), round(lam, 6), round(headroom, 4))
        if key in self._pred:
            return self._pred[key]
        t0 = time.perf_counter()
        # the planner's pools (sized for the bucket rate λ_b) hold need × λ_b of fluid
        # capacity; the plan gives headroom × λ: the pools' load equivalent to the given
        # capacity is need λ_b / headroom (= λ when the plan bought exactly those pools)
        need = entry.need if math.isfinite(entry.need) else entry.kappa
        load = need * self._lam_of(self._bucket(lam_plan)) / headroom
        pools = [(s, s.share * load) for s in self.slices(i, c, entry.plan) if s.share > 0]
        q = self.sizing.quantile
        evals = [evaluate_pool(s.calibration, lam_p, max(1, s.planned.units), q)
                 for s, lam_p in pools]
        if not all(ev.feasible for ev in evals):
            worst = math.inf
        else:
            worst = self._mixture_quantile(pools, [ev.p99_ttft_s for ev in evals])
        self._pred[key] = worst
        self.time_s += time.perf_counter() - t0
        return worst

    def _mixture_quantile(self, pools: list[tuple[PoolSlice, float]],
                          pool_p99: list[float]) -> float:
        """Smallest t (to 0.1 %) with Σ_p share_p P_p(TTFT > t) ≤ 1 - q: the type's quantile
        over its pools (the planner's fleet-wide SLO, docs/queueing.md), which lies between
        the pools' own quantiles."""
        q = self.sizing.quantile
        mass = sum(s.share for s, _ in pools)

        def miss(t: float) -> float:
            tot = 0.0
            for (s, lam_p), _ in zip(pools, pool_p99):
                tg = flat_targets(s.calibration, t, q)
                ev = evaluate_pool(s.calibration, lam_p, max(1, s.planned.units), q, tg)
                tot += s.share * ev.miss_prob
            return tot / mass

        lo, hi = min(pool_p99), max(pool_p99)
        if len(pools) == 1 or hi - lo <= 1e-3 * hi or miss(lo) <= 1 - q:
            return lo
        for _ in range(40):
            if hi - lo <= 1e-3 * hi:
                break
            mid = 0.5 * (lo + hi)
            if miss(mid) <= 1 - q:
                hi = mid
            else:
                lo = mid
        return hi

    def stats(self) -> dict[str, float]:
        """Planner calls, cache hits, hit rate and time spent (s)."""
        return {"planner_calls": self.calls, "cache_hits": self.hits,
                "hit_rate": self.hits / max(1, self.hits + self.calls),
                "queueing_time_s": self.time_s}


__all__ = ["MLPERF_TTFT_S", "NEGLIGIBLE_RATE", "PoolSlice", "QueueingSizer", "QueueingSizing",
           "SizingEntry"]
