r"""One performance-model interface for every consumer (docs/performance.md#models).

The planners (MILP, heuristics, evaluator) read an instance's :class:`RouteTable`
(:mod:`hetserve.instances.model`); the queueing planner and the simulator read pool
profiles (:func:`hetserve.queueing.profiles.from_catalog`). Both ask a
:class:`PerformanceModel` for their numbers, chosen by the instance's ``perf`` block
(``"perf": {"model": "serving", "engine": "vllm"}``) or the CLI's ``--perf-model``:

``roofline`` (default)
    The paper's two-phase model, :mod:`hetserve.instances.performance`, unchanged: every
    existing result stays bit-identical.
``serving``
    The engine-aware model of :mod:`hetserve.instances.serving` read as a *steady closed
    loop of b sequences* (below).
``measured``
    A measured profile (:func:`hetserve.instances.profiles.read_profile`) for the
    configurations it covers — interpolated, never extrapolated: a route outside the
    measured range does not fit — and the ``serving`` model for the others.

Route quantities (per query type *i* of prompt *h*, output *f* tokens, and deployment)
    ``fits``, ``max_batch``, ``prefill`` (one prompt alone), ``delay_at_1``, the
    operating point ``batch`` :math:`b^* = \max\{b \le b_{max}: D(b) \le \Delta_i\}`,
    ``delay`` :math:`D(b^*)` and ``capacity`` :math:`\mu = b^*/D(b^*)` (Little's law).

Serving model's :math:`D(b)`: a steady closed loop of *b* sequences
    Each round every sequence prefills *h* tokens and decodes *f*. An engine that mixes
    prompt chunks into decode steps (``chunked``, ``inflight``) needs
    :math:`N = \max(f,\ b(h+f)/B)` steps per round (one token per sequence per step, at
    most the token budget *B* per step), each carrying :math:`b(h+f)/N` tokens with
    :math:`b(h + f/2)` context tokens read, so :math:`D(b) = N\,t_{step}`. A
    ``prefill-first`` engine pauses decodes for prefill-only steps:
    :math:`D(b) = f\,t_{step}(b) + n_p\,t_{step}(bh/n_p)` with
    :math:`n_p = \max(1, bh/B)` prefill steps. KV: paged by actual tokens (a sequence
    holds :math:`h + f/2` on average) or reserved in full (:math:`h+f`), per the engine's
    admission; :math:`b_{max}` is also capped by ``max_num_seqs``.

Pool quantities (:class:`PoolQuantities`, the queueing model's :math:`W`, :math:`H`, slots)
    :math:`t_1 = t_{dec}(1, c)`, :math:`t_2 = t_{dec}(2, c)` at the calibration context
    *c*; :math:`H = t_2 - t_1`, :math:`W = t_1 - H`; the KV capacity in bytes; the
    engine's page size, token budget (the pool's prefill chunk) and sequence cap where
    the model has an engine. The ``measured`` model uses the serving model's pool
    quantities (a profile measures latencies, not the step-time split).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from hetserve.instances import performance as roofline
from hetserve.instances.errors import InstanceError
from hetserve.instances.performance import operating_point

if TYPE_CHECKING:
    from hetserve.instances.catalog import GpuType, ModelSpec, Precision

ROUTE_KEYS = ("fits", "max_batch", "prefill", "delay_at_1", "batch", "delay", "capacity")
"""The arrays :meth:`PerformanceModel.route_metrics` returns, each of shape (I, C)."""


@dataclass(frozen=True)
class Deployment:
    """One replica configuration: model, GPU, weight precision, TP and PP degree."""

    model: ModelSpec
    gpu: GpuType
    precision: Precision
    tp: int
    pp: int


@dataclass(frozen=True)
class QueryShapes:
    """The query types' shapes, each an (I, 1) column."""

    prompt: np.ndarray
    output: np.ndarray
    slo: np.ndarray
    delay_factor: np.ndarray


@dataclass(frozen=True)
class PoolQuantities:
    """What a queueing pool profile needs from a performance model (module docstring)."""

    W: float
    H: float
    kv_capacity_bytes: float
    kv_bytes_per_token: float
    block_size: int | None = None
    """KV page size in tokens (``None``: the caller's default)."""
    chunk: int | None = None
    """Prompt tokens per iteration (``None``: the caller's default)."""
    max_num_seqs: int | None = None
    """Sequence cap (``None``: the caller's default)."""


class PerformanceModel(Protocol):
    """The interface every consumer uses (module docstring)."""

    name: str

    def route_metrics(self, shapes: QueryShapes,
                      deployments: Sequence[Deployment]) -> dict[str, np.ndarray]:
        """Route quantities (:data:`ROUTE_KEYS`, each (I, C)) of every query type and deployment."""
        ...

    def pool_quantities(self, deployment: Deployment, calibration_ctx: int) -> PoolQuantities:
        """W, H and the KV capacity of one replica (raises ``ValueError`` if it cannot serve)."""
        ...


