r"""Mixed/solo configurations: chunked prefill beside decodes (docs/pd.md#mixed-solo).

After Lin, Ding, Han and Zhang (arXiv 2602.02987), a **mixed/solo** deployment runs one
(model, GPU, precision, TP, PP) replica type with chunked prefill: a replica is either
*mixed* (one prompt chunk of *C* tokens beside at most *B* − 1 decodes, iteration time
:math:`\tau_{mix}`) or *solo* (only decodes, at most *B*, iteration time
:math:`c = 1/\gamma`). It is a route-table configuration like any other: one column,
``r_γ`` counts replicas of ``tp·pp`` GPUs, so the MILP, the heuristics and the evaluator
need no special case.

Iteration constants, from the SAME roofline kernels as the aggregated routes
(:mod:`instances.performance`), per query type *i* (prompt *h*, output *f*) and
configuration, at decode cap *B*:

* :math:`c = t_{dec}(B)`: the decode kernel's step with *B* sequences at mean context
  :math:`h + f/2` (memory or compute core, TP all-reduces, PP hops, step overhead);
* :math:`a = t^{comp}_{pre}(h) / h`: the prefill kernel's compute term per prompt token
  (weights and causal attention, at the precision's prefill efficiency), the cost of one
  more chunk token once the step is compute bound;
* :math:`b_0 = (\mathrm{core}(B) - \mathrm{comp}(B)) / a`, with core the decode step's
  :math:`\max` of memory and compute time and comp its compute time: then
  :math:`\tau(C) = c + a\max\{0, C - b_0\}` = fixed costs +
  :math:`\max(\text{memory}, \text{comp} + aC)`, the roofline of a step that reads the
  weights and *B* KV caches and computes *B* decode tokens plus a *C*-token chunk
  (:class:`instances.iteration.IterationModel`);
* :math:`\tau_{mix} = \tau(C)`; the chunk is :data:`CHUNK_TOKENS`.

Operating point and capacity
    :math:`b_{max}` is the replica's KV-limited batch for the type (as aggregated).
    The mean delay (the SLO is on the mean end-to-end latency, as everywhere in hetserve)
    :math:`D(B) = \phi\,\big(\lceil h/C\rceil\,\tau_{mix}
    + f\,[\,\omega\,\tau_{mix} + (1-\omega)\,c\,]\big)`, with
    :math:`\omega = \min\{1, (B-1)h/(Cf)\}` the share of decode tokens the mixed replicas'
    slots make in the closed form below (the rest on solo replicas): the fluid average
    TPOT of the paper's eq. 47 at that occupancy (φ the type's delay factor).
    :math:`B^*` is the *B* in :math:`[2, b_{max}]` with :math:`D(B) \le \Delta` that
    maximises the capacity below (2 if none: the route is then unusable; a larger *B* adds
    decode slots but slows every step by its KV reads). One replica sustains
    :math:`\mu = \Lambda / n^\star` requests/s with :math:`n^\star` the closed form of
    :func:`instances.iteration.mixed_solo_capacity` (the fluid sizing LP's optimum for one
    class, docs/fluid.md). Sizing is linear in Λ, so
    several types on one configuration need :math:`\sum_i \lambda_i x_i / \mu_i` replicas,
    the route table's load; that sum can exceed the joint optimum (one type's spare mixed
    decode slots could absorb another's decodes), so the planner is conservative there.

Conservative, stated simplifications: PP does not pipeline chunks (*a* is the full
per-token compute, while the aggregated model lets *m* prompts share the stages), the TP
all-reduce of a chunk's activations is charged at the decode step's size, the prompt's
chunks are full (mean prompt lengths, fluid packing), and no queueing (fluid, as
aggregated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hetserve.instances.iteration import IterationModel, mixed_solo_capacity
from hetserve.instances.model import Config
from hetserve.instances.performance import (
    decode_kernel,
    kv_capacity_bytes,
    prefill_kernel,
    weight_bytes,
)

if TYPE_CHECKING:
    from hetserve.instances.catalog import GpuType, Precision
    from hetserve.instances.model import Instance

__all__ = ["CHUNK_TOKENS", "MODE", "MixedSoloConfig", "delay_s", "iteration_model",
           "mixed_solo_configs", "mixed_solo_metrics"]

MODE = "mixed-solo"
CHUNK_TOKENS = 512
"""Prefill chunk *C* (tokens per mixed iteration): vLLM's chunked-prefill token budget
``max_num_batched_tokens`` of 512 in its V0 default; the paper's experiment uses 256."""


