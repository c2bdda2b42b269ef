r"""Two-phase (prefill + decode) roofline performance model
(docs/semantics.md#performance-model).

For a query type *i* (mean prompt :math:`h`, mean output :math:`f` tokens) served by a
configuration :math:`\gamma = (j, g, p, n, m)` (model, GPU type, weight precision, TP
degree *n*, PP degree *m*; a replica holds *n·m* GPUs) the model gives, from catalog
numbers alone:

Memory
    usable bytes per GPU :math:`U = u_{mem}\,M_g - R`; weights per GPU
    :math:`W/(nm)` with :math:`W = 10^9 P_j \beta_p`; the replica's KV capacity
    :math:`K = nmU - W`; a sequence of type *i* holds :math:`\kappa_j (h+f)` bytes
    (:math:`\kappa_j = 2 L_j H^{kv}_j d_j \cdot 2`), so
    :math:`b_{max} = \min(\lfloor K / (\kappa_j (h+f)) \rfloor, b_{cap})`.

Prefill (compute bound, with a floor of one weight read)
    :math:`t_{pre} = \max\Big(\frac{2 P^{act}_j h + 2 L_j h^2 H_j}{n F_{g,p} \eta_{pre,p}},
    \frac{W}{n\,BW_g\,\eta_{bw}}\Big) + s + 2 L_j\,\mathrm{AR}_n(2hH_j) + (m-1)\,\mathrm{hop}(2hH_j)`,
    where :math:`\eta_{pre,p}` depends on the compute type (8-bit kernels reach a lower
    share of their peak) and
    :math:`\mathrm{AR}_n(B) = \ell_g + 2\frac{n-1}{n}B/\mathrm{link}_g` is a ring
    all-reduce (zero when *n = 1*).

Decode step (*b* sequences in the replica, split into micro-batches of
:math:`\beta = \max(1, b/m)` that fill the *m* pipeline stages)
    :math:`t_{dec}(b) = \max\Big(\frac{W_{read}(\beta) + \beta\,\kappa_j \bar c}{n\,BW_g\,\eta_{bw}},
    \frac{2 P^{act}_j \beta}{n\,F_{g,p}\,\eta_{dec}}\Big) + 2L_j\,\mathrm{AR}_n(2 \beta H_j)
    + (m-1)\,\mathrm{hop}(2\beta H_j) + s`: in one token period every stage serves each
    micro-batch once, so a token costs one full weight read per micro-batch. Mean decode
    context :math:`\bar c = h + f/2`, per-step scheduler overhead *s*, and for MoE models
    the weights a micro-batch touches :math:`W_{read} = W \min(1, (P^{act}/P)\,\beta)`.
    PP does not shorten a token's path (it still crosses every layer) but lets *m*
    micro-batches share the weight reads' latency; it mainly buys memory.

Latency and capacity (continuous batching)
    :math:`D(b) = t_{pre} + f\,t_{dec}(b) + (b-1)\,t_{pre}/m`: the request's own
    prefill, its *f* decode steps, and the stalls from the prefills of the other
    *b − 1* sequences that arrive while it runs (prefill is not overlapped with
    decode in this model). By Little's law a replica sustains
    :math:`\mu(b) = b / D(b)` requests/s.

Operating point
    :math:`b^* = \max\{b \le b_{max} : D(b) \le \Delta_i\}`; the route is infeasible if
    the weights or one sequence's KV do not fit, the context exceeds the model's
    window, or :math:`D(1) > \Delta_i` (the paper's TP-aware feasibility: a larger *n*
    lowers *D* and the memory per GPU, at a higher price).

Every constant is a field of :class:`PerfConstants` with its rationale. The scalar
helpers (:func:`prefill_time`, :func:`decode_step_time`, ...) take catalog objects;
:func:`route_metrics` is the vectorised kernel the instance uses for all routes at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from hetserve.instances.errors import InstanceError, require

if TYPE_CHECKING:
    from hetserve.instances.catalog import GpuType, ModelSpec, Precision


PERF_MODELS = ("roofline", "serving", "measured")
"""Performance models an instance can select (``perf.model``)."""
SELECTION_FIELDS = ("model", "engine", "profile", "kv_precision")
"""The :class:`PerfConstants` fields that select a model rather than set a constant."""


@dataclass(frozen=True)
class PerfConstants:
    """Named constants of the performance model, each with its rationale."""

    gpu_memory_utilization: float = 0.90
    """Share of GPU memory the engine may use: vLLM's ``gpu_memory_utilization`` default."""
    runtime_reserve_gb: float = 1.0
    """Per-GPU activations, CUDA graphs and allocator slack, inside the share above
    (vLLM profiles 0.5–2 GB of peak activations for 1B–70B models)."""
    prefill_efficiency: float = 0.60
    """Achieved fraction of the dense fp16 peak in prefill GEMMs: TensorRT-LLM's published
    A100 fp16 first-token latencies imply 61–69 % (docs/performance.md)."""
    prefill_efficiency_int8: float = 0.40
    """The same for 8-bit compute: TensorRT-LLM's H100 FP8 first-token latencies imply
    33–40 % of the 8-bit peak (docs/performance.md). Used for every native 8- or 4-bit
    tensor-core format (int8, fp8, fp4: no published 4-bit figure sets its own)."""
    decode_efficiency: float = 0.45
    """Achieved fraction of dense peak when decode is compute bound (large batches)."""
    bandwidth_efficiency: float = 0.80
    """Achieved fraction of HBM bandwidth when streaming weights and KV (the vLLM
    semantic-router fleet simulator's profile builder uses 0.80)."""
    step_overhead_s: float = 0.0015
    """Per decode step CPU overhead (scheduling, sampling, kernel launch): 1–3 ms in vLLM."""
    pp_hop_latency_us: float = 20.0
    """Latency of one pipeline-stage boundary (send/recv of activations)."""
    kv_network_gb_s: float = 50.0
    """Per-GPU network bandwidth for prefill→decode KV transfer between nodes or GPU types
    (docs/pd.md): one 400 Gb/s RDMA NIC per GPU (InfiniBand NDR / ConnectX-7, the
    DGX H100 compute fabric)."""
    kv_network_latency_us: float = 20.0
    """Fixed cost of one KV transfer between nodes: RDMA completion plus the transfer
    engine's per-request bookkeeping (an order of magnitude, not a measurement)."""
    max_num_seqs: int = 256
    """Cap on concurrent sequences per replica: vLLM's ``max_num_seqs`` default."""
    model: str = "roofline"
    """Which performance model computes the routes and pool profiles
    (:mod:`hetserve.instances.perf_model`): ``roofline`` (this module, the paper's),
    ``serving`` (the engine-aware model of :mod:`hetserve.instances.serving`) or
    ``measured`` (a profile file, the serving model for configurations it does not cover)."""
    engine: str = "vllm"
    """Engine whose scheduling the ``serving`` and ``measured`` models assume."""
    profile: str | None = None
    """Measured-profile file of the ``measured`` model (docs/performance.md)."""
    kv_precision: str = "fp16"
    """KV-cache format of the ``serving`` and ``measured`` models (``fp16``, ``bf16``,
    ``fp8``: vLLM's ``--kv-cache-dtype``); the roofline keeps the paper's fp16 cache."""

    def __post_init__(self) -> None:
        require(self.model in PERF_MODELS, "perf.model",
                f"unknown performance model {self.model!r}; known: {list(PERF_MODELS)}")
        from hetserve.instances.serving import ENGINES

        require(self.engine in ENGINES, "perf.engine",
                f"unknown engine {self.engine!r}; known: {sorted(ENGINES)}")
        require((self.profile is not None) == (self.model == "measured"), "perf.profile",
                "a profile file is given exactly when perf.model is 'measured'")
        from hetserve.instances.serving import KV_FORMATS

        require(self.kv_precision in KV_FORMATS, "perf.kv_precision",
                f"unknown KV precision {self.kv_precision!r}; known: {list(KV_FORMATS)}")
        require(self.model != "roofline" or self.kv_precision == "fp16", "perf.kv_precision",
                "the roofline model has an fp16 KV cache; give perf.model serving or measured")
        for f in fields(self):
            if f.name in SELECTION_FIELDS:
                continue
            value = getattr(self, f.name)
            require(isinstance(value, (int, float)) and value > 0, f"perf.{f.name}",
                    f"must be a positive number, got {value!r}")
        require(self.gpu_memory_utilization <= 1.0, "perf.gpu_memory_utilization", "must be <= 1")
        for name in ("prefill_efficiency", "decode_efficiency", "bandwidth_efficiency"):
            require(getattr(self, name) <= 1.0, f"perf.{name}", "must be <= 1")

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> PerfConstants:
        if not d:
            return cls()
        known = {f.name for f in fields(cls)}
        for key in d:
            if key not in known:
                raise InstanceError(f"perf.{key}", f"unknown constant; known: {sorted(known)}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        """The instance's ``perf`` block; the model selection only when it is not the default
        roofline (so a roofline instance's JSON is what it was before the selection existed)."""
        out = asdict(self)
        if self.model == "roofline":
            for name in SELECTION_FIELDS:
                out.pop(name)
        else:
            if self.profile is None:
                out.pop("profile")
            if self.kv_precision == "fp16":
                out.pop("kv_precision")  # the default, as in files written before it existed
        return out

    @property
    def is_default_model(self) -> bool:
        return self.model == "roofline"


# --------------------------------------------------------------------------- kernels
# All kernels broadcast over numpy arrays; units are bytes, FLOP, seconds.


def _allreduce_s(n: Any, nbytes: Any, link_bytes_s: Any, latency_s: Any) -> Any:
    n = np.asarray(n, dtype=float)
    ring = latency_s + 2.0 * (n - 1.0) / n * nbytes / link_bytes_s
    return np.where(n > 1, ring, 0.0)


def _hops_s(m: Any, nbytes: Any, link_bytes_s: Any, c: PerfConstants) -> Any:
    m = np.asarray(m, dtype=float)
    return (m - 1.0) * (c.pp_hop_latency_us * 1e-6 + nbytes / link_bytes_s)


def prefill_kernel(*, active_params: Any, layers: Any, hidden: Any, prompt: Any, n: Any,
                   m: Any, flops: Any, link_bytes_s: Any, link_latency_s: Any,
                   c: PerfConstants, weight_bytes: Any = 0.0, bandwidth: Any = np.inf,
                   efficiency: Any = None) -> Any:
    """Prefill time (s) of one request of ``prompt`` tokens.

    ``efficiency`` is the achieved share of ``flops`` (default: the fp16 prefill
    efficiency); short prompts are floored by one read of the weights.
    """
    eff = c.prefill_efficiency if efficiency is None else efficiency
    compute = (2.0 * active_params * prompt + 2.0 * layers * prompt**2 * hidden) / (n * flops * eff)
    floor = weight_bytes / (n * bandwidth * c.bandwidth_efficiency)
    act_bytes = 2.0 * prompt * hidden
    comm = 2.0 * layers * _allreduce_s(n, act_bytes, link_bytes_s, link_latency_s)
    return np.maximum(compute, floor) + c.step_overhead_s + comm + _hops_s(m, act_bytes,
                                                                           link_bytes_s, c)


def decode_kernel(*, weight_bytes: Any, active_share: Any, active_params: Any, kv_per_token: Any,
                  context: Any, batch: Any, layers: Any, hidden: Any, n: Any, m: Any,
                  bandwidth: Any, flops: Any, link_bytes_s: Any, link_latency_s: Any,
                  c: PerfConstants) -> Any:
    """Time (s) of one decode step with ``batch`` sequences in the replica."""
    # Fewer sequences than stages leaves stages idle; a token still crosses every stage.
    micro = np.maximum(1.0, batch / m)
    weights_read = weight_bytes * np.minimum(1.0, active_share * micro)
    memory = (weights_read + micro * kv_per_token * context) / (n * bandwidth * c.bandwidth_efficiency)
    compute = 2.0 * active_params * micro / (n * flops * c.decode_efficiency)
    act_bytes = 2.0 * micro * hidden
    comm = 2.0 * layers * _allreduce_s(n, act_bytes, link_bytes_s, link_latency_s)
    return np.maximum(memory, compute) + comm + _hops_s(m, act_bytes, link_bytes_s, c) + c.step_overhead_s


def latency_kernel(t_pre: Any, t_dec: Any, output: Any, batch: Any, m: Any) -> Any:
    """Mean end-to-end latency D(b) (s): own prefill, decode, stalls from co-runners' prefills."""
    return t_pre + output * t_dec + (batch - 1.0) * t_pre / m


# ------------------------------------------------------------ catalog-object helpers


def native_low_precision(gpu: GpuType, precision: Precision) -> bool:
    """True when the weight matmuls run on the GPU's 8- or 4-bit tensor cores (int8 always;
    fp8 and fp4 where the GPU has that peak, else weight-only at the FP16 peak)."""
    return precision.compute != "fp16" and gpu.tensor_peak(precision.compute)[1]


def matmul_flops(gpu: GpuType, precision: Precision) -> float:
    """Dense peak (FLOP/s per GPU) the weight matmuls run at: the GPU's tensor peak for the
    precision's compute format, the FP16 peak for fp16/int4 and for an FP8/FP4 format the GPU
    lacks (weight-only dequantisation; :meth:`GpuType.tensor_peak`, docs/catalog.md §4)."""
    return gpu.tensor_peak(precision.compute)[0] * 1e12


def prefill_efficiency(gpu: GpuType, precision: Precision, c: PerfConstants) -> float:
    """Share of :func:`matmul_flops` prefill GEMMs reach: ``prefill_efficiency_int8`` on 8-
    and 4-bit tensor cores, ``prefill_efficiency`` on the FP16 path."""
    return c.prefill_efficiency_int8 if native_low_precision(gpu, precision) else c.prefill_efficiency


def weight_bytes(model: ModelSpec, precision: Precision) -> float:
    """Bytes of the model's weights at this precision."""
    return model.params_b * 1e9 * precision.bytes_per_weight


def kv_bytes_per_token(model: ModelSpec) -> float:
    """KV-cache bytes one token occupies (fp16 cache)."""
    return model.kv_bytes_per_token


def usable_bytes_per_gpu(gpu: GpuType, c: PerfConstants) -> float:
    return gpu.memory_gb * 1e9 * c.gpu_memory_utilization - c.runtime_reserve_gb * 1e9


def kv_capacity_bytes(model: ModelSpec, gpu: GpuType, precision: Precision, tp: int, pp: int,
                      c: PerfConstants | None = None) -> float:
    """KV-cache bytes a replica can hold (negative when the weights do not fit)."""
    c = c or PerfConstants()
    return tp * pp * usable_bytes_per_gpu(gpu, c) - weight_bytes(model, precision)


def prefill_time(model: ModelSpec, gpu: GpuType, precision: Precision, tp: int, pp: int,
                 prompt_tokens: Any, c: PerfConstants | None = None) -> Any:
    c = c or PerfConstants()
    return prefill_kernel(
        active_params=model.active_params_b * 1e9, layers=model.layers, hidden=model.hidden,
        prompt=np.asarray(prompt_tokens, dtype=float), n=tp, m=pp, flops=matmul_flops(gpu, precision),
        link_bytes_s=gpu.link_gb_s * 1e9, link_latency_s=gpu.link_latency_us * 1e-6, c=c,
        weight_bytes=weight_bytes(model, precision), bandwidth=gpu.bandwidth_gb_s * 1e9,
        efficiency=prefill_efficiency(gpu, precision, c))


def decode_step_time(model: ModelSpec, gpu: GpuType, precision: Precision, tp: int, pp: int,
                     batch: Any, context_tokens: Any, c: PerfConstants | None = None) -> Any:
    c = c or PerfConstants()
    return decode_kernel(
        weight_bytes=weight_bytes(model, precision),
        active_share=model.active_params_b / model.params_b,
        active_params=model.active_params_b * 1e9, kv_per_token=model.kv_bytes_per_token,
        context=np.asarray(context_tokens, dtype=float), batch=np.asarray(batch, dtype=float),
        layers=model.layers, hidden=model.hidden, n=tp, m=pp,
        bandwidth=gpu.bandwidth_gb_s * 1e9, flops=matmul_flops(gpu, precision),
        link_bytes_s=gpu.link_gb_s * 1e9, link_latency_s=gpu.link_latency_us * 1e-6, c=c)


@dataclass(frozen=True)
class RoutePerformance:
    """Performance of one (query shape, configuration) pair."""

    fits: bool
    max_batch: int
    prefill_s: float
    delay_at_1_s: float
    batch: int
    delay_s: float
    capacity_rps: float


def route_performance(model: ModelSpec, gpu: GpuType, precision: Precision, tp: int, pp: int,
                      prompt_tokens: float, output_tokens: float, delay_slo_s: float,
                      c: PerfConstants | None = None) -> RoutePerformance:
    """Scalar convenience wrapper around :func:`route_metrics` (docs, tests, the CLI)."""
    c = c or PerfConstants()
    out = route_metrics(
        prompt=np.array([[prompt_tokens]]), output=np.array([[output_tokens]]),
        slo=np.array([[delay_slo_s]]), max_context=np.array([[model.max_context]]),
        weight_bytes=np.array([[weight_bytes(model, precision)]]),
        active_share=np.array([[model.active_params_b / model.params_b]]),
        active_params=np.array([[model.active_params_b * 1e9]]),
        kv_per_token=np.array([[model.kv_bytes_per_token]]),
        layers=np.array([[model.layers]]), hidden=np.array([[model.hidden]]),
        n=np.array([[tp]]), m=np.array([[pp]]),
        usable=np.array([[usable_bytes_per_gpu(gpu, c)]]),
        bandwidth=np.array([[gpu.bandwidth_gb_s * 1e9]]), flops=np.array([[matmul_flops(gpu, precision)]]),
        link_bytes_s=np.array([[gpu.link_gb_s * 1e9]]),
        link_latency_s=np.array([[gpu.link_latency_us * 1e-6]]), c=c,
        prefill_efficiency=np.array([[prefill_efficiency(gpu, precision, c)]]))
    return RoutePerformance(
        fits=bool(out["fits"][0, 0]), max_batch=int(out["max_batch"][0, 0]),
        prefill_s=float(out["prefill"][0, 0]), delay_at_1_s=float(out["delay_at_1"][0, 0]),
        batch=int(out["batch"][0, 0]), delay_s=float(out["delay"][0, 0]),
        capacity_rps=float(out["capacity"][0, 0]))


def operating_point(delay: Callable[[np.ndarray], np.ndarray], max_batch: np.ndarray,
                    slo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(D(1), b*, D(b*)): the largest integer b in [1, max_batch] with D(b) <= slo, by
    bisection (``delay`` must increase in b; docs/semantics.md); b* = 1 where even D(1) misses."""
    shape = max_batch.shape
    delay_at_1 = delay(np.ones(shape))
    lo, hi = np.ones(shape), max_batch.astype(float)
    ok_hi = delay(hi) <= slo
    lo = np.where(ok_hi, hi, lo)
    active = ~ok_hi & (delay_at_1 <= slo)
    while np.any(active & (hi - lo > 1)):
        mid = np.floor((lo + hi) / 2.0)
        ok = delay(mid) <= slo
        lo = np.where(active & ok, mid, lo)
        hi = np.where(active & ~ok, mid, hi)
    batch = np.where(delay_at_1 <= slo, lo, 1.0)
    return delay_at_1, batch, delay(batch)


def route_metrics(*, prompt: np.ndarray, output: np.ndarray, slo: np.ndarray,
                  max_context: np.ndarray, weight_bytes: np.ndarray, active_share: np.ndarray,
                  active_params: np.ndarray, kv_per_token: np.ndarray, layers: np.ndarray,
                  hidden: np.ndarray, n: np.ndarray, m: np.ndarray, usable: np.ndarray,
                  bandwidth: np.ndarray, flops: np.ndarray, link_bytes_s: np.ndarray,
                  link_latency_s: np.ndarray, c: PerfConstants,
                  prefill_efficiency: np.ndarray | float | None = None,
                  delay_factor: np.ndarray | float = 1.0) -> dict[str, np.ndarray]:
    """Vectorised performance of every route; inputs broadcast to one (I, C) shape.

    ``delay_factor`` multiplies every latency (stress inflation); the operating point b*
    is then the largest batch whose inflated latency meets the SLO.

    Returns arrays ``fits`` (memory and context), ``max_batch``, ``prefill``,
    ``delay_at_1``, ``batch`` (b*, 1 where ``D(1) > Δ``), ``delay`` (D(b*)) and
    ``capacity`` (μ = b*/D(b*) req/s per replica).
    """
    shape = np.broadcast_shapes(prompt.shape, n.shape)
    seq_bytes = kv_per_token * (prompt + output)
    kv_capacity = n * m * usable - weight_bytes
    with np.errstate(divide="ignore", invalid="ignore"):
        max_batch = np.floor(np.where(kv_capacity > 0, kv_capacity / seq_bytes, 0.0))
    max_batch = np.minimum(max_batch, c.max_num_seqs)
    fits = (max_batch >= 1) & (prompt + output <= max_context) & (weight_bytes / (n * m) < usable)
    max_batch = np.broadcast_to(np.where(fits, max_batch, 1.0), shape)
    t_pre = np.broadcast_to(prefill_kernel(
        active_params=active_params, layers=layers, hidden=hidden, prompt=prompt, n=n, m=m,
        flops=flops, link_bytes_s=link_bytes_s, link_latency_s=link_latency_s, c=c,
        weight_bytes=weight_bytes, bandwidth=bandwidth, efficiency=prefill_efficiency), shape)
    context = prompt + output / 2.0

    def delay(batch: np.ndarray) -> np.ndarray:
        t_dec = decode_kernel(
            weight_bytes=weight_bytes, active_share=active_share, active_params=active_params,
            kv_per_token=kv_per_token, context=context, batch=batch, layers=layers,
            hidden=hidden, n=n, m=m, bandwidth=bandwidth, flops=flops,
            link_bytes_s=link_bytes_s, link_latency_s=link_latency_s, c=c)
        return delay_factor * latency_kernel(t_pre, t_dec, output, batch, m)

    delay_at_1, batch, d_star = operating_point(delay, max_batch, slo)
    delay_at_1 = np.broadcast_to(delay_at_1, shape)
    return {
        "fits": np.broadcast_to(fits, shape),
        "max_batch": max_batch.astype(np.int64),
        "prefill": t_pre,
        "delay_at_1": delay_at_1,
        "batch": batch.astype(np.int64),
        "delay": d_star,
        "capacity": batch / d_star,
    }


# ------------------------------------------------------------- TTFT under load
def ttft_under_load(model: ModelSpec, gpu: GpuType, precision: str, tp: int, pp: int,
                    prompt_tokens: int, output_tokens: int, *, rate_rps: float | None = None,
                    concurrency: int | None = None, engine: str = "vllm",
                    kv_precision: str = "fp16") -> float:
    """Mean time to first token (s) of a replica under load (docs/performance.md).

    Give exactly one of ``rate_rps`` (Poisson arrivals, analytic M/D/1 prompt queue:
    :func:`hetserve.instances.serving.ttft_poisson`; ``inf`` when the replica is
    overloaded) or ``concurrency`` (a closed loop of that many clients:
    :func:`hetserve.instances.serving.closed_loop`). ``precision`` and ``kv_precision``
    are format names (``fp16``, ``bf16``, ``fp8``, ``int8``, ``int4``, ``fp4``); ``engine``
    names a profile in :data:`hetserve.instances.serving.ENGINES`. Raises
    :class:`~hetserve.instances.serving.DoesNotFit` when one request cannot fit.
    """
    from hetserve.instances import serving

    require((rate_rps is None) != (concurrency is None), "rate_rps",
            "give exactly one of rate_rps and concurrency")
    replica = serving.Replica(model, gpu, precision, kv_precision, tp, pp, serving.engine(engine))
    if rate_rps is not None:
        return serving.ttft_poisson(replica, prompt_tokens, output_tokens, rate_rps).ttft_s
    return serving.closed_loop(replica, prompt_tokens, output_tokens, int(concurrency or 0)).ttft_s
