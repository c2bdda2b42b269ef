r"""Disaggregated prefill/decode (P/D) configurations (docs/pd.md).

A **P/D configuration** serves a model at one weight precision with *units* of
:math:`n_P` prefill-only replicas (GPU type :math:`g_P`, TP :math:`t_P`, PP
:math:`m_P`) and :math:`n_D` decode-only replicas (:math:`g_D, t_D, m_D`); the
prompt's KV cache moves from the prefill to the decode replica over an interconnect.
In the route table a unit plays the part of a replica: :math:`r_\gamma` counts units,
``gpu_use`` holds the GPUs of each type of one unit and its price their rental, so the
MILP, the heuristics and the evaluator need no special case.

Per query type *i* (prompt *h*, output *f*, SLO :math:`\Delta`) the SAME kernels as
the aggregated routes (:mod:`instances.performance`) give:

Prefill replica
    :math:`t_{pre}` = ``prefill_kernel`` on :math:`(g_P, t_P, m_P)`; prompts run back to
    back, *m_P* pipeline stages in flight, so a replica sustains
    :math:`\mu_P = m_P / t_{pre}` requests/s (the aggregated model charges the same
    :math:`t_{pre}/m` per co-running prompt). It must hold the weights and one prompt's KV.
KV transfer
    :math:`B_{kv} = \kappa_j h` bytes. Same GPU type and the whole unit inside one node
    (:math:`n_P t_P m_P + n_D t_D m_D \le` GPUs per node): the GPU's own link
    (``link_gb_s``, ``link_latency_us``); otherwise the network
    (``PerfConstants.kv_network_gb_s``, ``kv_network_latency_us``). KV is sharded by
    heads over TP ranks, each rank moving its shard over its own link:
    :math:`L = \min(t_P, t_D)` lanes, :math:`t_{kv} = \ell + B_{kv}/(L\,\mathrm{bw})`.
    Bandwidth costs capacity too: a unit's
    :math:`\min(n_P t_P, n_D t_D)` lanes carry at most
    :math:`\mu_{kv} = \min(n_P t_P, n_D t_D)\,\mathrm{bw} / B_{kv}` requests/s.
Decode replica
    ``decode_kernel`` on :math:`(g_D, t_D, m_D)` at batch *b* and mean context
    :math:`h + f/2`, with :math:`b \le b_{max}` from its KV capacity (as aggregated)
    and no prefill stalls: :math:`\mu_D(b) = b / (f\,t_{dec}(b))` (Little's law).
Latency and operating point
    :math:`D(b) = t_{pre} + t_{kv} + f\,t_{dec}(b)` (times the type's delay factor);
    :math:`b^* = \max\{b \le b_{max}: D(b) \le \Delta\}`; the unit's capacity is
    :math:`\mu = \min(n_P \mu_P,\ n_D \mu_D(b^*),\ \mu_{kv})` and its delay
    :math:`D(b^*)`. If :math:`D(1) > \Delta` the route is unusable (b* = 1, as
    aggregated).

Ignored (as in the aggregated model): queueing before prefill, prefill batching,
chunked prefill, KV transfer overlapping prefill, the decode slot held while the KV
arrives, and contention of the KV traffic with TP all-reduces.

Which units are generated: per model, precision and ordered pair of the instance's
tiers at that precision (:math:`g_P, g_D`, equal allowed), the
:data:`SIDE_CHOICES` smallest fitting (TP, PP) of each side (fewest GPUs first, then
lower PP) and every (:math:`n_P, n_D`) of ``Instance.pd_ratios``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hetserve.instances.model import DEFAULT_PD_RATIOS, DEPLOYMENT_MODES, Config
from hetserve.instances.performance import (
    PerfConstants,
    decode_kernel,
    decode_step_time,
    kv_capacity_bytes,
    matmul_flops,
    operating_point,
    prefill_efficiency,
    prefill_kernel,
    usable_bytes_per_gpu,
    weight_bytes,
)

__all__ = ["DEFAULT_PD_RATIOS", "DEPLOYMENT_MODES", "PdConfig", "UnitTimes", "kv_link",
           "pd_configs", "pd_metrics", "unit_times"]

if TYPE_CHECKING:
    from hetserve.instances.catalog import GpuType
    from hetserve.instances.model import Instance

SIDE_CHOICES = 2
"""(TP, PP) options kept per side: the smallest that fit and the next (more are dominated
in practice and multiply the MILP's columns)."""


@dataclass(frozen=True)
class PdConfig(Config):
    """A disaggregated configuration: ``gpu``/``tp``/``pp`` is the prefill side; one unit is
    ``n_prefill`` prefill replicas plus ``n_decode`` decode replicas."""

    decode_gpu: str
    decode_tp: int
    decode_pp: int
    n_prefill: int
    n_decode: int

    @property
    def deployment(self) -> tuple[str, str, str]:
        """(model, ``P:<gpu>+D:<gpu>``, precision): one (TP, PP, ratio) choice per pair of
        GPU types, as one (TP, PP) per aggregated deployment."""
        return (self.model, f"P:{self.gpu}+D:{self.decode_gpu}", self.precision)

    @property
    def gpus_per_replica(self) -> int:
        return self.tp * self.pp * self.n_prefill + self.decode_tp * self.decode_pp * self.n_decode

    def gpus_by_type(self) -> dict[str, int]:
        out = {self.gpu: self.tp * self.pp * self.n_prefill}
        out[self.decode_gpu] = out.get(self.decode_gpu, 0) + (
            self.decode_tp * self.decode_pp * self.n_decode)
        return out

    def hourly_price(self, price_per_gpu_hour: dict[str, float]) -> float:
        return (price_per_gpu_hour[self.gpu] * self.tp * self.pp * self.n_prefill
                + price_per_gpu_hour[self.decode_gpu] * self.decode_tp * self.decode_pp
                * self.n_decode)

    def label(self) -> str:
        return (f"{self.model}@{self.precision} P/D {self.n_prefill}x[{self.gpu} TP{self.tp} "
                f"PP{self.pp}] + {self.n_decode}x[{self.decode_gpu} TP{self.decode_tp} "
                f"PP{self.decode_pp}]")


def _side_options(inst: Instance, weights: float, gpu: GpuType) -> list[tuple[int, int]]:
    usable = usable_bytes_per_gpu(gpu, inst.perf)
    fit = [(n, m) for n in inst.tp_degrees if n <= gpu.gpus_per_node
           for m in inst.pp_degrees if weights / (n * m) < usable]
    return sorted(fit, key=lambda nm: (nm[0] * nm[1], nm[1]))[:SIDE_CHOICES]


def pd_configs(inst: Instance) -> list[PdConfig]:
    """The P/D configurations of ``inst`` in a fixed order (module docstring)."""
    gpus = inst.gpu_by_name
    precisions = {p.name: p for p in inst.precisions}
    out: list[PdConfig] = []
    for model in inst.models:
        for prec_name in dict.fromkeys(t.precision for t in inst.tiers):
            prec = precisions[prec_name]
            types = [t.gpu for t in inst.tiers if t.precision == prec_name]
            w = weight_bytes(model, prec)
            side = {g: _side_options(inst, w, gpus[g]) for g in types}
            for gp in types:
                for gd in types:
                    for tp, pp in side[gp]:
                        for dtp, dpp in side[gd]:
                            for n_p, n_d in inst.pd_ratios:
                                out.append(PdConfig(model.name, gp, prec_name, tp, pp,
                                                    gd, dtp, dpp, n_p, n_d))
    return out


def kv_link(inst: Instance, cfg: PdConfig) -> tuple[float, float, int, int]:
    """(bytes/s per lane, latency s, lanes per transfer, lanes per unit) of the KV path."""
    c: PerfConstants = inst.perf
    gp = inst.gpu_by_name[cfg.gpu]
    same_node = (cfg.gpu == cfg.decode_gpu and cfg.gpus_per_replica <= gp.gpus_per_node)
    if same_node:
        bw, lat = gp.link_gb_s * 1e9, gp.link_latency_us * 1e-6
    else:
        bw, lat = c.kv_network_gb_s * 1e9, c.kv_network_latency_us * 1e-6
    return (bw, lat, min(cfg.tp, cfg.decode_tp),
            min(cfg.n_prefill * cfg.tp, cfg.n_decode * cfg.decode_tp))


def pd_metrics(inst: Instance, configs: list[PdConfig]) -> dict[str, np.ndarray]:
    """Route metrics of the P/D ``configs`` for every query type, with the keys and shapes
    of :func:`instances.performance.route_metrics` (module docstring for the model), plus
    ``kv_transfer`` (s) and the capacity of each stage (``prefill_capacity``,
    ``decode_capacity``, ``kv_capacity``; req/s per unit)."""
    c = inst.perf
    q = inst.query_types
    gpus = inst.gpu_by_name
    models = inst.model_by_name
    precs = {p.name: p for p in inst.precisions}
    n_i, n_c = len(q), len(configs)
    shape = (n_i, n_c)

    def row(vals: Any) -> np.ndarray:
        return np.fromiter(vals, dtype=float).reshape(-1, 1)

    def col(vals: Any) -> np.ndarray:
        return np.fromiter(vals, dtype=float, count=n_c).reshape(1, -1)

    if n_c == 0:
        keys = ("fits", "max_batch", "prefill", "delay_at_1", "batch", "delay", "capacity",
                "kv_transfer", "prefill_capacity", "decode_capacity", "kv_capacity")
        out = {k: np.zeros(shape) for k in keys}
        out["fits"] = out["fits"].astype(bool)
        return out
    h = row(t.prompt_tokens for t in q)
    f = row(t.output_tokens for t in q)
    slo = row(t.delay_slo_s for t in q)
    factor = row(t.delay_factor for t in q)
    mod = [models[k.model] for k in configs]
    prec = [precs[k.precision] for k in configs]
    gp = [gpus[k.gpu] for k in configs]
    gd = [gpus[k.decode_gpu] for k in configs]
    w = col(weight_bytes(m, p) for m, p in zip(mod, prec))
    kv_tok = col(m.kv_bytes_per_token for m in mod)
    layers = col(m.layers for m in mod)
    hidden = col(m.hidden for m in mod)
    active = col(m.active_params_b * 1e9 for m in mod)
    share = col(m.active_params_b / m.params_b for m in mod)
    max_ctx = col(m.max_context for m in mod)
    tp, pp = col(k.tp for k in configs), col(k.pp for k in configs)
    dtp, dpp = col(k.decode_tp for k in configs), col(k.decode_pp for k in configs)
    n_p, n_d = col(k.n_prefill for k in configs), col(k.n_decode for k in configs)
    # prefill side
    t_pre = np.broadcast_to(prefill_kernel(
        active_params=active, layers=layers, hidden=hidden, prompt=h, n=tp, m=pp,
        flops=col(matmul_flops(g, p) for g, p in zip(gp, prec)),
        link_bytes_s=col(g.link_gb_s * 1e9 for g in gp),
        link_latency_s=col(g.link_latency_us * 1e-6 for g in gp), c=c, weight_bytes=w,
        bandwidth=col(g.bandwidth_gb_s * 1e9 for g in gp),
        efficiency=col(prefill_efficiency(g, p, c) for g, p in zip(gp, prec))), shape)
    kv_pre = col(kv_capacity_bytes(m, g, p, k.tp, k.pp, c)
                 for m, g, p, k in zip(mod, gp, prec, configs))
    fits_pre = kv_pre >= kv_tok * h
    mu_pre = n_p * pp / t_pre
    # KV transfer
    links = [kv_link(inst, k) for k in configs]
    bw = col(x[0] for x in links)
    kv_bytes = kv_tok * h
    t_kv = np.broadcast_to(col(x[1] for x in links) + kv_bytes / (col(x[2] for x in links) * bw),
                           shape)
    mu_kv = np.broadcast_to(col(x[3] for x in links) * bw / kv_bytes, shape)
    # decode side
    kv_dec = col(kv_capacity_bytes(m, g, p, k.decode_tp, k.decode_pp, c)
                 for m, g, p, k in zip(mod, gd, prec, configs))
    with np.errstate(divide="ignore", invalid="ignore"):
        b_max = np.floor(np.where(kv_dec > 0, kv_dec / (kv_tok * (h + f)), 0.0))
    b_max = np.minimum(b_max, c.max_num_seqs)
    fits = np.broadcast_to((b_max >= 1) & fits_pre & (h + f <= max_ctx), shape)
    b_max = np.broadcast_to(np.where(fits, b_max, 1.0), shape)
    dec_args: dict[str, Any] = dict(
        weight_bytes=w, active_share=share, active_params=active, kv_per_token=kv_tok,
        context=h + f / 2.0, layers=layers, hidden=hidden, n=dtp, m=dpp,
        bandwidth=col(g.bandwidth_gb_s * 1e9 for g in gd),
        flops=col(matmul_flops(g, p) for g, p in zip(gd, prec)),
        link_bytes_s=col(g.link_gb_s * 1e9 for g in gd),
        link_latency_s=col(g.link_latency_us * 1e-6 for g in gd), c=c)

    def t_dec(b: np.ndarray) -> np.ndarray:
        return np.broadcast_to(decode_kernel(batch=b, **dec_args), shape)

    def delay(b: np.ndarray) -> np.ndarray:
        return factor * (t_pre + t_kv + f * t_dec(b))

    delay_at_1, batch, _ = operating_point(delay, np.broadcast_to(b_max, shape), slo)
    mu_dec = n_d * batch / (f * t_dec(batch))
    capacity = np.minimum(np.minimum(mu_pre, mu_dec), mu_kv)
    return {
        "fits": fits, "max_batch": b_max.astype(np.int64), "prefill": t_pre,
        "delay_at_1": delay_at_1, "batch": batch.astype(np.int64), "delay": delay(batch),
        "capacity": capacity, "kv_transfer": t_kv,
        "prefill_capacity": np.broadcast_to(mu_pre, shape),
        "decode_capacity": mu_dec, "kv_capacity": mu_kv,
    }


@dataclass(frozen=True)
class UnitTimes:
    """The numbers a discrete-event check of one P/D unit needs (``simulator.pd``)."""

    t_pre: float
    t_kv: float
    step_s: np.ndarray  # step_s[b]: decode iteration time with b sequences (index 0 unused)
    prefill_servers: int  # n_P · m_P
    kv_servers: int  # transfers in flight: unit lanes / lanes per transfer
    decode_replicas: int
    batch: int  # b*, the decode replica's batch cap
    output_tokens: int


def unit_times(inst: Instance, c: int, i: int) -> UnitTimes:
    """:class:`UnitTimes` of P/D configuration ``c`` for query type ``i`` (same kernels as
    :func:`pd_metrics`)."""
    t = inst.routes
    cfg = t.configs[c]
    if not isinstance(cfg, PdConfig):
        raise ValueError(f"configuration {c} is not a P/D unit")
    q = inst.query_types[i]
    out = pd_metrics(inst, [cfg])
    prec = {p.name: p for p in inst.precisions}[cfg.precision]
    b = int(t.batch[i, c])
    steps = np.zeros(b + 1)
    steps[1:] = q.delay_factor * np.asarray(decode_step_time(
        inst.model_by_name[cfg.model], inst.gpu_by_name[cfg.decode_gpu], prec, cfg.decode_tp,
        cfg.decode_pp, np.arange(1, b + 1, dtype=float), q.prompt_tokens + q.output_tokens / 2,
        inst.perf))
    _, _, per_transfer, lanes = kv_link(inst, cfg)
    return UnitTimes(t_pre=q.delay_factor * float(out["prefill"][i, 0]),
                     t_kv=q.delay_factor * float(out["kv_transfer"][i, 0]), step_s=steps,
                     prefill_servers=cfg.n_prefill * cfg.pp,
                     kv_servers=max(1, lanes // per_transfer), decode_replicas=cfg.n_decode,
                     batch=b, output_tokens=round(q.output_tokens))
