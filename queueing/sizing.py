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
from hetserve.simulator.des import PoolSpec
from hetserve.simulator.runner import Fleet, make_requests, run_fleet

from .planner import PlanResult, plan_two_pool
from .pools import PoolCalibration, calibrate_slice, evaluate_pool, flat_targets
from .profiles import PoolProfile, from_catalog
from .slo import TTFTSLO
from .verify import verify_plan
from .workload import TokenCDF, Trace, cdf_from_trace

if TYPE_CHECKING:
    from hetserve.instances.demand import DemandTrace
    from hetserve.instances.model import Instance

NEGLIGIBLE_RATE = 1e-6
"""req/s below which a type is treated as having no demand (P99 TTFT 0, no sizing)."""
JUDGES = ("analytic", "detailed")
MLPERF_TTFT_S = 2.0
"""Default P99 TTFT SLO cap: MLPerf Inference's Llama-2-70B server scenario bounds the
99th-percentile TTFT at 2 s."""


@dataclass(frozen=True)
class QueueingSizing:
    """Settings of the queueing sizer.

    ``ttft_slo_s``: one P99 TTFT SLO for every type, or ``None`` for
    min(``MLPERF_TTFT_S``, Δ_i / 2) per type. ``enabled=False`` plans on the fluid model
    alone (κ = 1, the paper's setting); P99 TTFT is still predicted when ``predict``.

    ``verify``: every sizing is verified in the detailed simulator
    (:func:`~hetserve.queueing.verify.verify_plan`, ``verify_requests`` requests per stream,
    seed ``seed``) and κ comes from the verified pools. ``judge="detailed"`` also judges
    every window in the detailed simulator (:meth:`QueueingSizer.simulate`,
    ``judge_requests`` requests, seed ``seed + 1``, loads rounded *up* to a geometric grid
    of step ``judge_step``); ``"analytic"`` only predicts.
    """

    enabled: bool = True
    predict: bool = True
    ttft_slo_s: float | None = None
    quantile: float = 0.99
    rho_max: float = 0.85
    lam_step: float = 0.05
    kappa_max: float = 4.0
    verify: bool = True
    verify_requests: int = 6000
    judge: str = "detailed"
    judge_requests: int = 3000
    judge_step: float = 0.05
    seed: int = 0

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
        if self.judge not in JUDGES:
            raise ValueError(f"judge: expected one of {list(JUDGES)}, got {self.judge!r}")
        for name in ("verify_requests", "judge_requests"):
            if not 100 <= getattr(self, name) <= 5_000_000:
                raise ValueError(f"{name}: must be in [100, 5000000]")
        if not self.judge_step > 0:
            raise ValueError("judge_step: must be > 0")

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
    """Queueing replicas of both pools (verified when the sizing verifies)."""
    fluid_units: float
    """Σ_p ρ_p n_p: the queueing model's replicas at 100 % utilisation."""
    p99_ttft_s: float
    b_star: float | None
    plan: PlanResult | None = field(repr=False, default=None)
    need: float = math.nan
    """Σ_p n^req_p / Σ_p ρ_p n_p before the clip to [1, κ_max]: the capacity the pools hold
    in units of the fluid need."""
    analytic_units: int = 0
    """Replicas of the analytic sizing before verification (= ``units`` unverified)."""
    status: str = "analytic"
    """``analytic``, ``verified``, ``verification-failed`` or ``infeasible``."""


