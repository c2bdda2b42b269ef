r"""Serving model: what a continuous-batching engine shows under load (docs/performance.md).

The roofline model of :mod:`hetserve.instances.performance` gives the time of one
prefill and one decode step in isolation. A serving engine runs *iterations* ("steps")
that mix the decode tokens of running sequences with prompt tokens of new ones, under a
per-step token budget, a sequence cap and a paged KV cache. The time to first token a
client sees is therefore mostly the prefills scheduled ahead of or alongside its own.
This module models that directly.

Step time
    A step with :math:`T` new tokens (decode tokens plus prompt chunks), reading the KV
    of :math:`\Sigma c` context tokens and doing :math:`A` attention FLOP for its prompt
    chunks, on a replica of TP degree *n* (PP *m*), costs

    .. math::
        t = \max\Big(\frac{W_{read} + \kappa\,\Sigma c}{n\,BW\,\eta_{bw}},\;
                     \frac{2P^{act}T}{n F_p \eta_p} + \frac{A}{n F_{16}\eta_{16}}\Big)
            + 2L\,\big(\ell_n + 2\tfrac{n-1}{n}\tfrac{2TH}{\eta_{ar}\,\mathrm{link}}\big)
            + (m-1)\,\mathrm{hop} + s_e,

    with the all-reduce latency :math:`\ell_n = \ell_g + 2(n-1)\,\ell_{hop}` (a ring
    all-reduce pays a latency per step, :math:`2(n-1)` steps: 12 µs at TP2, 36 µs at TP8 on
    NVLink with the shipped 2 µs per step), the bus bandwidth an all-reduce reaches,
    :math:`\eta_{ar}` of the link (``allreduce_bandwidth_efficiency``), and the engine's
    per-step host cost :math:`s_e` (scheduling, sampling, launch).

Engine scheduling (:class:`EngineProfile`, one per engine, defaults of the named version)
    ``chunked`` (vLLM V1): every step serves all running decodes first, then fills the
    remaining token budget with prompt chunks in arrival order.
    ``inflight`` (TensorRT-LLM, chunked context off by default): decodes plus whole
    prompts, first come first served, while the budget lasts.
    ``prefill-first`` (SGLang): when requests wait and memory allows, a prefill-only
    step of up to the budget runs and decodes pause.

KV cache
    Paged by *actual* tokens (blocks of ``kv_block_tokens``) for ``chunked`` and
    ``prefill-first``: a sequence grows block by block and the newest running sequence
    is preempted (recomputed later) when the pool runs out. ``inflight`` engines
    reserve prompt + full output at admission (TensorRT-LLM's GUARANTEED_NO_EVICT).
    The KV dtype (fp16 or fp8) is chosen separately from the weight precision.

Closed loop (:func:`closed_loop`)
    *C* clients each send a request of ``isl`` prompt and ``osl`` output tokens and
    the next one as soon as the last finishes, as aiperf or vLLM's ``benchmark_serving``
    do in concurrency mode. The engine is simulated step by step (pure-decode stretches
    are advanced in one vectorised jump) and the means over every request of the run
    are reported, as those tools report them. TTFT: each client's first request is the
    simulated start-up burst; later requests see a desynchronised engine (Poisson arrivals
    at the loop's throughput, plus one interval between completions where the engine's
    first token waits for a completion), see :func:`closed_loop`. Engines with a host
    ceiling (TensorRT-LLM) then queue requests in front of the host side, which completes
    at most ``host_max_rps`` requests and ``host_max_tok_s`` output tokens per second
    (:func:`host_ceiling`).

Poisson arrivals (:func:`ttft_poisson`)
    Open-loop arrivals at rate λ: the decode population follows from Little's law, the
    step time from the mix it implies, and the prompt queue is an M/D/1 queue whose
    server is the token budget left over by decodes. Engines with a host ceiling also
    queue at the host side, the open-stream limit of the closed loop's host queue
    (:func:`host_wait_open`); at λ at or above the ceiling the stream is unstable.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hetserve.instances import fields
from hetserve.instances.errors import InstanceError, require

if TYPE_CHECKING:
    from hetserve.instances.catalog import GpuType, ModelSpec


# ------------------------------------------------------------------------ formats
@dataclass(frozen=True)
class NumberFormat:
    """A weight or KV-cache number format: bytes per element and the tensor peak it uses.

    ``peak`` names the GPU peak the matrix work runs at: ``"fp16"`` (also bf16 and
    weight-only formats, which dequantise to fp16 before the matmul), ``"int8"``,
    ``"fp8"`` or ``"fp4"``. A GPU without the format's peak falls back to weight-only
    use (fp16 compute, the bytes still shrink), which is what engines do (e.g. vLLM's
    Marlin FP8 kernels on A100).
    """

    name: str
    bytes_per_element: float
    peak: str
    accuracy_recovery: float = 1.0
    """Share of the bf16 model's benchmark score kept with weights in this format
    (published quantisation studies, docs/catalog.md §4): a score *s* becomes
    ``accuracy_recovery · s``."""


FORMATS: dict[str, NumberFormat] = {
    f.name: f for f in (
        NumberFormat("fp16", 2.0, "fp16", 1.0),
        NumberFormat("bf16", 2.0, "fp16", 1.0),
        NumberFormat("fp8", 1.0, "fp8", 0.995),
        NumberFormat("int8", 1.0, "int8", 0.99),  # W8A8 (SmoothQuant-style)
        NumberFormat("int4", 0.5, "fp16", 0.98),  # AWQ/GPTQ W4A16: weight-only, fp16 matmul
        NumberFormat("fp4", 0.5625, "fp4", 0.98),  # NVFP4: 4-bit values + an fp8 scale per 16
    )
}
KV_FORMATS = ("fp16", "bf16", "fp8")


# ------------------------------------------------------------------------ engines
@dataclass(frozen=True)
class EngineProfile:
    """Scheduling and memory defaults of one serving engine (a named version).

    Every field is an engine *setting* with its documented default, except
    ``step_overhead_s`` (host time per step), which engines do not document and which
    docs/performance.md derives from low-concurrency TP1 decode steps, and
    ``first_token_wait``, read from the calibration set (docs/performance.md, "TTFT under
    load").
    """

    name: str
    version: str
    policy: str
    """``chunked``, ``inflight`` or ``prefill-first`` (module docstring)."""
    token_budget: int
    """Most new tokens one step may carry (vLLM ``max_num_batched_tokens``, TensorRT-LLM
    ``max_num_tokens``, SGLang ``chunked_prefill_size``)."""
    max_num_seqs: int
    """Most sequences running at once."""
    kv_block_tokens: int
    """Tokens per KV page."""
    memory_fraction: float
    """Share of GPU memory the engine may use (weights + KV + activations)."""
    memory_of_free: bool
    """True if ``memory_fraction`` applies to the memory left after the weights
    (TensorRT-LLM ``free_gpu_memory_fraction``), False if to the whole GPU."""
    step_overhead_s: float
    admission: str
    """``actual`` (pages by actual tokens, preempt on exhaustion) or ``reserve``
    (reserve prompt + max output at admission, never preempt)."""
    source: str = ""
    first_token_wait: str = "step"
    """When a closed-loop request that arrives while the engine runs starts: ``step`` (at
    the next step boundary) or ``completion`` (after the next request completes, i.e. one
    interval between completions later; read from the calibration set's TensorRT-LLM runs,
    docs/performance.md "TTFT under load")."""
    host_max_rps: float = math.inf
    """Most requests per second the server's host side (HTTP front end, tokeniser, request
    bookkeeping) completes, whatever the GPUs do; ``inf``: no limit (:func:`host_ceiling`)."""
    host_max_tok_s: float = math.inf
    """Most output tokens per second the host side streams (detokenise and send each token);
    ``inf``: no limit. Both read from the calibration set's TensorRT-LLM runs
    (docs/performance.md, "Host ceiling")."""

    def __post_init__(self) -> None:
        where = f"engine {self.name!r}"
        require(self.policy in ("chunked", "inflight", "prefill-first"), f"{where}.policy",
                f"unknown policy {self.policy!r}")
        require(self.admission in ("actual", "reserve"), f"{where}.admission",
                f"unknown admission {self.admission!r}")
        require(self.first_token_wait in ("step", "completion"), f"{where}.first_token_wait",
                f"unknown first_token_wait {self.first_token_wait!r}")
        for name in ("token_budget", "max_num_seqs", "kv_block_tokens"):
            require(getattr(self, name) >= 1, f"{where}.{name}", "must be >= 1")
        require(0 < self.memory_fraction <= 1, f"{where}.memory_fraction", "must be in (0, 1]")
        require(self.step_overhead_s >= 0, f"{where}.step_overhead_s", "must be >= 0")
        for name in ("host_max_rps", "host_max_tok_s"):
            require(getattr(self, name) > 0, f"{where}.{name}", "must be > 0")


ENGINES: dict[str, EngineProfile] = {
    e.name: e for e in (
        EngineProfile(
            name="vllm", version="0.12", policy="chunked", token_budget=8192,
            max_num_seqs=1024, kv_block_tokens=16, memory_fraction=0.90, memory_of_free=False,
            step_overhead_s=0.0015, admission="actual",
            source="vLLM V1 engine defaults for `vllm serve` on >=70 GiB GPUs: chunked prefill "
                   "always on, max_num_batched_tokens 8192, max_num_seqs 1024, block_size 16, "
                   "gpu_memory_utilization 0.90, recompute preemption (docs/performance.md)"),
        EngineProfile(
            name="sglang", version="0.5", policy="prefill-first", token_budget=8192,
            max_num_seqs=4096, kv_block_tokens=1, memory_fraction=0.88, memory_of_free=False,
            step_overhead_s=0.0015, admission="actual",
            source="SGLang server defaults on 80 GB GPUs: chunked_prefill_size 8192, "
                   "mem_fraction_static ~0.88, page_size 1, prefill batches run before "
                   "decode unless --enable-mixed-chunk, retraction on exhaustion"),
        EngineProfile(
            name="trtllm", version="1.0", policy="inflight", token_budget=8192,
            max_num_seqs=2048, kv_block_tokens=32, memory_fraction=0.90, memory_of_free=True,
            step_overhead_s=0.0005, admission="reserve",
            source="TensorRT-LLM trtllm-serve (PyTorch backend) defaults: max_num_tokens 8192, "
                   "max_batch_size 2048, chunked context off, tokens_per_block 32, "
                   "free_gpu_memory_fraction 0.90, GUARANTEED_NO_EVICT capacity scheduler",
            first_token_wait="completion", host_max_rps=36.0, host_max_tok_s=9200.0),
    )
}


def engines_with(*, max_num_seqs: int | None = None,
                 token_budget: int | None = None) -> dict[str, EngineProfile]:
    """The shipped engine profiles with engine settings replaced (``None`` keeps a default)."""
    changes: dict[str, Any] = {}
    if max_num_seqs is not None:
        changes["max_num_seqs"] = max_num_seqs
    if token_budget is not None:
        changes["token_budget"] = token_budget
    return {name: replace(e, **changes) for name, e in ENGINES.items()}


def engine(name: str) -> EngineProfile:
    """The profile of a named engine (``vllm``, ``sglang``, ``trtllm``)."""
    if name not in ENGINES:
        raise InstanceError("engine", f"unknown engine {name!r}; known: {sorted(ENGINES)}")
    return ENGINES[name]


# -------------------------------------------------------------------- constants
@dataclass(frozen=True)
class ServingConstants:
    """Hardware-efficiency constants of the serving model (each a physical share)."""

    gemm_efficiency_fp16: float = 0.60
    """Share of the dense fp16 peak large GEMMs reach (docs/performance.md, TensorRT-LLM
    A100 first-token latencies imply 61–69 %)."""
    gemm_efficiency_low: float = 0.48
    """The same for 8-bit and 4-bit compute. Read from the calibration set's FP8 runs
    (TensorRT-LLM 1.0 Qwen3-32B, vLLM Llama-3.1-70B): chosen from 0.40-0.60 by the mean of the
    TTFT, TPOT and end-to-end shares within ±25 %, and 0.44-0.48 in nine of ten
    leave-one-group-out folds (docs/performance-history.md, "Round 3"). Above the 33-40 % that
    TensorRT-LLM v0.5's published batch-1 H100 FP8 first-token latencies (2023) imply, the
    value used before; 48 % of the dense FP8 peak is ~950 TFLOPS on an H100."""
    bandwidth_efficiency: float = 0.80
    """Share of HBM bandwidth reached streaming weights and KV."""
    allreduce_hop_us: float = 2.0
    """Latency per ring step of a small all-reduce, on top of the link latency (a ring
    all-reduce takes 2(n-1) steps). The one constant read from the calibration set's TP
    scaling (1-3 µs tried; leave-one-engine/model-out in results/fidelity/summary.md,
    docs/performance.md): 2 µs gives 12 µs at TP2 and 36 µs at TP8 on NVLink."""
    allreduce_bandwidth_efficiency: float = 0.81
    """Bus bandwidth a ring all-reduce reaches, as a share of the link's per-direction
    bandwidth (``GpuType.link_gb_s``). nccl-tests on 4x H100 SXM (NVSwitch) measure an
    all-reduce bus bandwidth of about 366 GB/s at large messages (waynehacking8, "Where
    tensor-parallel inference hits the NVLink wall", blog post, 2026-05-31,
    https://waynehacking8.github.io/blog/nccl-nvlink-bandwidth/): 366 / 450 = 0.81 of
    NVLink4. Prefill all-reduces (10-130 MB each in the calibration set) are in that regime; decode's tiny
    ones are latency-bound (``allreduce_hop_us``). Not read from the calibration set."""
    pp_hop_latency_us: float = 20.0
    """Latency of one pipeline-stage boundary (send/recv of activations)."""
    runtime_reserve_gb: float = 1.0
    """Per-GPU activations, CUDA graphs and allocator slack."""

    def __post_init__(self) -> None:
        for name in ("gemm_efficiency_fp16", "gemm_efficiency_low", "bandwidth_efficiency",
                     "allreduce_bandwidth_efficiency"):
            v = getattr(self, name)
            require(0 < v <= 1, f"serving.{name}", f"must be in (0, 1], got {v!r}")
        for name in ("allreduce_hop_us", "pp_hop_latency_us", "runtime_reserve_gb"):
            require(getattr(self, name) >= 0, f"serving.{name}", "must be >= 0")


class DoesNotFit(InstanceError):
    """The configuration cannot serve even one request of this shape."""


# ------------------------------------------------------------------- the replica
@dataclass(frozen=True)
class Replica:
    """One serving replica: model, GPU, number formats, parallelism and engine."""

    model: ModelSpec
    gpu: GpuType
    weights: str = "fp16"
    kv: str = "fp16"
    tp: int = 1
    pp: int = 1
    engine: EngineProfile = field(default_factory=lambda: ENGINES["vllm"])
    constants: ServingConstants = field(default_factory=ServingConstants)

    def __post_init__(self) -> None:
        require(self.weights in FORMATS, "precision", f"unknown weight precision "
                f"{self.weights!r}; known: {sorted(FORMATS)}")
        require(self.kv in KV_FORMATS, "kv_precision",
                f"unknown KV precision {self.kv!r}; known: {list(KV_FORMATS)}")
        require(self.tp >= 1 and self.pp >= 1, "tp", "tp and pp must be >= 1")
        if self.tp > self.gpu.gpus_per_node:
            raise DoesNotFit("tp", f"TP {self.tp} exceeds the {self.gpu.gpus_per_node} GPUs "
                                   f"of a {self.gpu.name} node")
        shard_error = self.model.tp_shard_error(self.tp)
        if shard_error:
            raise DoesNotFit("tp", shard_error)

    # -- derived quantities
    @property
    def gpus(self) -> int:
        return self.tp * self.pp

    @property
    def weight_bytes(self) -> float:
        return self.model.params_b * 1e9 * FORMATS[self.weights].bytes_per_element

    @property
    def kv_bytes_per_token(self) -> float:
        """Cache bytes per token at the KV dtype (the catalog's figure is for fp16)."""
        return self.model.kv_bytes_per_token * FORMATS[self.kv].bytes_per_element / 2.0

    @property
    def kv_shards(self) -> int:
        """GPUs a token's KV is split over: PP splits the layers; TP splits the KV heads
        (replicated once TP exceeds them), and an MLA latent is replicated on every TP rank."""
        m = self.model
        tp_split = 1 if m.kv_latent_dim is not None else min(self.tp, m.kv_heads)
        return tp_split * self.pp

    @property
    def kv_bytes_per_token_per_gpu(self) -> float:
        return self.kv_bytes_per_token / self.kv_shards

    @property
    def gemm_peak(self) -> tuple[float, float]:
        """(FLOP/s per GPU, efficiency) of the weight matmuls at this precision."""
        tflops, native = self.gpu.tensor_peak(FORMATS[self.weights].peak)
        low = native and FORMATS[self.weights].peak != "fp16"
        c = self.constants
        return tflops * 1e12, (c.gemm_efficiency_low if low else c.gemm_efficiency_fp16)

    @property
    def native_precision(self) -> bool:
        """False when the GPU lacks the format's tensor peak (weight-only fallback)."""
        return self.gpu.tensor_peak(FORMATS[self.weights].peak)[1]

    @property
    def kv_capacity_tokens(self) -> int:
        """Tokens the replica's KV pool holds (0 if the weights do not fit)."""
        e, c = self.engine, self.constants
        per_gpu = self.gpu.memory_gb * 1e9
        weights = self.weight_bytes / self.gpus
        if e.memory_of_free:
            free = e.memory_fraction * (per_gpu - weights) - c.runtime_reserve_gb * 1e9
        else:
            free = e.memory_fraction * per_gpu - weights - c.runtime_reserve_gb * 1e9
        if free <= 0:
            return 0
        tokens = free / self.kv_bytes_per_token_per_gpu
        return int(tokens // e.kv_block_tokens) * e.kv_block_tokens

    def allreduce_s(self, nbytes: Any) -> Any:
        """One ring all-reduce of ``nbytes`` over the TP group (0 at TP1)."""
        n = self.tp
        if n == 1:
            return 0.0 * np.asarray(nbytes, dtype=float)
        latency = (self.gpu.link_latency_us + 2 * (n - 1) * self.constants.allreduce_hop_us) * 1e-6
        bus = self.gpu.link_gb_s * 1e9 * self.constants.allreduce_bandwidth_efficiency
        return latency + 2.0 * (n - 1) / n * np.asarray(nbytes, dtype=float) / bus

    def step_time(self, tokens: Any, context_tokens: Any, attention_flops: Any = 0.0,
                  sequences: Any = None) -> Any:
        """Time (s) of one engine step (module docstring); broadcasts over arrays.

        ``tokens``: new tokens in the step; ``context_tokens``: KV tokens read;
        ``attention_flops``: attention FLOP of the step's prompt chunks;
        ``sequences``: sequences in the step (for MoE expert reads; default ``tokens``).
        """
        m = self.model
        n, pp = self.tp, self.pp
        c = self.constants
        tokens = np.asarray(tokens, dtype=float)
        seqs = tokens if sequences is None else np.asarray(sequences, dtype=float)
        share = m.active_params_b / m.params_b
        # An MoE step touches at most every expert; a dense model reads all weights.
        w_read = self.weight_bytes * np.minimum(1.0, share * np.maximum(seqs, 1.0))
        bw = self.gpu.bandwidth_gb_s * 1e9 * c.bandwidth_efficiency
        # A step crosses the PP stages one after another; in each, a GPU reads its share of
        # the stage's weights and its copy of the stage's KV (kv_shards / pp TP ranks split it).
        kv_read = self.kv_bytes_per_token * pp / self.kv_shards * np.asarray(context_tokens, dtype=float)
        memory = (w_read / n + kv_read) / bw
        flops, eff = self.gemm_peak
        compute = (2.0 * m.active_params_b * 1e9 * tokens / (n * flops * eff)
                   + np.asarray(attention_flops, dtype=float)
                   / (n * self.gpu.fp16_tflops * 1e12 * c.gemm_efficiency_fp16))
        act_bytes = 2.0 * tokens * m.hidden
        comm = 2.0 * m.layers * self.allreduce_s(act_bytes)
        link = self.gpu.link_gb_s * 1e9
        hops = (pp - 1) * (c.pp_hop_latency_us * 1e-6 + act_bytes / link)
        return np.maximum(memory, compute) + comm + hops + self.engine.step_overhead_s

    def attention_flops(self, chunk: Any, offset: Any) -> Any:
        """Causal attention FLOP of a prompt chunk of ``chunk`` tokens after ``offset``."""
        chunk = np.asarray(chunk, dtype=float)
        heads = self.model.attention_heads
        d_attn = heads * self.model.head_dim if heads else self.model.hidden
        return 4.0 * self.model.layers * d_attn * chunk * (np.asarray(offset, dtype=float) + chunk / 2.0)


# ------------------------------------------------------------------ closed loop
@dataclass(frozen=True)
class LoadEstimate:
    """Mean latencies of a serving run, as a benchmark client reports them."""

    ttft_s: float
    tpot_s: float
    e2e_s: float
    output_tok_s_per_gpu: float
    kv_capacity_tokens: int
    peak_running: int
    requests: int
    preemptions: int
    ttft_simulated_s: float = math.nan
    """Mean TTFT of the simulated run itself (every client in step), before the
    desynchronised steady state replaces requests 2.. of each client (``closed_loop``)."""
    ttft_first_s: float = math.nan
    """Mean simulated TTFT of every client's first request (the start-up burst)."""
    ttft_law: str = "simulated"
    """How ``ttft_s`` was obtained: ``simulated`` or ``desync`` (``closed_loop``)."""
    host_wait_s: float = 0.0
    """Mean wait in the queue of the engine's host side (:func:`host_ceiling`), included in
    ``ttft_s`` and ``e2e_s``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ttft_s": self.ttft_s, "tpot_s": self.tpot_s, "e2e_s": self.e2e_s,
            "output_tok_s_per_gpu": self.output_tok_s_per_gpu,
            "kv_capacity_tokens": self.kv_capacity_tokens, "peak_running": self.peak_running,
        }


TTFT_LAWS = ("desync", "simulated")
"""How :func:`closed_loop` reports TTFT (module docstring, docs/performance.md)."""


def closed_loop(replica: Replica, isl: int, osl: int, concurrency: int,
                requests_per_client: int = 10, client_delay_s: float = 0.0,
                seed: int = 0, ttft_law: str = "desync",
                range_ratio: float = 1.0) -> LoadEstimate:
    r"""Simulate a closed-loop benchmark of ``concurrency`` clients (module docstring).

    Each client sends ``requests_per_client`` requests of ``isl`` prompt and ``osl``
    output tokens back to back; all clients start at once. ``client_delay_s`` > 0 adds an
    exponential client / front-end delay (mean ``client_delay_s``, drawn with ``seed``)
    before each request reaches the engine (TTFT counts from then); 0, the default, keeps
    every client in step. ``range_ratio`` < 1 draws each request's prompt and output
    lengths uniformly from the integers in ``[int(n * range_ratio), n]`` (with ``seed``),
    as ``benchmark_serving``'s random dataset does with ``--random-range-ratio``
    (docs/performance-history.md, "Round 8"); 1, the default, sends exactly ``isl`` and ``osl``.

    TPOT comes from the simulation. TTFT, with ``ttft_law="desync"`` (the default): the
    first request of every client is the simulated start-up burst (all *C* prompts at
    once, mean :math:`T_1`); later requests see a desynchronised engine (a real one's
    jitter breaks the simulated lock-step), i.e. Poisson arrivals at the loop's
    throughput :math:`X = C / e2e` (:func:`ttft_poisson`), plus one interval between
    completions :math:`1/X` for engines whose ``first_token_wait`` is ``completion``:

    .. math:: \mathrm{TTFT} = \frac{T_1 + (R - 1)\,(\mathrm{TTFT}_{Poisson}(X)
              + [\text{completion}]\,e2e/C)}{R},\quad R = \text{requests per client}.

    The simulated mean is kept (``ttft_law="simulated"`` always) for ``prefill-first``
    engines (their steps gather every waiting prompt, so lock-step is what they do),
    when the KV pool cannot hold all *C* sequences at once (requests then queue for
    memory, which the simulation times) and when the Poisson steady state is unstable.
    ``e2e_s`` is then ``TTFT + (osl - 1) TPOT``. Returns the means over every request, as
    aiperf / ``benchmark_serving`` report them in concurrency mode. Raises
    :class:`DoesNotFit` when the weights or one sequence's KV do not fit.
    """
    require(isl >= 1 and osl >= 1, "isl", "isl and osl must be >= 1")
    require(concurrency >= 1, "concurrency", "must be >= 1")
    require(requests_per_client >= 1, "requests_per_client", "must be >= 1")
    require(0.0 < range_ratio <= 1.0, "range_ratio", "must be in (0, 1]")
    require(ttft_law in TTFT_LAWS, "ttft_law", f"unknown TTFT law {ttft_law!r}; "
            f"known: {list(TTFT_LAWS)}")
    e = replica.engine
    cap = replica.kv_capacity_tokens
    block = e.kv_block_tokens
    seq_blocks_max = math.ceil((isl + osl) / block)
    if cap <= 0:
        raise DoesNotFit("memory", "the weights do not fit in this replica's memory")
    if seq_blocks_max * block > cap:
        raise DoesNotFit("memory", f"one sequence of {isl + osl} tokens needs more KV than "
                                   f"the {cap} tokens the replica holds")
    if isl + osl > replica.model.max_context:
        raise DoesNotFit("context", f"{isl + osl} tokens exceed the model's "
                                    f"{replica.model.max_context}-token window")
    cap_blocks = cap // block
    C = concurrency
    # Per-client state. phase: 0 waiting, 1 prefilling (admitted), 2 decoding, 3 done.
    # phase 4: sent, reaching the engine at ``arrival`` (client and front-end delay).
    rng = np.random.default_rng(seed)
    phase = np.full(C, 4, dtype=np.int8)
    arrival = rng.exponential(client_delay_s, C) if client_delay_s > 0 else np.zeros(C)
    order = arrival + np.arange(C) * 1e-12  # FCFS key: arrival time, then client id
    done_pre = np.zeros(C, dtype=np.int64)
    # Each client's current request lengths (benchmark_serving's random sampler).
    len_rng = np.random.default_rng(seed + 1)

    def shortest(n: int) -> int:  # the sampler's lower end (n itself for fixed lengths)
        return n if range_ratio >= 1.0 else max(1, int(n * range_ratio))

    def draw(n: int, size: int) -> Any:
        if range_ratio >= 1.0:
            return np.full(size, n, dtype=np.int64)
        return len_rng.integers(shortest(n), n + 1, size=size, dtype=np.int64)

    isl_c = draw(isl, C)
    osl_c = draw(osl, C)
    # Mean lengths, for the steady-state law and the throughput (the nominal ones if fixed).
    isl_mean, osl_mean = round((shortest(isl) + isl) / 2), round((shortest(osl) + osl) / 2)
    target = isl_c.copy()  # tokens to (re)compute before decoding
    generated = np.zeros(C, dtype=np.int64)
    first = np.zeros(C)
    remaining = np.full(C, requests_per_client, dtype=np.int64)
    reserved = np.zeros(C, dtype=np.int64)  # blocks held (reserve policy) or in use
    ttfts: list[float] = []
    first_ttfts: list[float] = []  # each client's first request: the start-up burst
    tpots: list[float] = []
    e2es: list[float] = []
    t = 0.0
    preemptions = 0
    peak = 0

    def blocks_of(tokens: Any) -> Any:
        return -(-tokens // block)

    max_steps = 50_000_000
    steps = 0
    while True:
        arrived = (phase == 4) & (arrival <= t)
        phase[arrived] = 0
        if not (phase != 3).any():
            break
        if not ((phase == 0) | (phase == 1) | (phase == 2)).any():
            t = float(arrival[phase == 4].min())
            continue
        next_arrival = float(arrival[phase == 4].min()) if (phase == 4).any() else math.inf
        steps += 1
        if steps > max_steps:  # pragma: no cover - a scheduling bug, not an input error
            raise RuntimeError("closed_loop did not terminate")
        decoding = np.flatnonzero(phase == 2)
        n_dec = decoding.size
        chunks = np.zeros(C, dtype=np.int64)
        # ---------------------------------------------------------- memory in use
        if e.admission == "reserve":
            used_blocks = int(reserved.sum())
        else:
            held = np.where(phase == 1, done_pre, 0) + np.where(phase == 2, isl_c + generated, 0)
            used_blocks = int(blocks_of(held).sum())
            # A decode step adds one token per decoding sequence; while the pool cannot
            # take that growth, preempt the newest running sequence (it recomputes later).
            growth = int(((isl_c[decoding] + generated[decoding]) % block == 0).sum())
            while used_blocks + growth > cap_blocks and n_dec > 0:
                running = np.flatnonzero((phase == 1) | (phase == 2))
                victim = running[np.argmax(order[running])]
                used_blocks -= int(blocks_of(held[victim]))
                held[victim] = 0
                # Recompute preemption: the tokens so far are prefilled again on re-admission.
                target[victim] = isl_c[victim] + generated[victim]
                phase[victim] = 0
                done_pre[victim] = 0
                preemptions += 1
                decoding = np.flatnonzero(phase == 2)
                n_dec = decoding.size
                growth = int(((isl_c[decoding] + generated[decoding]) % block == 0).sum())
            used_blocks += growth
        running_n = int(((phase == 1) | (phase == 2)).sum())
        # ------------------------------------------------------------ scheduling
        queue = np.flatnonzero((phase == 0) | (phase == 1))
        queue = queue[np.argsort(np.where(phase[queue] == 1, -1e18, 0) + order[queue],
                                 kind="stable")]
        prefill_only = False
        if e.policy == "prefill-first" and queue.size:
            budget = e.token_budget
            prefill_only = True
        else:
            budget = e.token_budget - n_dec
        free_blocks = cap_blocks - used_blocks
        for r in queue:
            if budget <= 0:
                break
            if phase[r] == 0 and running_n >= e.max_num_seqs:
                break
            need = target[r] - done_pre[r]
            if e.policy == "inflight":
                if need > budget:
                    break
                if phase[r] == 0:
                    want = math.ceil(int(isl_c[r] + osl_c[r]) / block)
                    if want > free_blocks:
                        break
                    free_blocks -= want
                    reserved[r] = want
                chunk = need
            else:
                if phase[r] == 0:
                    # Admit a new sequence only if its whole prompt fits and leaves one
                    # spare page per running sequence for decode growth (otherwise the
                    # engine preempts on the next step and thrashes).
                    want = int(blocks_of(target[r])) + running_n
                    if want > free_blocks:
                        break
                chunk = min(need, budget)
                new_blocks = int(blocks_of(done_pre[r] + chunk) - blocks_of(done_pre[r]))
                if new_blocks > free_blocks:
                    # Take what fits; FCFS stops at the head of the line.
                    chunk = min(chunk, int((-done_pre[r]) % block) + free_blocks * block)
                    if chunk <= 0:
                        break
                    new_blocks = int(blocks_of(done_pre[r] + chunk) - blocks_of(done_pre[r]))
                free_blocks -= new_blocks
            if phase[r] == 0:
                running_n += 1
                phase[r] = 1
            chunks[r] = chunk
            budget -= chunk
        pre = np.flatnonzero(chunks > 0)
        if prefill_only and pre.size == 0:
            prefill_only = False  # nothing admissible: decode instead
        if prefill_only:
            decoding = decoding[:0]
            n_dec = 0
        if n_dec == 0 and pre.size == 0:
            # Nothing can run: only happens when memory is exhausted with no decoders,
            # which the fit checks above exclude.
            raise RuntimeError("closed_loop: scheduler stalled")  # pragma: no cover
        peak = max(peak, n_dec + pre.size)
        # ----------------------------------------------------- fast-forward decode
        if pre.size == 0:
            # Nothing is admissible until a sequence completes: jump to that step.
            k = int((osl_c[decoding] - generated[decoding]).min())
            if e.admission == "actual":
                # Stop before the pool would overflow.
                headroom = cap_blocks - used_blocks
                k = max(1, min(k, 1 + headroom * block // max(n_dec, 1)))
            j = np.arange(k, dtype=float)
            contexts = float((isl_c[decoding] + generated[decoding]).sum()) + j * n_dec
            dt = replica.step_time(n_dec, contexts, 0.0, n_dec)
            times = t + np.cumsum(dt)
            # A request reaching the engine mid-stretch is scheduled after that step.
            k = min(k, int(np.searchsorted(times, next_arrival)) + 1)
            t = float(times[k - 1])
            generated[decoding] += k
        else:
            tokens = n_dec + int(chunks[pre].sum())
            ctx_now = float((isl_c[decoding] + generated[decoding]).sum()) + float(done_pre[pre].sum())
            attn = float(np.sum(replica.attention_flops(chunks[pre], done_pre[pre])))
            t += float(replica.step_time(tokens, ctx_now, attn, n_dec + pre.size))
            generated[decoding] += 1
            done_pre[pre] += chunks[pre]
            finished_pre = pre[done_pre[pre] >= target[pre]]
            phase[finished_pre] = 2
            for r in finished_pre:
                if generated[r] == 0:  # the request's first token (not a recompute)
                    ttfts.append(t - arrival[r])
                    if remaining[r] == requests_per_client:
                        first_ttfts.append(t - arrival[r])
                    first[r] = t
                generated[r] += 1
                target[r] = isl_c[r]
        # ---------------------------------------------------------- completions
        completed = np.flatnonzero((phase == 2) & (generated >= osl_c))
        for r in completed:
            e2es.append(t - arrival[r])
            if osl_c[r] > 1:
                tpots.append((t - first[r]) / (osl_c[r] - 1))
            remaining[r] -= 1
            reserved[r] = 0
            done_pre[r] = 0
            generated[r] = 0
            isl_c[r], osl_c[r] = draw(isl, 1)[0], draw(osl, 1)[0]
            target[r] = isl_c[r]
            if remaining[r] > 0:
                phase[r] = 4
                arrival[r] = t + (rng.exponential(client_delay_s) if client_delay_s > 0 else 0.0)
                order[r] = arrival[r] + r * 1e-12
            else:
                phase[r] = 3
    simulated = float(np.mean(ttfts))
    tpot = float(np.mean(tpots)) if tpots else 0.0
    e2e = float(np.mean(e2es))
    burst = float(np.mean(first_ttfts))
    ttft, law = simulated, "simulated"
    if (ttft_law == "desync" and e.policy != "prefill-first" and requests_per_client > 1
            and peak >= C and client_delay_s == 0.0):
        steady = desync_ttft(replica, isl_mean, osl_mean, C, e2e)
        if math.isfinite(steady):
            ttft = (burst + (requests_per_client - 1) * steady) / requests_per_client
            e2e = ttft + (osl_mean - 1) * tpot
            law = "desync"
    ttft, e2e, wait = host_ceiling(e, concurrency, osl_mean, ttft, tpot, e2e)
    return LoadEstimate(
        ttft_s=ttft, tpot_s=tpot, e2e_s=e2e,
        output_tok_s_per_gpu=concurrency * osl_mean / e2e / replica.gpus,
        kv_capacity_tokens=cap, peak_running=peak, requests=len(e2es), preemptions=preemptions,
        ttft_simulated_s=simulated, ttft_first_s=burst, ttft_law=law, host_wait_s=wait)


def host_max_rate(e: EngineProfile, osl: Any) -> Any:
    """Requests per second the engine's host side completes at ``osl`` output tokens each
    (``host_max_rps``, ``host_max_tok_s``); ``inf`` without a ceiling. Broadcasts."""
    return np.minimum(e.host_max_rps, e.host_max_tok_s / np.asarray(osl, dtype=float))


def host_ceiling(e: EngineProfile, concurrency: int, osl: int, ttft_s: float, tpot_s: float,
                 e2e_s: float) -> tuple[float, float, float]:
    r"""Queue a closed loop at the engine's host side (``closed_loop``).

    The server's host side (front end, detokenise and stream) completes at most
    :math:`X_{max} = \min(R_{max}, T_{max}/f)` requests per second (``host_max_rps``,
    ``host_max_tok_s``; *f* output tokens each), whatever the GPUs could do. The loop of *C*
    clients is then a closed network of two stations (:func:`closed_network_mva`, with the
    residual-life correction): the host, an FCFS server with deterministic service
    :math:`s = 1/X_{max}` per request, and the rest of the modelled request, a delay of
    ``e2e_s`` :math:`- s` (the host's service runs while the engine works on the request:
    it streams the tokens). Only the queueing, :math:`R(C) - s`, is added: to TTFT (a
    request waits before the engine admits it) and to e2e; TPOT keeps the engine's steps.
    The loop's throughput :math:`C/e2e` is held at or below :math:`X_{max}` (the MVA's
    approximation for deterministic service can overshoot it at small C) and tends to it as
    C grows; at C = 1 nothing changes.
    Returns ``(ttft_s, e2e_s, wait_s)``.
    """
    x_max = float(host_max_rate(e, osl))
    if not math.isfinite(x_max):
        return ttft_s, e2e_s, 0.0
    service = 1.0 / x_max
    response, _ = closed_network_mva(service, max(e2e_s - service, 0.0), concurrency,
                                     residual_life=True)
    # The residual-life approximation can overshoot the bound X <= 1/s at small C; the
    # loop can never complete more than X_max requests per second.
    wait = max(0.0, response - service, concurrency * service - e2e_s)
    return ttft_s + wait, e2e_s + wait, wait


def host_wait_open(e: EngineProfile, osl: int, rate_rps: float) -> float:
    r"""Mean wait in the host side's queue of an open (Poisson) stream at ``rate_rps``.

    The same station as :func:`host_ceiling` (FCFS, deterministic service
    :math:`s = 1/X_{max}`, :func:`host_max_rate`) fed by an open stream instead of *C*
    clients. The residual-life MVA step of :func:`closed_network_mva`,
    :math:`R = s(1 + Q - U) + U s/2`, with the open stream's :math:`Q = \lambda R` and
    :math:`U = \rho = \lambda s`, solves to :math:`R - s = \rho s / (2(1 - \rho))`: the
    Pollaczek-Khinchine M/D/1 wait, the limit of the closed loop's host queue as *C* grows
    at a fixed throughput. ``0`` without a ceiling or at λ = 0; ``inf`` at
    :math:`\lambda \ge X_{max}` (the host cannot keep up).
    """
    x_max = float(host_max_rate(e, osl))
    if not math.isfinite(x_max) or rate_rps <= 0:
        return 0.0
    rho = rate_rps / x_max
    if rho >= 1.0:
        return math.inf
    service = 1.0 / x_max
    # The fixed point of _residual_life_response(s, λR, ρ) = R.
    response = service * (1.0 - rho / 2.0) / (1.0 - rho)
    return response - service


def _residual_life_response(service_s: float, queue: float, util: float) -> float:
    """Time at an FCFS server with deterministic service: a full service for each waiting
    request, half of one for the request in service (:func:`closed_network_mva`)."""
    return service_s * (1.0 + queue - util) + util * service_s / 2.0


def closed_network_mva(service_s: float, think_s: float, clients: int,
                       residual_life: bool = True) -> tuple[float, float]:
    r"""Exact mean-value analysis of a closed network: one FCFS server plus a delay station.

    *C* clients with zero think time cycle through an FCFS server (service ``service_s`` per
    request) and a delay station (``think_s``): the machine-repairman model. For n = 1..C
    (Reiser & Lavenberg, J. ACM 27(2), 1980):

    .. math:: R(n) = s\,(1 + Q(n-1)),\quad X(n) = \frac{n}{R(n) + Z},\quad Q(n) = X(n)R(n).

    With ``residual_life`` the request found in service is deterministic, so an arrival waits
    half its service, not all of it: :math:`R(n) = s + s\,(Q(n-1) - U(n-1)) + U(n-1)\,s/2`,
    :math:`U = X s` (the usual MVA approximation for non-exponential FCFS service).
    Returns (R(C), X(C)): mean time at the server (queue + service) and throughput
    (requests/s). Used for the engine's host side (:func:`host_ceiling`); the prefill read
    as the server was tried and not shipped (docs/performance.md, "closed-network MVA").
    """
    if clients < 1 or service_s <= 0 or think_s < 0:
        raise ValueError("closed_network_mva: clients >= 1, service_s > 0, think_s >= 0")
    queue = util = 0.0
    response = throughput = 0.0
    for n in range(1, clients + 1):
        if residual_life:
            response = _residual_life_response(service_s, queue, util)
        else:
            response = service_s * (1.0 + queue)
        throughput = n / (response + think_s)
        queue, util = throughput * response, throughput * service_s
    return response, throughput


def desync_ttft(replica: Replica, isl: int, osl: int, concurrency: int, e2e_s: float) -> float:
    """Mean TTFT of a closed-loop request once the clients are out of step (``closed_loop``).

    The loop completes ``X = concurrency / e2e_s`` requests per second; desynchronised,
    its arrivals are modelled as Poisson at rate X (:func:`ttft_poisson`). Engines whose
    ``first_token_wait`` is ``completion`` add one interval between completions,
    ``1 / X = e2e_s / concurrency``. ``inf`` if the Poisson steady state is unstable.
    """
    rate = concurrency / e2e_s
    # The closed loop's host queue is added once, by host_ceiling (closed_loop).
    steady = ttft_poisson(replica, isl, osl, rate, host=False)
    if not steady.stable:
        return math.inf
    wait = 1.0 / rate if replica.engine.first_token_wait == "completion" else 0.0
    return steady.ttft_s + wait


# --------------------------------------------------------------- Poisson arrivals
@dataclass(frozen=True)
class PoissonEstimate:
    """Steady state of a replica fed by Poisson arrivals (``stable`` False: overloaded)."""

    rate_rps: float
    stable: bool
    ttft_s: float
    tpot_s: float
    utilisation: float
    """Share of the prompt-token capacity in use (the M/D/1 load of the prompt queue)."""
    decoding: float
    """Mean number of sequences decoding (Little's law)."""
    host_wait_s: float = 0.0
    """Mean wait in the host side's queue (:func:`host_wait_open`), included in ``ttft_s``."""


def ttft_poisson(replica: Replica, isl: int, osl: int, rate_rps: float,
                 host: bool = True) -> PoissonEstimate:
    r"""Mean TTFT and TPOT under Poisson arrivals at ``rate_rps`` (module docstring).

    With ``host`` (the default) an engine with a host ceiling adds the wait in the host
    side's queue (:func:`host_wait_open`, the open-stream form of :func:`host_ceiling`) to
    TTFT, and the stream is unstable at or above the ceiling; ``host=False`` gives the
    engine alone (the closed loop adds its own host queue, :func:`desync_ttft`).

    Steady state: :math:`N = \lambda (f-1) \tau` sequences decode; each step also
    carries :math:`\lambda h \tau` prompt tokens on average; :math:`\tau` solves
    :math:`\tau = t_{step}(N + \lambda h\tau)` (fixed point, monotone). A prompt needs
    :math:`k = \lceil h / (B - N) \rceil` steps of the budget *B* decodes leave free
    (prefill-first engines: one prefill-only step of its own); the prompt queue is
    M/D/1 with service :math:`S = h\tau/(B-N)` and load :math:`\rho = \lambda S`, so

    .. math:: \mathrm{TTFT} = \tau/2 + \frac{\rho S}{2(1-\rho)} + k\,\tau,

    (half a step until the running step ends, the queue, the own chunks). Unstable
    (``ttft_s = inf``) when :math:`\rho \ge 1`, the decodes exceed the budget or the
    sequence cap, or their KV exceeds the pool.
    """
    require(rate_rps >= 0, "rate", "must be >= 0")
    require(isl >= 1 and osl >= 1, "isl", "isl and osl must be >= 1")
    est = _engine_poisson(replica, isl, osl, float(rate_rps))
    wait = host_wait_open(replica.engine, osl, float(rate_rps)) if host else 0.0
    if not est.stable or wait == 0.0:
        return est
    if not math.isfinite(wait):
        return PoissonEstimate(est.rate_rps, False, math.inf, math.inf, est.utilisation,
                               est.decoding, math.inf)
    return replace(est, ttft_s=est.ttft_s + wait, host_wait_s=wait)


def _engine_poisson(replica: Replica, isl: int, osl: int, rate_rps: float) -> PoissonEstimate:
    """:func:`ttft_poisson` of the engine alone (no host queue)."""
    e = replica.engine
    lam = float(rate_rps)
    attn_per_request = float(replica.attention_flops(isl, 0))
    mean_ctx = isl + osl / 2.0
    inf = math.inf

    def unstable(_: float) -> PoissonEstimate:
        return PoissonEstimate(lam, False, inf, inf, 1.0, inf)

    if replica.kv_capacity_tokens < isl + osl:
        return unstable(inf)
    if e.policy == "prefill-first":
        # Decode steps pause while prefill-only steps run: a share rho of the time.
        prefill_s = float(replica.step_time(isl, 0.0, attn_per_request, 1))
        rho = lam * prefill_s
        tau = float(replica.step_time(1, mean_ctx, 0.0, 1))
        for _ in range(200 if rho < 1.0 else 0):
            n_dec = lam * (osl - 1) * tau / (1.0 - rho)
            new = float(replica.step_time(max(n_dec, 1.0), n_dec * mean_ctx, 0.0, max(n_dec, 1.0)))
            if abs(new - tau) <= 1e-9 * new:
                break
            tau = new
        if rho >= 1.0:
            return unstable(inf)
        n_dec = lam * (osl - 1) * tau / (1.0 - rho)
        if ( n_dec > e.max_num_seqs
                or n_dec * mean_ctx > replica.kv_capacity_tokens):
            return unstable(inf)
        wait = rho * prefill_s / (2.0 * (1.0 - rho))
        ttft = tau / 2.0 + wait + prefill_s
        return PoissonEstimate(lam, True, ttft, tau / (1.0 - rho), rho, n_dec)
    tau = float(replica.step_time(1, mean_ctx, 0.0, 1))
    for _ in range(200):
        n_dec = lam * (osl - 1) * tau
        prompt_tokens = lam * isl * tau
        new = float(replica.step_time(n_dec + prompt_tokens, n_dec * mean_ctx,
                                      lam * tau * attn_per_request, max(n_dec + lam * tau, 1.0)))
        if abs(new - tau) <= 1e-9 * new:
            tau = new
            break
        tau = new
        if tau > 1e3:
            break
    n_dec = lam * (osl - 1) * tau
    free = e.token_budget - n_dec
    if (free <= 0 or n_dec > e.max_num_seqs or n_dec * mean_ctx > replica.kv_capacity_tokens
            or (e.policy == "inflight" and free < isl)):
        return unstable(inf)
    ctx = n_dec * mean_ctx
    # The queue's server is a step whose spare budget is full of prompt tokens.
    full_step = float(replica.step_time(e.token_budget, ctx, attn_per_request * free / isl,
                                        n_dec + 1.0))
    service = isl * full_step / free
    rho = lam * service
    if rho >= 1.0:
        return unstable(inf)
    steps = 1 if e.policy == "inflight" else math.ceil(isl / free)
    # The request's own steps carry the average mix plus its prompt chunk.
    own_step = float(replica.step_time(n_dec + lam * isl * tau + isl / steps, ctx,
                                       (lam * tau + 1.0 / steps) * attn_per_request,
                                       n_dec + 1.0))
    ttft = tau / 2.0 + rho * service / (2.0 * (1.0 - rho)) + steps * own_step
    return PoissonEstimate(lam, True, ttft, tau, rho, n_dec)


# ------------------------------------------------------------- one configuration
@dataclass(frozen=True)
class Case:
    """One configuration and closed-loop workload (a row of ``hetserve estimate --cases``)."""

    model: str
    gpu: str
    precision: str
    tp: int
    pp: int
    isl: int
    osl: int
    concurrency: int
    engine: str
    kv_precision: str = "fp16"


@dataclass(frozen=True)
class CaseEstimate:
    """The estimate for one :class:`Case`: the numbers, or why it does not fit."""

    case: Case
    estimate: LoadEstimate | None
    reason: str = ""
    native_precision: bool = True
    source: str = "model"
    """``model`` (this module) or ``profile`` (measured, :mod:`hetserve.instances.profiles`)."""

    def to_dict(self) -> dict[str, Any]:
        keys = ("ttft_s", "tpot_s", "e2e_s", "output_tok_s_per_gpu", "kv_capacity_tokens")
        numbers = self.estimate.to_dict() if self.estimate else {}
        out: dict[str, Any] = {**self.case.__dict__}
        out.update({k: numbers.get(k) for k in keys})
        out["fits"] = self.estimate is not None
        out["reason"] = self.reason or None
        out["native_precision"] = self.native_precision
        out["source"] = self.source
        return out


def estimate_case(case: Case, *, engines: dict[str, EngineProfile] | None = None,
                  constants: ServingConstants | None = None,
                  requests_per_client: int = 10) -> CaseEstimate:
    """Closed-loop estimate of one case from the shipped catalog (raises on unknown names)."""
    from hetserve.instances.catalog import load_catalog

    cat = load_catalog("latest")
    require(case.model in cat.models, "model", f"unknown model {case.model!r}")
    require(case.gpu in cat.gpus, "gpu", f"unknown GPU {case.gpu!r}")
    profiles = engines or ENGINES
    if case.engine not in profiles:
        raise InstanceError("engine", f"unknown engine {case.engine!r}; known: {sorted(profiles)}")
    profile = profiles[case.engine]
    require(case.precision in FORMATS, "precision", f"unknown weight precision "
            f"{case.precision!r}; known: {sorted(FORMATS)}")
    native = cat.gpus[case.gpu].tensor_peak(FORMATS[case.precision].peak)[1]
    try:
        # Inside the try: a TP the node or the heads cannot take is a configuration that
        # does not fit (null + reason), not a bad row.
        replica = Replica(cat.models[case.model], cat.gpus[case.gpu], case.precision,
                          case.kv_precision, case.tp, case.pp, profile,
                          constants or ServingConstants())
        est = closed_loop(replica, case.isl, case.osl, case.concurrency, requests_per_client)
    except DoesNotFit as exc:
        return CaseEstimate(case, None, f"{exc.field}: {exc.reason}", native)
    return CaseEstimate(case, est, "", native)


CASE_COLUMNS = ("model", "gpu", "precision", "tp", "pp", "isl", "osl", "concurrency", "engine")
"""Required columns of a cases CSV; ``kv_precision`` is optional (default fp16)."""


def read_cases(path: str | Path) -> list[Case]:
    """Read a cases CSV (``hetserve estimate --cases``), checking every row and column.

    Raises :class:`InstanceError` naming the row (1 = first data row) and column.
    """
    from hetserve.instances.catalog import load_catalog
    from hetserve.instances.fields import read_text

    text = read_text(path, max_bytes=16 * 2**20, what="--cases")
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in CASE_COLUMNS if c not in header]
    if missing:
        raise InstanceError("--cases", f"missing column(s) {', '.join(missing)}; "
                                       f"expected {','.join(CASE_COLUMNS)}[,kv_precision]")
    cat = load_catalog("latest")
    cases = []
    for k, row in enumerate(reader, start=1):
        if None in row:
            raise InstanceError(f"--cases row {k}", "more cells than columns")
        cases.append(case_from_strings(row, f"--cases row {k}", cat))
    if not cases:
        raise InstanceError("--cases", "no rows")
    return cases


def case_from_strings(row: dict[str, str | None], where: str, cat: Any = None) -> Case:
    """One :class:`Case` from text fields (a CSV row or CLI flags), checked against the catalog."""
    from hetserve.instances.catalog import load_catalog

    cat = cat or load_catalog("latest")

    def cell(col: str, default: str | None = None) -> str:
        value = row.get(col)
        value = value.strip() if isinstance(value, str) else value
        if not value:
            if default is not None:
                return default
            raise InstanceError(f"{where} column {col}", "missing value")
        return value

    def one_of(col: str, options: Any, default: str | None = None) -> str:
        value = cell(col, default)
        if value not in options:
            raise InstanceError(f"{where} column {col}",
                                f"unknown {col} {value!r}{fields.did_you_mean(value, options)}; "
                                f"known: {', '.join(sorted(options))}")
        return value

    def count(col: str, lo: int, hi: int) -> int:
        value = cell(col)
        if not value.isdigit() or not lo <= int(value) <= hi:
            raise InstanceError(f"{where} column {col}",
                                f"expected an integer in [{lo}, {hi}], got {value!r}")
        return int(value)

    return Case(
        model=one_of("model", cat.models), gpu=one_of("gpu", cat.gpus),
        precision=one_of("precision", FORMATS), tp=count("tp", 1, 64), pp=count("pp", 1, 64),
        isl=count("isl", 1, 10_000_000), osl=count("osl", 1, 10_000_000),
        concurrency=count("concurrency", 1, 100_000), engine=one_of("engine", ENGINES),
        kv_precision=one_of("kv_precision", KV_FORMATS, "fp16"))


def estimate_cases(cases: list[Case], performance: Any = None) -> list[CaseEstimate]:
    """Estimate every case, in order (the ``hetserve estimate`` kernel).

    ``performance`` is any object with ``estimate(case) -> CaseEstimate``, e.g. a measured
    profile (:class:`hetserve.instances.profiles.MeasuredServing`); default: this model.
    """
    if performance is None:
        return [estimate_case(c) for c in cases]
    return [performance.estimate(c) for c in cases]