@dataclass(frozen=True)
class MixedSoloConfig(Config):
    """One (model, GPU, precision, TP, PP) replica type run mixed/solo (module docstring)."""

    @property
    def deployment(self) -> tuple[str, str, str]:
        """Its own deployment key: a fleet may run the same GPU type aggregated and mixed/solo."""
        return (self.model, f"{MODE}:{self.gpu}", self.precision)

    def label(self) -> str:
        return f"{self.model}@{self.gpu}/{self.precision} TP{self.tp} PP{self.pp} {MODE}"


def mixed_solo_configs(inst: Instance, aggregated: list[Config]) -> list[MixedSoloConfig]:
    """One mixed/solo configuration per aggregated replica type (same fit rules)."""
    return [MixedSoloConfig(k.model, k.gpu, k.precision, k.tp, k.pp) for k in aggregated]


def _flops(gpu: GpuType, prec: Precision) -> float:
    return (gpu.int8_tops if prec.compute == "int8" else gpu.fp16_tflops) * 1e12


class _Kernels:
    """The roofline kernels of one (query type, configuration) pair, as functions of *B*."""

    def __init__(self, inst: Instance, cfg: Config, prompt: float, output: float) -> None:
        c = inst.perf
        model = inst.model_by_name[cfg.model]
        gpu = inst.gpu_by_name[cfg.gpu]
        prec = {p.name: p for p in inst.precisions}[cfg.precision]
        self.const = c
        self.dec: dict[str, Any] = dict(
            weight_bytes=weight_bytes(model, prec), active_share=model.active_params_b / model.params_b,
            active_params=model.active_params_b * 1e9, kv_per_token=model.kv_bytes_per_token,
            context=prompt + output / 2.0, layers=model.layers, hidden=model.hidden, n=cfg.tp,
            m=cfg.pp, bandwidth=gpu.bandwidth_gb_s * 1e9, flops=_flops(gpu, prec),
            link_bytes_s=gpu.link_gb_s * 1e9, link_latency_s=gpu.link_latency_us * 1e-6, c=c)
        # compute term only: no weight-read floor, free links, one stage, minus the overhead
        compute = float(prefill_kernel(
            active_params=model.active_params_b * 1e9, layers=model.layers, hidden=model.hidden,
            prompt=prompt, n=cfg.tp, m=1, flops=_flops(gpu, prec), link_bytes_s=np.inf,
            link_latency_s=0.0, c=c, weight_bytes=0.0,
            efficiency=c.prefill_efficiency_int8 if prec.compute == "int8"
            else c.prefill_efficiency)) - c.step_overhead_s
        self.a = compute / prompt
        kv = kv_capacity_bytes(model, gpu, prec, cfg.tp, cfg.pp, c)
        b_max = math.floor(kv / (model.kv_bytes_per_token * (prompt + output))) if kv > 0 else 0
        self.b_max = min(b_max, c.max_num_seqs)
        self.fits = self.b_max >= 2 and prompt + output <= model.max_context

    def steps(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(c, b₀) at each decode cap in ``batch`` (module docstring). The decode kernel is
        fixed costs + max(memory, compute); run with infinitely fast memory and compute it
        gives the fixed costs, with infinitely fast memory only the fixed costs + compute."""
        step = np.asarray(decode_kernel(batch=batch, **self.dec), dtype=float)
        fixed = np.asarray(decode_kernel(batch=batch, **{**self.dec, "bandwidth": np.inf,
                                                         "flops": np.inf}), dtype=float)
        compute = np.asarray(decode_kernel(batch=batch, **{**self.dec, "bandwidth": np.inf}),
                             dtype=float) - fixed
        return step, np.maximum(0.0, step - fixed - compute) / self.a

    def iteration(self, batch: int) -> IterationModel:
        step, b0 = self.steps(np.array([float(batch)]))
        return IterationModel(c=float(step[0]), a=self.a, b0=float(b0[0]),
                              source="roofline kernels (instances/performance.py)")


def iteration_model(inst: Instance, cfg: Config, i: int, batch: int) -> IterationModel:
    """c, a, b₀ of configuration ``cfg`` for query type ``i`` at decode cap ``batch``."""
    q = inst.query_types[i]
    return _Kernels(inst, cfg, q.prompt_tokens, q.output_tokens).iteration(batch)


def delay_s(it: IterationModel, prompt: float, output: float, batch: int, chunk: int) -> float:
    r"""Mean end-to-end latency (s) of a request in the fluid mixed/solo steady state:
    ⌈h/C⌉ mixed iterations of prefill, then *f* tokens at the token-weighted mean iteration
    time: the share :math:`\min\{1, (B-1)h/(Cf)\}` of decode tokens made in mixed slots
    at τ_mix, the rest on solo replicas at *c* (module docstring)."""
    tau = it.tau_mix(chunk)
    on_mixed = min(1.0, (batch - 1) * prompt / (chunk * output))
    return (math.ceil(prompt / chunk) * tau
            + output * (on_mixed * tau + (1.0 - on_mixed) * it.c))


def mixed_solo_metrics(inst: Instance, configs: list[MixedSoloConfig]) -> dict[str, np.ndarray]:
    """Route metrics of the mixed/solo ``configs`` for every query type, with the keys and
    shapes of :func:`instances.performance.route_metrics` (module docstring).
    ``delay_at_1`` is the least delay of the mode over *B* in [2, b_max]."""
    q = inst.query_types
    shape = (len(q), len(configs))
    out = {k: np.zeros(shape) for k in ("max_batch", "prefill", "delay_at_1", "batch", "delay",
                                        "capacity")}
    fits = np.zeros(shape, dtype=bool)
    chunk = CHUNK_TOKENS
    for i, t in enumerate(q):
        h, f = t.prompt_tokens, t.output_tokens
        prefill_chunks = math.ceil(h / chunk)
        for j, cfg in enumerate(configs):
            k = _Kernels(inst, cfg, h, f)
            fits[i, j] = k.fits
            grid = np.arange(2, max(k.b_max, 2) + 1, dtype=float)
            c, b0 = k.steps(grid)
            # over the grid, vectorised: τ_mix = IterationModel.tau_mix(C), D(B), and the
            # GPUs per req/s n*/Λ of mixed_solo_capacity (which gives the reported numbers)
            tau = c + k.a * np.maximum(0.0, chunk - b0)
            on_mixed = np.minimum(1.0, (grid - 1) * h / (chunk * f))
            d = t.delay_factor * (prefill_chunks * tau + f * (on_mixed * tau + (1 - on_mixed) * c))
            per_rps = h * tau / chunk + np.maximum(0.0, f - (grid - 1) * h / chunk) * c / grid
            ok = d <= t.delay_slo_s
            per_rps = np.where(ok, per_rps, np.inf)
            # the smallest B within rounding of the best (ties are common: fewer KV slots)
            best = np.flatnonzero(per_rps <= per_rps.min() * (1 + 1e-9))
            b = int(grid[best[0]]) if k.fits and ok.any() else 2
            it = k.iteration(b)
            out["max_batch"][i, j] = k.b_max if k.fits else 1
            out["batch"][i, j] = b
            out["delay_at_1"][i, j] = d.min()
            out["delay"][i, j] = t.delay_factor * delay_s(it, h, f, b, chunk)
            out["prefill"][i, j] = prefill_chunks * it.tau_mix(chunk)
            out["capacity"][i, j] = mixed_solo_capacity(
                it, h, f, batch=b, chunk=chunk).requests_per_gpu_s
    out["max_batch"] = out["max_batch"].astype(np.int64)
    out["batch"] = out["batch"].astype(np.int64)
    return {"fits": fits, **out}