# ------------------------------------------------------------------------ roofline
class RooflineModel:
    """The paper's roofline (:mod:`hetserve.instances.performance`), unchanged."""

    name = "roofline"

    def __init__(self, constants: roofline.PerfConstants) -> None:
        self.constants = constants

    def route_metrics(self, shapes: QueryShapes,
                      deployments: Sequence[Deployment]) -> dict[str, np.ndarray]:
        c = self.constants
        usable_per_gpu = [d.gpu.memory_gb * 1e9 * c.gpu_memory_utilization
                          - c.runtime_reserve_gb * 1e9 for d in deployments]

        def col(values: Any) -> np.ndarray:
            return np.fromiter(values, dtype=float).reshape(1, -1)

        ds = deployments
        return roofline.route_metrics(
            prompt=shapes.prompt, output=shapes.output, slo=shapes.slo,
            max_context=col(d.model.max_context for d in ds),
            weight_bytes=col(d.model.params_b * 1e9 * d.precision.bytes_per_weight for d in ds),
            active_share=col(d.model.active_params_b / d.model.params_b for d in ds),
            active_params=col(d.model.active_params_b * 1e9 for d in ds),
            kv_per_token=col(d.model.kv_bytes_per_token for d in ds),
            layers=col(d.model.layers for d in ds), hidden=col(d.model.hidden for d in ds),
            n=col(d.tp for d in ds), m=col(d.pp for d in ds), usable=col(usable_per_gpu),
            bandwidth=col(d.gpu.bandwidth_gb_s * 1e9 for d in ds),
            flops=col(roofline.matmul_flops(d.gpu, d.precision) for d in ds),
            link_bytes_s=col(d.gpu.link_gb_s * 1e9 for d in ds),
            link_latency_s=col(d.gpu.link_latency_us * 1e-6 for d in ds), c=c,
            prefill_efficiency=col(roofline.prefill_efficiency(d.gpu, d.precision, c) for d in ds),
            delay_factor=shapes.delay_factor)

    def pool_quantities(self, deployment: Deployment, calibration_ctx: int) -> PoolQuantities:
        d, c = deployment, self.constants
        t1 = float(roofline.decode_step_time(d.model, d.gpu, d.precision, d.tp, d.pp, 1,
                                             calibration_ctx, c))
        t2 = float(roofline.decode_step_time(d.model, d.gpu, d.precision, d.tp, d.pp, 2,
                                             calibration_ctx, c))
        H = max(t2 - t1, 0.0)
        return PoolQuantities(
            W=max(t1 - H, 0.0), H=H,
            kv_capacity_bytes=float(roofline.kv_capacity_bytes(d.model, d.gpu, d.precision,
                                                               d.tp, d.pp, c)),
            kv_bytes_per_token=float(roofline.kv_bytes_per_token(d.model)))


