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
    matmul_flops,
    prefill_efficiency,
    prefill_kernel,
    weight_bytes,
)

if TYPE_CHECKING:
    from hetserve.instances.model import Instance

__all__ = ["CHUNK_TOKENS", "MODE", "MixedSoloConfig", "delay_s", "iteration_model",
           "mixed_solo_configs", "mixed_solo_metrics"]

MODE = "mixed-solo"
CHUNK_TOKENS = 512
"""Prefill chunk *C* (prompt tokens per mixed iteration): vLLM V0's default
``max_num_batched_tokens`` with chunked prefill on (a budget it shares with the decode
tokens; here, as in the paper, the chunk comes on top of the *B* − 1 decodes). The paper's
experiment uses 256."""


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


class _Kernels:
    """The roofline kernels of one query type on configurations ``configs``, as functions
    of the decode cap *B* (arrays have one row per configuration)."""

    def __init__(self, inst: Instance, configs: list[Config], prompt: float,
                 output: float) -> None:
        c = inst.perf
        precs = {p.name: p for p in inst.precisions}
        mod = [inst.model_by_name[k.model] for k in configs]
        gpu = [inst.gpu_by_name[k.gpu] for k in configs]
        prec = [precs[k.precision] for k in configs]

        def col(vals: Any) -> np.ndarray:
            return np.fromiter(vals, dtype=float, count=len(configs)).reshape(-1, 1)

        tp = col(k.tp for k in configs)
        active = col(m.active_params_b * 1e9 for m in mod)
        flops = col(matmul_flops(g, p) for g, p in zip(gpu, prec))
        kv_tok = col(m.kv_bytes_per_token for m in mod)
        self.dec: dict[str, Any] = dict(
            weight_bytes=col(weight_bytes(m, p) for m, p in zip(mod, prec)),
            active_share=col(m.active_params_b / m.params_b for m in mod),
            active_params=active, kv_per_token=kv_tok, context=prompt + output / 2.0,
            layers=col(m.layers for m in mod), hidden=col(m.hidden for m in mod), n=tp,
            m=col(k.pp for k in configs), bandwidth=col(g.bandwidth_gb_s * 1e9 for g in gpu),
            flops=flops, link_bytes_s=col(g.link_gb_s * 1e9 for g in gpu),
            link_latency_s=col(g.link_latency_us * 1e-6 for g in gpu), c=c)
        # compute term only: no weight-read floor, free links, one stage, minus the overhead
        compute = np.asarray(prefill_kernel(
            active_params=active, layers=self.dec["layers"], hidden=self.dec["hidden"],
            prompt=prompt, n=tp, m=1, flops=flops, link_bytes_s=np.inf, link_latency_s=0.0,
            c=c, weight_bytes=0.0,
            efficiency=col(prefill_efficiency(g, p, c) for g, p in zip(gpu, prec)))) \
            - c.step_overhead_s
        self.a = compute / prompt
        kv = col(kv_capacity_bytes(m, g, p, k.tp, k.pp, c)
                 for m, g, p, k in zip(mod, gpu, prec, configs))
        b_max = np.floor(np.maximum(kv, 0.0) / (kv_tok * (prompt + output)))
        self.b_max = np.minimum(b_max, c.max_num_seqs)
        self.fits = (self.b_max >= 2) & (prompt + output <= col(m.max_context for m in mod))

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


def _iteration(c: float, a: float, b0: float) -> IterationModel:
    return IterationModel(c=c, a=a, b0=b0, source="roofline kernels (instances/performance.py)")


def iteration_model(inst: Instance, cfg: Config, i: int, batch: int) -> IterationModel:
    """c, a, b₀ of configuration ``cfg`` for query type ``i`` at decode cap ``batch``."""
    q = inst.query_types[i]
    k = _Kernels(inst, [cfg], q.prompt_tokens, q.output_tokens)
    step, b0 = k.steps(np.array([[float(batch)]]))
    return _iteration(float(step[0, 0]), float(k.a[0, 0]), float(b0[0, 0]))


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
    if not configs:
        return {"fits": fits, **{k: v.astype(np.int64) if k in ("max_batch", "batch") else v
                                 for k, v in out.items()}}
    grid = np.arange(2, max(2, inst.perf.max_num_seqs) + 1, dtype=float).reshape(1, -1)
    for i, t in enumerate(q):
        h, f = t.prompt_tokens, t.output_tokens
        prefill_chunks = math.ceil(h / chunk)
        k = _Kernels(inst, list(configs), h, f)
        c, b0 = k.steps(grid)
        # over configurations x B, vectorised: τ_mix = IterationModel.tau_mix(C), the mean
        # delay of delay_s and n*/Λ of mixed_solo_capacity (which give the reported numbers)
        tau = c + k.a * np.maximum(0.0, chunk - b0)
        on_mixed = np.minimum(1.0, (grid - 1) * h / (chunk * f))
        d = t.delay_factor * (prefill_chunks * tau + f * (on_mixed * tau + (1 - on_mixed) * c))
        per_rps = h * tau / chunk + np.maximum(0.0, f - (grid - 1) * h / chunk) * c / grid
        allowed = grid <= np.maximum(k.b_max, 2)
        ok = allowed & (d <= t.delay_slo_s) & k.fits
        per_rps = np.where(ok, per_rps, np.inf)
        # the smallest B within rounding of the best (ties are common: fewer KV slots)
        best = np.argmax(per_rps <= per_rps.min(axis=1, keepdims=True) * (1 + 1e-9), axis=1)
        col = np.where(ok.any(axis=1), best, 0)
        fits[i] = k.fits[:, 0]
        out["max_batch"][i] = np.where(k.fits[:, 0], k.b_max[:, 0], 1)
        out["delay_at_1"][i] = np.where(allowed, d, np.inf).min(axis=1)
        for j in range(len(configs)):
            b = int(grid[0, col[j]])
            it = _iteration(float(c[j, col[j]]), float(k.a[j, 0]), float(b0[j, col[j]]))
            out["batch"][i, j] = b
            out["delay"][i, j] = t.delay_factor * delay_s(it, h, f, b, chunk)
            out["prefill"][i, j] = prefill_chunks * it.tau_mix(chunk)
            out["capacity"][i, j] = mixed_solo_capacity(
                it, h, f, batch=b, chunk=chunk).requests_per_gpu_s
    out["max_batch"] = out["max_batch"].astype(np.int64)
    out["batch"] = out["batch"].astype(np.int64)
    return {"fits": fits, **out}