@dataclass(frozen=True)
class PoolSlice:
    """One pool of a type's two-pool plan: its calibration, max context, traffic share and
    the plan's replicas (verified ones when the plan was verified)."""

    calibration: PoolCalibration
    ctx: int
    share: float
    units: int


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
        self._sim: dict[tuple[int, int, int, int], tuple[float, float]] = {}
        self._cdfs: dict[int, TokenCDF] = {}
        self.calls = 0
        self.hits = 0
        self.verified_added = 0
        self.verify_failed = 0
        self.sim_calls = 0
        self.sim_hits = 0
        self.time_s = 0.0
        self.verify_time_s = 0.0
        self.sim_time_s = 0.0
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
        """κ and the two-pool plan of type ``i`` on configuration ``c`` at rate ``lam``
        (verified in the detailed simulator when ``sizing.verify``)."""
        key = (i, c, self._bucket(lam))
        if key in self._cache:
            self.hits += 1
            return self._cache[key]
        t0 = time.perf_counter()
        self.calls += 1
        entry = SizingEntry(1.0 / self.sizing.rho_max, False, 0, 0.0, math.inf, None,
                            status="infeasible")
        prof = self.profile(c)
        if prof is not None:
            try:
                res: PlanResult | None = plan_two_pool(
                    self.cdf(i), self._lam_of(key[2]), float(self.slo[i]), prof, prof,
                    long_ctx=self.long_ctx(i), gammas=(1.0,), rho_max=self.sizing.rho_max,
                    q=self.sizing.quantile, bstar_check=False)
            except ValueError:
                res = None
            if res is not None and res.feasible and res.fleet is not None:
                entry = self._entry(i, c, res)
        self._cache[key] = entry
        self.time_s += time.perf_counter() - t0
        return entry

    def _entry(self, i: int, c: int, res: PlanResult) -> SizingEntry:
        """κ of a feasible analytic plan, after verification when the sizing asks."""
        analytic_units = sum(int(p["units"]) for p in (res.fleet or {}).get("pools", []))
        status = "analytic"
        if self.sizing.verify:
            prof = self.profile(c)
            assert prof is not None  # a feasible plan has a profile
            t1 = time.perf_counter()
            res = verify_plan(res, prof, prof, requests=self.sizing.verify_requests,
                              seed=self.sizing.seed)
            self.verify_time_s += time.perf_counter() - t1
            status = res.slo_status
            if status != "verified":
                self.verify_failed += 1
                return SizingEntry(self.sizing.kappa_max, False, 0, 0.0, math.inf, res.b_star,
                                   res, math.inf, analytic_units, status)
        fluid = req = 0.0
        pools = self.slices(i, c, res)
        for pool in pools:
            n = pool.units
            f = pool.share * res.rate / pool.calibration.max_throughput \
                if pool.calibration.max_throughput > 0 else 0.0
            if n <= 0 or f <= 0:
                continue
            fluid += f
            slo_binds = n > math.ceil(f / self.sizing.rho_max - 1e-9)
            req += n if slo_binds else f / self.sizing.rho_max
        need = req / fluid if fluid > 0 else 1.0 / self.sizing.rho_max
        kappa = min(max(need, 1.0), self.sizing.kappa_max)
        units = sum(p.units for p in pools)
        if status == "verified":
            self.verified_added += units > analytic_units
            worst = float((res.verification or {}).get("simulated_ttft", {}).get("value",
                                                                                 math.nan))
        else:
            worst = max(res.short.p99_ttft_s if res.short else 0.0,
                        res.long.p99_ttft_s if res.long else 0.0)
        return SizingEntry(kappa, True, units, fluid, worst, res.b_star, res, need,
                           analytic_units, status)

    def kappa(self, i: int, c: int, lam: float) -> float:
        """The demand inflation κ of type ``i`` on configuration ``c`` at rate ``lam``."""
        return self.size(i, c, lam).kappa

    def slices(self, i: int, c: int, plan: PlanResult) -> list[PoolSlice]:
        """The pools of ``plan``'s fleet (a sizing of type ``i`` on configuration ``c``),
        calibrated on the slices of the type's CDF they serve: short ``L ≤ B`` and long
        ``B < L ≤ long_ctx`` when the fleet splits at B, else one pool up to ``long_ctx``."""
        prof = self.profile(c)
        if prof is None or plan.fleet is None:
            raise ValueError(f"plan: type {i} on configuration {c} has no two-pool plan")
        cdf = self.cdf(i)
        long_ctx = self.long_ctx(i)
        pools = plan.fleet["pools"]
        if len(pools) == 2:
            B = int(pools[0]["ctx"])
            alpha = cdf.F(float(B))
            return [PoolSlice(calibrate_slice(prof, cdf, 0.0, float(B), B), B, alpha,
                              int(pools[0]["units"])),
                    PoolSlice(calibrate_slice(prof, cdf, float(B), float(long_ctx), long_ctx),
                              long_ctx, max(0.0, cdf.F(float(long_ctx)) - alpha),
                              int(pools[1]["units"]))]
        return [PoolSlice(calibrate_slice(prof, cdf, 0.0, float(long_ctx), long_ctx), long_ctx,
                          1.0, int(pools[0]["units"]))]

    def _load(self, entry: SizingEntry, lam_plan: float, headroom: float) -> float:
        """The load on the sizing's pools equivalent to ``headroom`` × the fluid need: the
        pools (sized for the bucket rate λ_b) hold need × λ_b of fluid capacity; the plan
        gives headroom × λ, so the pools' equivalent load is need λ_b / headroom (= λ when
        the plan bought exactly those pools)."""
        need = entry.need if math.isfinite(entry.need) else entry.kappa
        return need * self._lam_of(self._bucket(lam_plan)) / headroom

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
        load = self._load(entry, lam_plan, headroom)
        pools = [(s, s.share * load) for s in self.slices(i, c, entry.plan) if s.share > 0]
        q = self.sizing.quantile
        evals = [evaluate_pool(s.calibration, lam_p, max(1, s.units), q) for s, lam_p in pools]
        if not all(ev.feasible for ev in evals):
            worst = math.inf
        else:
            worst = self._mixture_quantile(pools, [ev.p99_ttft_s for ev in evals])
        self._pred[key] = worst
        self.time_s += time.perf_counter() - t0
        return worst

    def simulate(self, i: int, c: int, lam: float, headroom: float,
                 planned: float | None = None) -> tuple[float, float]:
        """(share of requests over the TTFT SLO, simulated P99 TTFT) of type ``i`` in the
        detailed simulator, for the same pools and equivalent load as :meth:`predict`
        (the load rounded up to the ``judge_step`` grid, so windows of similar load share a
        run); ``(1, inf)`` when the type has no sizing. Poisson arrivals, the type's
        token lengths, ``judge_requests`` requests with seed ``sizing.seed + 1`` (a stream
        independent of the verification's), the first 20 % discarded as warm-up."""
        if lam <= NEGLIGIBLE_RATE:
            return 0.0, 0.0
        lam_plan = lam if planned is None or planned <= NEGLIGIBLE_RATE else planned
        entry = self.size(i, c, lam_plan)
        prof = self.profile(c)
        if headroom <= 0 or not entry.feasible or entry.plan is None or prof is None:
            return 1.0, math.inf
        step = math.log1p(self.sizing.judge_step)
        k = math.ceil(math.log(self._load(entry, lam_plan, headroom)) / step - 1e-9)
        key = (i, c, self._bucket(lam_plan), k)
        if key in self._sim:
            self.sim_hits += 1
            return self._sim[key]
        t0 = time.perf_counter()
        self.sim_calls += 1
        pools = [PoolSpec(f"p{j}", prof, max(1, s.units), s.ctx)
                 for j, s in enumerate(self.slices(i, c, entry.plan))]
        slo = TTFTSLO(float(self.slo[i]), quantile=self.sizing.quantile)
        req, _, _ = make_requests(cdf=self.cdf(i), rate=math.exp(k * step),
                                  n=self.sizing.judge_requests, seed=self.sizing.seed + 1)
        res, rep = run_fleet(Fleet(pools, 1.0, 0.0), req, seed=self.sizing.seed + 1,
                             mode="detailed", quantile=self.sizing.quantile, slo=slo)
        out = (float(rep["constraints"][0]["miss"]["rate"]), float(res.ttft["value"]))
        self._sim[key] = out
        self.sim_time_s += time.perf_counter() - t0
        return out

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
                ev = evaluate_pool(s.calibration, lam_p, max(1, s.units), q, tg)
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
        """Planner calls, cache hits, hit rate, verifications that added capacity or failed,
        detailed-simulator judgements and time spent (s)."""
        return {"planner_calls": self.calls, "cache_hits": self.hits,
                "hit_rate": self.hits / max(1, self.hits + self.calls),
                "verified_sizings": self.calls if self.sizing.verify else 0,
                "verify_added_capacity": self.verified_added,
                "verify_failed": self.verify_failed,
                "verify_time_s": self.verify_time_s,
                "judge_sim_runs": self.sim_calls, "judge_sim_hits": self.sim_hits,
                "judge_time_s": self.sim_time_s,
                "queueing_time_s": self.time_s}


__all__ = ["JUDGES", "MLPERF_TTFT_S", "NEGLIGIBLE_RATE", "PoolSlice", "QueueingSizer",
           "QueueingSizing", "SizingEntry"]
