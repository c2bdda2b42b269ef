"""The problem instance: query types, models, GPU tiers and the planning limits (docs/semantics.md#problem).

An :class:`Instance` is frozen and validated on construction. It embeds the full model
and GPU specs it uses, so an instance file is self-contained and keeps its meaning when
the shipped catalog is updated. Its performance table (:attr:`Instance.routes`) is
computed once, on first use, by :mod:`instances.performance`; the MILP, the heuristics
and the evaluator all read that same table.

Units: rates in requests/s, tokens per request, seconds, error as a fraction, money in $,
the horizon in hours, storage in GB.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from hetserve.instances.catalog import (
    DEFAULT_PRECISIONS,
    TASK_CATEGORIES,
    GpuType,
    ModelSpec,
    Precision,
)
from hetserve.instances.errors import require
from hetserve.instances.perf_model import Deployment, QueryShapes, performance_model
from hetserve.instances.performance import PerfConstants

DELAY_CONSTRAINTS = ("per-route", "average", "both")
"""``per-route``: a route is usable only if its D(b*) ≤ Δ_i (the M1 filter); ``average``:
the demand-weighted mean delay of a query type ≤ Δ_i (the paper precursor's form);
``both``: both."""


DEPLOYMENT_MODES = ("aggregated", "disaggregated", "mixed-solo")
"""``aggregated``: every replica prefills and decodes (docs/semantics.md#performance-model);
``disaggregated``: prefill-only and decode-only replicas in units (docs/pd.md);
``mixed-solo``: chunked prefill beside decodes, or decodes only (docs/pd.md#mixed-solo)."""
DEFAULT_PD_RATIOS: tuple[tuple[int, int], ...] = ((4, 1), (2, 1), (1, 1), (1, 2), (1, 4))
"""(prefill replicas, decode replicas) of one P/D unit: prompt-heavy to output-heavy mixes."""


@dataclass(frozen=True)
class QueryType:
    """One class of requests with its demand, SLOs and penalties."""

    name: str
    category: str
    rate_per_s: float
    prompt_tokens: float
    output_tokens: float
    delay_slo_s: float
    error_slo: float
    max_unmet: float = 0.0
    unmet_penalty: float = 0.0
    delay_penalty: float = 0.0
    """$ per request-second of mean latency (ρ_i)."""
    delay_factor: float = 1.0
    """Multiplies every latency of this type (stress inflation γ_d; 1 = nominal)."""
    error_factor: float = 1.0
    """Multiplies every error rate of this type (stress inflation γ_e; 1 = nominal)."""

    def __post_init__(self) -> None:
        where = f"query type {self.name!r}"
        require(self.category in TASK_CATEGORIES, f"{where}.category",
                f"unknown task category {self.category!r}; expected one of {list(TASK_CATEGORIES)}")
        require(self.rate_per_s > 0, f"{where}.rate_per_s", f"must be > 0, got {self.rate_per_s!r}")
        require(self.prompt_tokens >= 1, f"{where}.prompt_tokens", "must be >= 1")
        require(self.output_tokens >= 1, f"{where}.output_tokens", "must be >= 1")
        require(self.delay_slo_s > 0, f"{where}.delay_slo_s", "must be > 0")
        require(0 < self.error_slo <= 1, f"{where}.error_slo", "must be in (0, 1]")
        require(0 <= self.max_unmet <= 1, f"{where}.max_unmet", "must be in [0, 1]")
        require(self.unmet_penalty >= 0, f"{where}.unmet_penalty", "must be >= 0")
        require(self.delay_penalty >= 0, f"{where}.delay_penalty", "must be >= 0")
        require(self.delay_factor > 0, f"{where}.delay_factor", "must be > 0")
        require(self.error_factor > 0, f"{where}.error_factor", "must be > 0")

    @property
    def requests_per_hour(self) -> float:
        return 3600.0 * self.rate_per_s


@dataclass(frozen=True)
class Tier:
    """A GPU type at a weight precision, e.g. ``H100-SXM/int8``."""

    gpu: str
    precision: str

    @property
    def name(self) -> str:
        return f"{self.gpu}/{self.precision}"


@dataclass(frozen=True)
class Config:
    """A configuration γ = (model, tier, TP degree n, PP degree m); a replica uses n·m GPUs."""

    model: str
    gpu: str
    precision: str
    tp: int
    pp: int

    @property
    def deployment(self) -> tuple[str, str, str]:
        """The deployment key (model, gpu, precision) the configuration belongs to."""
        return (self.model, self.gpu, self.precision)

    @property
    def gpus_per_replica(self) -> int:
        return self.tp * self.pp

    def gpus_by_type(self) -> dict[str, int]:
        """GPUs of each type one replica holds (the row of :attr:`RouteTable.gpu_use`)."""
        return {self.gpu: self.tp * self.pp}

    def hourly_price(self, price_per_gpu_hour: dict[str, float]) -> float:
        """$ per hour of one replica (π_c)."""
        return price_per_gpu_hour[self.gpu] * self.tp * self.pp

    def label(self) -> str:
        return f"{self.model}@{self.gpu}/{self.precision} TP{self.tp} PP{self.pp}"


class RouteTable:
    """Performance of every (query type, configuration) pair of an instance.

    Configurations whose weights do not fit in ``tp·pp`` GPUs, or whose TP degree exceeds
    the GPU's node size, are left out. Arrays are indexed ``[i, c]`` (query type,
    configuration) and are read-only.

    Attributes
    ----------
    configs
        The configurations, in a fixed order (model, tier, TP, PP).
    usable
        ``usable[i, c]``: the route may carry traffic under the instance's delay rule.
    delay, capacity, batch, error
        D(b*) in s, μ in req/s per replica, b*, and the error rate e_iγ.
    within_slo
        ``delay_at_1 <= Δ_i``: at least one request at a time meets the delay SLO.
    rates
        λ_i in requests/s (the instance's arrival rates, as an array).
    load_per_share
        ``λ_i / μ_ic``: replicas a full share of type *i* loads on *c* (inf if μ = 0).
    gpu_use
        ``gpu_use[c, g]``: GPUs of type ``instance.gpus[g]`` one replica of *c* holds
        (:meth:`Config.gpus_by_type`). Every availability row and limit reads it, so a
        configuration may span several GPU types.
    gpus_per_replica
        ``gpu_use.sum(axis=1)``: all GPUs of one replica.
    config_gpu
        The GPU type index of each configuration's replicas (availability reads
        :attr:`gpu_use`, never this).
    """

    def __init__(self, instance: Instance) -> None:
        inst = instance
        c = inst.perf
        gpus = {g.name: g for g in inst.gpus}
        precisions = {p.name: p for p in inst.precisions}
        configs: list[Config] = []
        for model in inst.models:
            for tier in inst.tiers:
                gpu = gpus[tier.gpu]
                prec = precisions[tier.precision]
                usable = gpu.memory_gb * 1e9 * c.gpu_memory_utilization - c.runtime_reserve_gb * 1e9
                weights = model.params_b * 1e9 * prec.bytes_per_weight
                for n in inst.tp_degrees:
                    if n > gpu.gpus_per_node:
                        continue
                    for m in inst.pp_degrees:
                        if weights / (n * m) < usable:
                            configs.append(Config(model.name, tier.gpu, tier.precision, n, m))
        models = {mod.name: mod for mod in inst.models}
        q = inst.query_types

        def col(values: Iterable[float]) -> np.ndarray:
            return np.fromiter(values, dtype=float).reshape(1, -1)

        def row(values: Iterable[float]) -> np.ndarray:
            return np.fromiter(values, dtype=float).reshape(-1, 1)

        cm = [models[cfg.model] for cfg in configs]
        cg = [gpus[cfg.gpu] for cfg in configs]
        cp = [precisions[cfg.precision] for cfg in configs]
        if configs:
            # Every consumer's numbers come from the instance's performance model
            # (docs/performance.md#models; roofline by default).
            out = performance_model(c).route_metrics(
                QueryShapes(prompt=row(t.prompt_tokens for t in q),
                            output=row(t.output_tokens for t in q),
                            slo=row(t.delay_slo_s for t in q),
                            delay_factor=row(t.delay_factor for t in q)),
                [Deployment(mod, g, p, cfg.tp, cfg.pp)
                 for mod, g, p, cfg in zip(cm, cg, cp, configs)])
        else:
            shape = (len(q), 0)
            out = {k: np.zeros(shape) for k in ("fits", "max_batch", "prefill", "delay_at_1",
                                                "batch", "delay", "capacity")}
            out["fits"] = out["fits"].astype(bool)
        def append(extra: Sequence[Config], extra_out: dict[str, np.ndarray]) -> None:
            """Add another mode's configurations (and their route arrays) after these."""
            nonlocal out, configs
            out = {k: np.concatenate([np.asarray(out[k]), extra_out[k]], axis=1).astype(
                extra_out[k].dtype) for k in out}
            configs = [*configs, *extra]
            cm.extend(models[cfg.model] for cfg in extra)
            cp.extend(precisions[cfg.precision] for cfg in extra)

        if "disaggregated" in inst.deployment_modes:  # docs/pd.md: P/D units after the replicas
            from hetserve.instances.disagg import pd_configs, pd_metrics

            pd = pd_configs(inst)
            append(pd, pd_metrics(inst, pd))
        if "mixed-solo" in inst.deployment_modes:  # docs/pd.md#mixed-solo: after P/D units
            from hetserve.instances.mixed_solo import mixed_solo_configs, mixed_solo_metrics

            ms = mixed_solo_configs(inst, [cfg for cfg in configs if type(cfg) is Config])
            append(ms, mixed_solo_metrics(inst, ms))
        if "aggregated" not in inst.deployment_modes:
            agg = sum(type(cfg) is Config for cfg in configs)
            out = {k: np.asarray(v)[:, agg:] for k, v in out.items()}
            configs, cm, cp = configs[agg:], cm[agg:], cp[agg:]
        self.configs: tuple[Config, ...] = tuple(configs)
        self.index: dict[Config, int] = {cfg: k for k, cfg in enumerate(configs)}
        slo = row(t.delay_slo_s for t in q)
        self.fits = np.ascontiguousarray(out["fits"])
        self.max_batch = np.ascontiguousarray(out["max_batch"])
        self.prefill = np.ascontiguousarray(out["prefill"])
        self.delay_at_1 = np.ascontiguousarray(out["delay_at_1"])
        self.batch = np.ascontiguousarray(out["batch"])
        self.delay = np.ascontiguousarray(out["delay"])
        self.capacity = np.ascontiguousarray(out["capacity"])
        self.within_slo = self.fits & (self.delay_at_1 <= slo)
        if inst.delay_constraint == "average":
            self.usable = self.fits.copy()
        else:
            self.usable = self.within_slo.copy()
        cat_err = np.array([[mod.errors[t.category] for mod in cm] for t in q]).reshape(len(q), -1)
        mult = col(p.error_multiplier for p in cp) if configs else np.zeros((1, 0))
        self.error = np.ascontiguousarray(cat_err * mult * row(t.error_factor for t in q))
        model_pos = {mod.name: k for k, mod in enumerate(inst.models)}
        gpu_pos = {g.name: k for k, g in enumerate(inst.gpus)}
        self.gpu_use = np.zeros((len(configs), len(inst.gpus)), dtype=np.int64)
        for k, cfg in enumerate(configs):
            for name, count in cfg.gpus_by_type().items():
                self.gpu_use[k, gpu_pos[name]] += count
        self.gpus_per_replica = self.gpu_use.sum(axis=1)
        prices = {g.name: g.price_per_gpu_hour for g in inst.gpus}
        self.price_per_replica_hour = np.array([cfg.hourly_price(prices) for cfg in configs])
        self.config_model = np.array([model_pos[cfg.model] for cfg in configs], dtype=np.int64)
        self.config_gpu = np.array([gpu_pos[cfg.gpu] for cfg in configs], dtype=np.int64)
        deployments: dict[tuple[str, str, str], list[int]] = {}
        for k, cfg in enumerate(configs):
            deployments.setdefault(cfg.deployment, []).append(k)
        self.deployments: dict[tuple[str, str, str], tuple[int, ...]] = {
            key: tuple(v) for key, v in deployments.items()}
        self.rates = np.array([t.rate_per_s for t in q], dtype=float)
        self._divisor = np.where(self.capacity > 0, self.capacity, 1.0)
        with np.errstate(divide="ignore"):
            self.load_per_share = np.where(self.capacity > 0,
                                           self.rates[:, None] / self._divisor, np.inf)
        for arr in (self.fits, self.max_batch, self.prefill, self.delay_at_1, self.batch,
                    self.delay, self.capacity, self.within_slo, self.usable, self.error,
                    self.gpus_per_replica, self.price_per_replica_hour, self.config_model,
                    self.config_gpu, self.gpu_use, self.rates, self._divisor,
                    self.load_per_share):
            arr.setflags(write=False)

    def __len__(self) -> int:
        return len(self.configs)

    def load(self, x: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        """Replicas loaded per configuration by the shares ``x[i, c]``:
        Σ_i λ_i x_ic / μ_ic over the entries with ``x > 0`` (and
        ``where``, if given). One replica at load 1 runs at its operating point b*."""
        used = x > 0 if where is None else (x > 0) & where
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(used, self.rates[:, None] * x / self._divisor, 0.0).sum(axis=0)

    def cap_to_capacity(self, x: np.ndarray, capacity: np.ndarray, tol: float = 0.0,
                        where: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scale the shares of every configuration whose load (:meth:`load`, over ``where``)
        exceeds ``capacity[c] + tol`` replicas down to exactly its capacity. Returns
        ``(scaled x, load before)``; the traffic scaled away is the overload."""
        load = self.load(x, where)
        over = load > np.asarray(capacity, dtype=float) + tol
        if not over.any():
            return x, load
        keep = np.where(over, capacity / np.where(load > 0, load, 1.0), 1.0)
        return x * keep[None, :], load


@dataclass(frozen=True)
class Instance:
    """A provisioning problem (docs/semantics.md#problem).

    Frozen; build variants with :func:`dataclasses.replace`.

    Parameters
    ----------
    budget
        Limit on rental + storage cost over the horizon in $, or ``None`` for none.
    storage_capacity_gb
        Limit on the total size of stored models, or ``None``.
    availability
        Max GPUs of each type that can be rented (defaults to the GPU's
        ``default_availability``).
    max_utilisation
        ρ_max: a replica may be loaded to this share of its capacity μ.
    single_placement
        Each query type is served by exactly one configuration (the precursor's (5m)).
    multi_parallelism
        Allow several (TP, PP) choices for one (model, GPU, precision) deployment; the
        paper's semantics (the default) is one.
    deployment_modes
        ``aggregated`` (every replica prefills and decodes), ``disaggregated``
        (prefill-only and decode-only replicas, docs/pd.md) and/or ``mixed-solo`` (chunked
        prefill, docs/pd.md#mixed-solo); default aggregated only.
    pd_ratios
        (prefill replicas, decode replicas) of the disaggregated units considered.
    """

    name: str
    query_types: tuple[QueryType, ...]
    models: tuple[ModelSpec, ...]
    gpus: tuple[GpuType, ...]
    tiers: tuple[Tier, ...]
    precisions: tuple[Precision, ...] = DEFAULT_PRECISIONS
    tp_degrees: tuple[int, ...] = (1, 2, 4, 8)
    pp_degrees: tuple[int, ...] = (1, 2, 4)
    horizon_h: float = 24.0
    budget: float | None = None
    storage_price_per_gb_h: float = 0.0
    storage_capacity_gb: float | None = None
    availability: dict[str, int] = field(default_factory=dict)
    max_utilisation: float = 1.0
    delay_constraint: str = "per-route"
    single_placement: bool = False
    multi_parallelism: bool = False
    perf: PerfConstants = field(default_factory=PerfConstants)
    description: str = ""
    deployment_modes: tuple[str, ...] = ("aggregated",)
    pd_ratios: tuple[tuple[int, int], ...] = DEFAULT_PD_RATIOS

    def __post_init__(self) -> None:
        require(bool(self.name), "name", "must be a non-empty string")
        require(len(self.query_types) > 0, "query_types", "at least one query type is needed")
        require(len(self.models) > 0, "models", "at least one model is needed")
        require(len(self.tiers) > 0, "tiers", "at least one tier is needed")
        for label, items in (("query_types", self.query_types), ("models", self.models),
                             ("gpus", self.gpus), ("tiers", self.tiers),
                             ("precisions", self.precisions)):
            names = [x.name for x in items]
            dupes = sorted({x for x in names if names.count(x) > 1})
            require(not dupes, label, f"duplicate names {dupes}")
        gpu_names = {g.name for g in self.gpus}
        prec_names = {p.name for p in self.precisions}
        for k, tier in enumerate(self.tiers):
            require(tier.gpu in gpu_names, f"tiers[{k}].gpu",
                    f"unknown GPU {tier.gpu!r}; the instance defines {sorted(gpu_names)}")
            require(tier.precision in prec_names, f"tiers[{k}].precision",
                    f"unknown precision {tier.precision!r}; expected one of {sorted(prec_names)}")
        for n in self.tp_degrees:
            require(n in (1, 2, 4, 8, 16), "tp_degrees", f"TP degree {n!r} not understood; "
                    "expected values from (1, 2, 4, 8, 16)")
        for m in self.pp_degrees:
            require(m in (1, 2, 4, 8), "pp_degrees", f"PP degree {m!r} not understood; "
                    "expected values from (1, 2, 4, 8)")
        require(self.horizon_h > 0, "horizon_h", "must be > 0")
        require(self.budget is None or self.budget > 0, "budget", "must be > 0 or null")
        require(self.storage_price_per_gb_h >= 0, "storage_price_per_gb_h", "must be >= 0")
        require(self.storage_capacity_gb is None or self.storage_capacity_gb > 0,
                "storage_capacity_gb", "must be > 0 or null")
        for gpu, count in self.availability.items():
            require(gpu in gpu_names, f"availability.{gpu}", "unknown GPU")
            require(isinstance(count, int) and count >= 0, f"availability.{gpu}",
                    f"must be a non-negative integer, got {count!r}")
        require(0 < self.max_utilisation <= 1, "max_utilisation", "must be in (0, 1]")
        require(self.delay_constraint in DELAY_CONSTRAINTS, "delay_constraint",
                f"expected one of {list(DELAY_CONSTRAINTS)}, got {self.delay_constraint!r}")
        modes = DEPLOYMENT_MODES
        require(len(self.deployment_modes) > 0
                and all(m in modes for m in self.deployment_modes)
                and len(set(self.deployment_modes)) == len(self.deployment_modes),
                "deployment_modes", f"a non-empty list of distinct values from {list(modes)}, "
                f"got {list(self.deployment_modes)!r}")
        # P/D units are costed with the roofline kernels (docs/pd.md); another performance
        # model for the aggregated routes would make the two incomparable
        for mode in ("disaggregated", "mixed-solo"):
            require(mode not in self.deployment_modes
                    or getattr(self.perf, "model", "roofline") == "roofline", "deployment_modes",
                    f"{mode} configurations are modelled with the roofline kernels only "
                    "(perf.model must be 'roofline')")
        require(len(self.pd_ratios) > 0 and all(
            len(pair) == 2 and all(isinstance(v, int) and 1 <= v <= 16 for v in pair)
            for pair in self.pd_ratios), "pd_ratios",
            f"a non-empty list of [prefill, decode] replica counts in 1..16, got "
            f"{[list(p) for p in self.pd_ratios]!r}")
        # A repeated ratio would repeat every P/D configuration (duplicate MILP columns).
        require(len(set(self.pd_ratios)) == len(self.pd_ratios), "pd_ratios",
                f"ratios must be distinct, got {[list(p) for p in self.pd_ratios]!r}")

    # ------------------------------------------------------------------ lookups
    @cached_property
    def routes(self) -> RouteTable:
        """The performance table of every route (computed once)."""
        return RouteTable(self)

    @cached_property
    def gpu_by_name(self) -> dict[str, GpuType]:
        return {g.name: g for g in self.gpus}

    @cached_property
    def model_by_name(self) -> dict[str, ModelSpec]:
        return {m.name: m for m in self.models}

    @cached_property
    def query_index(self) -> dict[str, int]:
        return {q.name: k for k, q in enumerate(self.query_types)}

    def gpu_limit(self, gpu: str) -> int:
        """Max GPUs of this type (the availability constraint N_g)."""
        return self.availability.get(gpu, self.gpu_by_name[gpu].default_availability)

    @property
    def size(self) -> tuple[int, int, int]:
        """(query types, models, tiers): the paper's |I| x |J| x |K|."""
        return (len(self.query_types), len(self.models), len(self.tiers))

    def replace(self, **changes: Any) -> Instance:
        """A copy with ``changes`` (validated again; the route table is recomputed)."""
        return replace(self, **changes)

    def scaled(self, *, demand: float = 1.0) -> Instance:
        """A copy with every arrival rate multiplied by ``demand``."""
        return self.inflated(demand=demand)

    def inflated(self, *, delay: float | Iterable[float] = 1.0,
                 error: float | Iterable[float] = 1.0,
                 demand: float | Iterable[float] = 1.0) -> Instance:
        """A copy whose latencies, error rates and arrival rates are multiplied by the
        given factors (scalars, or one factor per query type), on top of any inflation
        already applied.

        Every constraint of the model is monotone in these parameters, so the plan that
        is optimal for the inflated copy is the exact robust counterpart for the box
        uncertainty ``[1, factor]`` (used by robust planning and the stress tests).
        """
        n = len(self.query_types)

        def per_type(value: float | Iterable[float], label: str) -> list[float]:
            vals = [float(value)] * n if isinstance(value, (int, float)) else [float(v) for v in value]
            require(len(vals) == n, label, f"expected {n} factors, got {len(vals)}")
            for v in vals:
                require(v > 0, label, f"factors must be > 0, got {v!r}")
            return vals

        d, e, lam = per_type(delay, "delay"), per_type(error, "error"), per_type(demand, "demand")
        return self.replace(query_types=tuple(
            replace(q, delay_factor=q.delay_factor * d[k], error_factor=q.error_factor * e[k],
                    rate_per_s=q.rate_per_s * lam[k])
            for k, q in enumerate(self.query_types)))

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``docs/instance-format.md`` (inverse of :func:`instance_from_dict`)."""
        return {
            "format": "hetserve-instance/1",
            "name": self.name,
            "description": self.description,
            "horizon_h": self.horizon_h,
            "budget": self.budget,
            "storage_price_per_gb_h": self.storage_price_per_gb_h,
            "storage_capacity_gb": self.storage_capacity_gb,
            "max_utilisation": self.max_utilisation,
            "delay_constraint": self.delay_constraint,
            "single_placement": self.single_placement,
            "multi_parallelism": self.multi_parallelism,
            "tp_degrees": list(self.tp_degrees),
            "pp_degrees": list(self.pp_degrees),
            "availability": dict(self.availability),
            "perf": self.perf.to_dict(),
            "query_types": [asdict(q) for q in self.query_types],
            "models": [m.to_dict() for m in self.models],
            "gpus": [g.to_dict() for g in self.gpus],
            "precisions": [p.to_dict() for p in self.precisions],
            "tiers": [{"gpu": t.gpu, "precision": t.precision} for t in self.tiers],
            # P/D options only when set, so aggregated instance files keep their bytes
            **({} if self.deployment_modes == ("aggregated",) else {
                "deployment_modes": list(self.deployment_modes),
                "pd_ratios": [list(p) for p in self.pd_ratios]}),
        }
