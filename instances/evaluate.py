r"""The one evaluator (docs/semantics.md#evaluator): recompute every cost term, check every constraint.

Every method's plan (MILP, GH, AGH, baselines, each rolling window, each stress
scenario) goes through :func:`evaluate`. It uses only the instance and the plan, never
anything the method computed. With :math:`r_c` replicas and shares :math:`x_{ic}`, and
:math:`u_i = \max(0, 1 - \sum_c x_{ic})`:

* rental :math:`= T \sum_c \pi_c r_c` (:math:`\pi_c` = $/h of one replica = price · n · m),
* storage :math:`= T\, p^s \sum_j S_j o_j` with :math:`o_j = 1` iff model *j* has a replica,
* delay penalty :math:`= 3600\,T \sum_i \rho_i \lambda_i \sum_c D_{ic} x_{ic}`,
* unmet penalty :math:`= 3600\,T \sum_i \phi_i \lambda_i u_i`,

and the constraints of docs/semantics.md#exact-milp, each reported as a named :class:`Violation`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hetserve.instances.errors import InstanceError

if TYPE_CHECKING:
    from hetserve.instances.model import Instance
    from hetserve.instances.solution import Solution

FEAS_TOL = 1e-6
"""Absolute slack on shares and utilisations; relative slack on money (budget)."""


def relative_gap(upper: float | None, lower: float | None) -> float:
    """HiGHS's gap |UB − LB| / |UB|: 0 if both are 0, ∞ without an incumbent or bound,
    or if UB = 0 ≠ LB. The one gap definition used everywhere in hetserve."""
    if upper is None or lower is None or not math.isfinite(upper) or not math.isfinite(lower):
        return math.inf
    if upper == lower:
        return 0.0
    if upper == 0:
        return math.inf
    return abs(upper - lower) / abs(upper)


@dataclass(frozen=True)
class Violation:
    """A broken constraint: ``kind`` (e.g. ``capacity``), its ``subject`` and by how much."""

    kind: str
    subject: str
    amount: float
    message: str


@dataclass(frozen=True)
class CostBreakdown:
    rental: float
    storage: float
    delay_penalty: float
    unmet_penalty: float

    @property
    def total(self) -> float:
        return self.rental + self.storage + self.delay_penalty + self.unmet_penalty

    def to_dict(self) -> dict[str, float]:
        return {**asdict(self), "total": self.total}


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` found: cost terms, violations and useful per-item figures."""

    cost: CostBreakdown
    violations: tuple[Violation, ...]
    served: dict[str, float] = field(default_factory=dict)
    unmet: dict[str, float] = field(default_factory=dict)
    gpus_by_type: dict[str, int] = field(default_factory=dict)
    utilisation: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    """What the plan does that no constraint of the instance forbids but a real engine would
    refuse: a replica whose TP breaks an attention head (the roofline plans every TP;
    docs/performance.md, "What it models")."""

    @property
    def feasible(self) -> bool:
        return not self.violations

    @property
    def objective(self) -> float:
        return self.cost.total

    def to_dict(self) -> dict[str, Any]:
        return {
            "feasible": self.feasible,
            "cost": self.cost.to_dict(),
            "violations": [asdict(v) for v in self.violations],
            "served": self.served,
            "unmet": self.unmet,
            "gpus_by_type": self.gpus_by_type,
            "utilisation": self.utilisation,
            "warnings": list(self.warnings),
        }


def cost_terms(instance: Instance, r: np.ndarray, x: np.ndarray) -> CostBreakdown:
    """The four cost terms of a plan in index form (no feasibility check)."""
    t = instance.routes
    hours = instance.horizon_h
    rental = hours * float(t.price_per_replica_hour @ r)
    stored = np.zeros(len(instance.models), dtype=bool)
    stored[t.config_model[r > 0]] = True
    sizes = np.array([m.weight_gb_fp16 for m in instance.models])
    storage = hours * instance.storage_price_per_gb_h * float(sizes[stored].sum())
    lam = t.rates
    rho = np.array([q.delay_penalty for q in instance.query_types])
    phi = np.array([q.unmet_penalty for q in instance.query_types])
    mean_delay = np.where(x > 0, t.delay * x, 0.0).sum(axis=1)
    unmet = np.maximum(0.0, 1.0 - x.sum(axis=1))
    secs = 3600.0 * hours
    return CostBreakdown(
        rental=rental,
        storage=storage,
        delay_penalty=secs * float(np.sum(rho * lam * mean_delay)),
        unmet_penalty=secs * float(np.sum(phi * lam * unmet)),
    )


def evaluate(instance: Instance, solution: Solution) -> Evaluation:
    """Cost and constraint check of ``solution`` on ``instance``.

    A configuration the instance does not have (unknown names, or weights that do not
    fit) is an :class:`InstanceError`, since the plan cannot even be priced.
    """
    r, x = solution.to_arrays(instance)
    return evaluate_arrays(instance, r, x)