# ------------------------------------------------------------------------- serving
class ServingModel:
    """The engine-aware serving model as a steady closed loop (module docstring)."""

    name = "serving"

    def __init__(self, engine: str = "vllm", kv_precision: str = "fp16") -> None:
        from hetserve.instances import serving

        self.engine = serving.engine(engine)
        self.kv_precision = kv_precision

    def replica(self, d: Deployment) -> Any:
        from hetserve.instances import serving

        if d.precision.name not in serving.FORMATS:
            raise InstanceError("perf.model", f"the serving model has no weight format "
                                              f"{d.precision.name!r}; known: {sorted(serving.FORMATS)}")
        return serving.Replica(d.model, d.gpu, d.precision.name, self.kv_precision, d.tp, d.pp,
                               self.engine)

    def round_time(self, replica: Any, prompt: np.ndarray, output: np.ndarray,
                   batch: np.ndarray) -> np.ndarray:
        """D(b): one round of b sequences of (prompt, output) tokens (module docstring)."""
        from hetserve.instances.serving import host_max_rate

        e = replica.engine
        h, f, b = (np.asarray(x, dtype=float) for x in (prompt, output, batch))
        attention = replica.attention_flops(h, 0.0)
        if e.policy == "prefill-first":
            decode = replica.step_time(b, b * (h + f / 2.0), 0.0, b)
            n_pre = np.maximum(1.0, b * h / e.token_budget)
            prefill = replica.step_time(b * h / n_pre, 0.0, b * attention / n_pre, b / n_pre)
            rounds = f * decode + n_pre * prefill
        else:
            steps = np.maximum(f, b * (h + f) / e.token_budget)
            rounds = steps * replica.step_time(b * (h + f) / steps, b * (h + f / 2.0),
                                               b * attention / steps, b)
        # The engine's host side completes at most host_max_rate requests per second
        # (serving.host_ceiling; docs/performance.md "Host ceiling"): b of them per round.
        return np.maximum(rounds, b / host_max_rate(e, f))

    def column(self, d: Deployment, shapes: QueryShapes) -> dict[str, np.ndarray]:
        """Route quantities of one deployment, as (I,) arrays."""
        h, f = shapes.prompt[:, 0], shapes.output[:, 0]
        slo, factor = shapes.slo[:, 0], shapes.delay_factor[:, 0]
        size = h.shape[0]
        try:
            rep = self.replica(d)
            kv_tokens = rep.kv_capacity_tokens
        except InstanceError as exc:
            if exc.field == "perf.model":
                raise
            kv_tokens = 0  # e.g. TP beyond the node: the deployment cannot run
            rep = None
        per_seq = h + (f if self.engine.admission == "reserve" else f / 2.0)
        max_batch = np.minimum(np.floor(kv_tokens / per_seq), self.engine.max_num_seqs)
        fits = (kv_tokens >= h + f) & (h + f <= d.model.max_context) & (max_batch >= 1)
        max_batch = np.where(fits, max_batch, 1.0)
        if rep is None:
            # Finite placeholders (as the roofline gives unfit routes); fits is False.
            big = np.full(size, 1e9)
            return {"fits": np.zeros(size, dtype=bool), "max_batch": np.ones(size),
                    "prefill": big, "delay_at_1": big, "batch": np.ones(size), "delay": big,
                    "capacity": 1.0 / big}
        prefill = rep.step_time(h, 0.0, rep.attention_flops(h, 0.0), 1.0)

        def delay(batch: np.ndarray) -> np.ndarray:
            return factor * self.round_time(rep, h, f, batch)

        at_1, batch, d_star = operating_point(delay, max_batch, slo)
        return {"fits": fits, "max_batch": max_batch, "prefill": prefill, "delay_at_1": at_1,
                "batch": batch, "delay": d_star, "capacity": batch / d_star}

    def route_metrics(self, shapes: QueryShapes,
                      deployments: Sequence[Deployment]) -> dict[str, np.ndarray]:
        return stack([self.column(d, shapes) for d in deployments], shapes.prompt.shape[0])

    def pool_quantities(self, deployment: Deployment, calibration_ctx: int) -> PoolQuantities:
        from hetserve.instances.serving import DoesNotFit

        try:
            rep = self.replica(deployment)
        except DoesNotFit as exc:
            raise ValueError(f"{exc.field}: {exc.reason}") from None
        ctx = float(calibration_ctx)
        t1 = float(rep.step_time(1.0, ctx, 0.0, 1.0))
        t2 = float(rep.step_time(2.0, 2.0 * ctx, 0.0, 2.0))
        H = max(t2 - t1, 0.0)
        e = self.engine
        return PoolQuantities(
            W=max(t1 - H, 0.0), H=H,
            kv_capacity_bytes=float(rep.kv_capacity_tokens) * rep.kv_bytes_per_token,
            kv_bytes_per_token=float(rep.kv_bytes_per_token), block_size=e.kv_block_tokens,
            chunk=e.token_budget, max_num_seqs=e.max_num_seqs)


def stack(columns: list[dict[str, np.ndarray]], rows: int) -> dict[str, np.ndarray]:
    """(I, C) arrays from per-deployment (I,) columns."""
    out: dict[str, np.ndarray] = {}
    for key in ROUTE_KEYS:
        arr = (np.stack([np.broadcast_to(c[key], (rows,)) for c in columns], axis=1)
               if columns else np.zeros((rows, 0)))
        out[key] = arr.astype(bool if key == "fits" else np.int64 if key in ("max_batch", "batch")
                              else float)
    return out


# ------------------------------------------------------------------------ measured
class MeasuredModel:
    """A measured profile where it covers a configuration, the serving model elsewhere."""

    name = "measured"

    def __init__(self, profile: Any, engine: str = "vllm", kv_precision: str = "fp16") -> None:
        self.profile = profile
        self.serving = ServingModel(engine, kv_precision)

    def column(self, d: Deployment, shapes: QueryShapes) -> dict[str, np.ndarray]:
        from hetserve.instances.serving import Case

        engine = self.serving.engine.name
        precision = d.precision.name

        def case(h: float, f: float, b: int) -> Case:
            return Case(model=d.model.name, gpu=d.gpu.name, precision=precision,
                        tp=d.tp, pp=d.pp, isl=max(1, round(h)), osl=max(1, round(f)),
                        concurrency=int(b), engine=engine)

        concurrencies = self.profile.concurrencies(case(1, 1, 1))
        if not concurrencies and precision in ("fp16", "bf16"):
            # fp16 and bf16 weights run at the same speed; a bf16 profile covers fp16 tiers.
            precision = "bf16" if precision == "fp16" else "fp16"
            concurrencies = self.profile.concurrencies(case(1, 1, 1))
        fallback = self.serving.column(d, shapes)
        if not concurrencies:
            return fallback
        size = shapes.prompt.shape[0]
        out: dict[str, list[float]] = {k: [] for k in ROUTE_KEYS}
        for i in range(size):
            h, f = float(shapes.prompt[i, 0]), float(shapes.output[i, 0])
            slo, factor = float(shapes.slo[i, 0]), float(shapes.delay_factor[i, 0])
            cache: dict[int, float] = {}

            def delay(b: int) -> float:
                # NaN where the profile refuses (outside the measured range).
                if b not in cache:
                    est = self.profile.estimate(case(h, f, b)).estimate
                    cache[b] = factor * est.e2e_s if est is not None else float("nan")
                return cache[b]

            lo_c, hi_c = concurrencies[0], concurrencies[-1]
            first = delay(lo_c)
            fits = bool(np.isfinite(first))
            # The smallest measured concurrency stands in for b = 1 (D grows with b, so
            # this bounds D(1) from above); b* is searched over the measured range.
            batch, d_star = lo_c, first
            if fits and first <= slo:
                lo, hi = lo_c, hi_c
                if delay(hi) <= slo:
                    lo = hi
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    value = delay(mid)
                    if np.isfinite(value) and value <= slo:
                        lo = mid
                    else:
                        hi = mid
                batch, d_star = lo, delay(lo)
            if not fits:
                # Refused (no extrapolation): the route does not fit; the serving model's
                # numbers stand in as finite placeholders.
                for key in ROUTE_KEYS:
                    out[key].append(False if key == "fits" else float(fallback[key][i]))
                continue
            est1 = self.profile.estimate(case(h, f, lo_c)).estimate
            out["fits"].append(True)
            out["max_batch"].append(hi_c)
            out["prefill"].append(est1.ttft_s)
            out["delay_at_1"].append(first)
            out["batch"].append(batch)
            out["delay"].append(d_star)
            out["capacity"].append(batch / d_star)
        return {k: np.asarray(v) for k, v in out.items()}

    def route_metrics(self, shapes: QueryShapes,
                      deployments: Sequence[Deployment]) -> dict[str, np.ndarray]:
        return stack([self.column(d, shapes) for d in deployments], shapes.prompt.shape[0])

    def pool_quantities(self, deployment: Deployment, calibration_ctx: int) -> PoolQuantities:
        return self.serving.pool_quantities(deployment, calibration_ctx)


# ------------------------------------------------------------------------ selection
def performance_model(constants: roofline.PerfConstants) -> PerformanceModel:
    """The model an instance's ``perf`` block selects (``model``, ``engine``, ``profile``)."""
    if constants.model == "roofline":
        return RooflineModel(constants)
    if constants.model == "serving":
        return ServingModel(constants.engine, constants.kv_precision)
    from hetserve.instances.profiles import read_profile

    assert constants.profile is not None  # PerfConstants checks it
    return MeasuredModel(read_profile(constants.profile, what="perf.profile"),
                         constants.engine, constants.kv_precision)


def with_selection(constants: roofline.PerfConstants, *, model: str | None = None,
                   engine: str | None = None, profile: str | None = None,
                   kv_precision: str | None = None) -> roofline.PerfConstants:
    """``constants`` with the model selection replaced (``None`` keeps a field; a profile
    implies ``measured``). Raises :class:`InstanceError` naming the CLI flag."""
    from dataclasses import replace

    changes: dict[str, Any] = {}
    if profile is not None:
        if model not in (None, "measured"):
            raise InstanceError("--perf-profile", f"a profile needs --perf-model measured, "
                                                  f"not {model!r}")
        changes.update(model="measured", profile=profile)
    elif model is not None:
        if model == "measured" and constants.profile is None:
            raise InstanceError("--perf-model", "measured needs a profile file (--perf-profile)")
        changes["model"] = model
        if model != "measured":
            changes["profile"] = None
    if engine is not None:
        if changes.get("model", constants.model) == "roofline":
            raise InstanceError("--engine", "the roofline model has no engine; give "
                                            "--perf-model serving or measured")
        changes["engine"] = engine
    if kv_precision is not None:
        if changes.get("model", constants.model) == "roofline" and kv_precision != "fp16":
            raise InstanceError("--kv-precision", "the roofline model has an fp16 KV cache; "
                                                  "give --perf-model serving or measured")
        changes["kv_precision"] = kv_precision
    if not changes:
        return constants
    try:
        return replace(constants, **changes)
    except InstanceError as exc:
        flag = {"perf.model": "--perf-model", "perf.engine": "--engine",
                "perf.profile": "--perf-profile",
                "perf.kv_precision": "--kv-precision"}.get(exc.field, exc.field)
        raise InstanceError(flag, exc.reason) from None