def evaluate_arrays(instance: Instance, r: np.ndarray, x: np.ndarray) -> Evaluation:
    """:func:`evaluate` on the index form ``(r, x)``."""
    t = instance.routes
    q = instance.query_types
    r = np.asarray(r)
    x = np.asarray(x, dtype=float)
    v: list[Violation] = []
    if np.any(r < 0) or np.any(x < -FEAS_TOL):
        v.append(Violation("sign", "plan", float(min(r.min(initial=0), x.min(initial=0))),
                           "negative replicas or routed share"))
    served = x.sum(axis=1)
    unmet = np.maximum(0.0, 1.0 - served)
    used = x > FEAS_TOL
    for i, qt in enumerate(q):
        if served[i] > 1 + FEAS_TOL:
            v.append(Violation("demand", qt.name, served[i] - 1,
                               f"query type {qt.name!r} is routed {served[i]:.6f} > 1 of its demand"))
        if unmet[i] > qt.max_unmet + FEAS_TOL:
            v.append(Violation("unmet", qt.name, unmet[i] - qt.max_unmet,
                               f"query type {qt.name!r} leaves {unmet[i]:.4f} unserved > max "
                               f"{qt.max_unmet:.4f}"))
        for c in np.nonzero(used[i])[0]:
            if not t.fits[i, c]:
                v.append(Violation("memory", qt.name, float(x[i, c]),
                                   f"{qt.name!r} on {t.configs[c].label()}: a "
                                   f"{qt.prompt_tokens + qt.output_tokens:.0f}-token sequence does "
                                   "not fit the KV cache or the model's context window"))
            elif not t.usable[i, c]:
                v.append(Violation("delay", qt.name, float(t.delay_at_1[i, c] - qt.delay_slo_s),
                                   f"{qt.name!r} on {t.configs[c].label()}: latency "
                                   f"{t.delay_at_1[i, c]:.2f} s > SLO {qt.delay_slo_s:.2f} s"))
        if served[i] > FEAS_TOL:
            mean_err = float(t.error[i] @ x[i]) / served[i]
            if mean_err > qt.error_slo + FEAS_TOL:
                v.append(Violation("error", qt.name, mean_err - qt.error_slo,
                                   f"{qt.name!r}: mean error {mean_err:.4f} > SLO {qt.error_slo:.4f}"))
            if instance.delay_constraint in ("average", "both"):
                mean_delay = float(np.where(used[i], t.delay[i] * x[i], 0.0).sum()) / served[i]
                if mean_delay > qt.delay_slo_s * (1 + FEAS_TOL):
                    v.append(Violation("delay-average", qt.name, mean_delay - qt.delay_slo_s,
                                       f"{qt.name!r}: mean latency {mean_delay:.3f} s > SLO "
                                       f"{qt.delay_slo_s:.3f} s"))
        if instance.single_placement and int(used[i].sum()) > 1:
            v.append(Violation("single-placement", qt.name, float(used[i].sum() - 1),
                               f"{qt.name!r} is split over {int(used[i].sum())} configurations"))
    load = t.load(x, where=used & t.fits)
    utilisation = {}
    for c in np.nonzero((load > 0) | (r > 0))[0]:
        cap = instance.max_utilisation * r[c]
        label = t.configs[c].label()
        utilisation[label] = float(load[c] / r[c]) if r[c] > 0 else math.inf
        if load[c] > cap + FEAS_TOL:
            v.append(Violation("capacity", label, float(load[c] - cap),
                               f"{label}: load {load[c]:.4f} replicas > {cap:.4f} available "
                               f"(ρ_max {instance.max_utilisation:g} × {int(r[c])} replicas)"))
    if not instance.multi_parallelism:
        for key, cs in t.deployments.items():
            active = [c for c in cs if r[c] > 0]
            if len(active) > 1:
                v.append(Violation("parallelism", "/".join(key), len(active) - 1,
                                   f"deployment {'/'.join(key)} uses {len(active)} (TP, PP) choices"))
    gpus_by_type: dict[str, int] = {}
    for c in np.nonzero(r > 0)[0]:
        for k in np.nonzero(t.gpu_use[c])[0]:  # a configuration may span GPU types
            name = instance.gpus[k].name
            gpus_by_type[name] = gpus_by_type.get(name, 0) + int(r[c] * t.gpu_use[c, k])
    for g, count in gpus_by_type.items():
        limit = instance.gpu_limit(g)
        if count > limit:
            v.append(Violation("availability", g, count - limit,
                               f"{count} GPUs of type {g} > {limit} available"))
    warnings = []
    for c in np.nonzero(r > 0)[0]:
        cfg = t.configs[c]
        model = instance.model_by_name[cfg.model]
        for tp in dict.fromkeys((cfg.tp, getattr(cfg, "decode_tp", cfg.tp))):
            reason = model.tp_shard_error(tp)
            if reason:
                warnings.append(f"{cfg.label()}: {reason}; vLLM, SGLang and TensorRT-LLM "
                                f"cannot launch this replica")
    cost = cost_terms(instance, r, x)
    if instance.budget is not None:
        spend = cost.rental + cost.storage
        if spend > instance.budget * (1 + FEAS_TOL):
            v.append(Violation("budget", "plan", spend - instance.budget,
                               f"rental + storage ${spend:,.2f} > budget ${instance.budget:,.2f}"))
    if instance.storage_capacity_gb is not None:
        stored = {t.configs[c].model for c in np.nonzero(r > 0)[0]}
        size = sum(instance.model_by_name[m].weight_gb_fp16 for m in stored)
        if size > instance.storage_capacity_gb * (1 + FEAS_TOL):
            v.append(Violation("storage", "plan", size - instance.storage_capacity_gb,
                               f"stored models {size:,.1f} GB > capacity "
                               f"{instance.storage_capacity_gb:,.1f} GB"))
    return Evaluation(
        cost=cost,
        violations=tuple(v),
        served={qt.name: float(served[i]) for i, qt in enumerate(q)},
        unmet={qt.name: float(unmet[i]) for i, qt in enumerate(q)},
        gpus_by_type=gpus_by_type,
        utilisation=utilisation,
        warnings=tuple(warnings),
    )


__all__ = ["FEAS_TOL", "CostBreakdown", "Evaluation", "InstanceError", "Violation",
           "cost_terms", "evaluate", "evaluate_arrays", "relative_gap"]
