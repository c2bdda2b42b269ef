"""Index sets and parameters shared by both builds of the MILP (PuLP and highspy arrays).

Everything here is computed once per instance with numpy, so that
:func:`milp.formulation.build` (PuLP, readable) and :func:`milp.highs_model.build_arrays`
(highspy, fast) create *the same* columns and rows in the same order. The math is in
:mod:`milp.formulation`'s docstring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from hetserve.instances.model import Instance
from hetserve.milp.reductions import Reduced, Reductions, reduce

INT_EPS = 1e-9
"""Slack used when rounding the replica bounds R̄ (so 3.0000000001 demand stays 3)."""


@dataclass(frozen=True)
class Tightening:
    """Which valid inequalities the build adds on top of the plain model
    (docs/semantics.md#exact-milp).

    The defaults are the set measured to help (``docs/milp.md``); ``Tightening.none()``
    gives the plain model (the baseline of the measurements).

    link
        Facility-location linking ``x_ic ≤ v_ic·w_c`` (``v_ic = 1`` unless ``vub``).
    vub
        Disaggregated variable upper bound ``v_ic = min(1, ρ_max μ_ic R̄_c / λ_i)``.
    min_replica
        ``r_c ≥ w_c`` (an open configuration has at least one replica). Always on in
        the MIP sense (it only removes "open but empty" points); the flag only exists
        to measure the LP bound without it.
    cover
        Error cover ``Σ_{c: e_ic ≤ ε_i} w_c ≥ Σ_c x_ic``: a served mix whose mean error
        is ≤ ε_i uses at least one route whose own error is ≤ ε_i (likewise for the
        average delay). Valid; not implied by the LP; the main lever on the root gap.
    rounding
        Per-route integer-rounding cut ``r_c ≥ ⌈a⌉ w_c − (a/f)(w_c − x_ic)`` with
        ``a = λ_i/(ρ_max μ_ic) > 1`` non-integer and ``f = a − ⌊a⌋``: the convex hull of
        ``{r ≥ a x, r ∈ ℤ, 0 ≤ x ≤ w}``.
    """

    link: bool = True
    vub: bool = True
    min_replica: bool = True
    cover: bool = True
    rounding: bool = False

    @classmethod
    def none(cls) -> Tightening:
        return cls(**{f.name: False for f in fields(cls)})

    def label(self) -> str:
        on = [f.name for f in fields(self) if getattr(self, f.name)]
        return "+".join(on) if on else "plain"


@dataclass(frozen=True, eq=False)
class ModelIndex:
    """Index sets of one instance (all arrays read-only).

    Attributes
    ----------
    cfg
        Configuration indices (into ``instance.routes.configs``) that get columns: those
        with at least one usable route and ``R̄_c ≥ 1``. Position ``k`` in ``cfg`` is the
        column order of ``r`` and ``w``.
    rbar
        R̄ of each active configuration.
    models
        Model indices with at least one active configuration (columns ``o``).
    cfg_model_pos
        For each active configuration, the position of its model in ``models``.
    ri, rk
        Usable routes (query type ``ri``, active configuration position ``rk``), sorted
        by (i, k): the column order of ``x`` (and ``z``).
    load
        ``λ_i / μ_ic`` of each route (replicas of load at full share).
    link_coef
        ``v_ic`` of the linking row ``x_ic ≤ v_ic w_c``.
    deployments
        Active-configuration positions of each deployment with ≥ 2 active (TP, PP) options.
    gpu_rows
        ``(gpu name, limit, positions)`` for each GPU type whose availability can bind:
        the active-configuration positions using that type (``routes.gpu_use > 0``);
        :meth:`gpu_row_use` gives their coefficients.
    reductions, reduced
        The reductions applied (:mod:`milp.reductions`) and what they kept and removed
        (``None`` for the complete model).
    """

    instance: Instance
    tightening: Tightening
    cfg: np.ndarray
    rbar: np.ndarray
    models: np.ndarray
    cfg_model_pos: np.ndarray
    ri: np.ndarray
    rk: np.ndarray
    load: np.ndarray
    link_coef: np.ndarray
    deployments: tuple[np.ndarray, ...]
    gpu_rows: tuple[tuple[str, int, np.ndarray], ...]
    reductions: Reductions = field(default_factory=Reductions.none)
    reduced: Reduced | None = None

    @property
    def n_cfg(self) -> int:
        return len(self.cfg)

    @property
    def n_routes(self) -> int:
        return len(self.ri)

    def gpu_row_use(self) -> np.ndarray:
        """``(n_cfg, len(gpu_rows))``: GPUs per replica each active configuration holds of
        the GPU type of each availability row (``routes.gpu_use``), the rows' coefficients."""
        t = self.instance.routes
        pos = {g.name: k for k, g in enumerate(self.instance.gpus)}
        cols = np.array([pos[name] for name, _, _ in self.gpu_rows], dtype=np.int64)
        return t.gpu_use[np.ix_(self.cfg, cols)].astype(float)

    def route_cfg(self) -> np.ndarray:
        """Configuration index (into ``routes.configs``) of each route."""
        return self.cfg[self.rk]


def usable_mask(instance: Instance) -> np.ndarray:
    """Routes that may carry traffic: ``routes.usable`` (docs/semantics.md#performance-model
    delay/memory filter), and
    under single placement also error ≤ ε_i and (average delay) D ≤ Δ_i, since a type
    served by one configuration alone must meet its SLOs on that route."""
    t = instance.routes
    mask = t.usable & (t.capacity > 0)
    if instance.single_placement:
        eps = np.array([q.error_slo for q in instance.query_types])[:, None]
        mask = mask & (t.error <= eps + 1e-12)
        if instance.delay_constraint in ("average", "both"):
            slo = np.array([q.delay_slo_s for q in instance.query_types])[:, None]
            mask = mask & (t.delay <= slo + 1e-12)
    return mask


def replica_bounds(instance: Instance, mask: np.ndarray) -> np.ndarray:
    """R̄_c = min(⌈Σ_i λ_i/(ρ_max μ_ic)⌉ over usable i, ⌊N_g/(n m)⌋, ⌊δ/(T π_c)⌋).

    The first term: more replicas than the whole demand can load are never needed
    (rental is priced), the others are availability and budget alone."""
    t = instance.routes
    demand = np.where(mask, t.load_per_share, 0.0).sum(axis=0) / instance.max_utilisation
    rbar = np.ceil(demand - INT_EPS)
    limits = np.array([instance.gpu_limit(g.name) for g in instance.gpus], dtype=float)
    with np.errstate(divide="ignore"):  # a GPU type the configuration does not use: no limit
        per_type = np.where(t.gpu_use > 0, limits[None, :] / np.maximum(t.gpu_use, 1), np.inf)
    rbar = np.minimum(rbar, np.floor(per_type.min(axis=1, initial=np.inf) + INT_EPS))
    if instance.budget is not None:
        per = instance.horizon_h * t.price_per_replica_hour
        rbar = np.minimum(rbar, np.floor(instance.budget / np.where(per > 0, per, 1.0) + INT_EPS)
                          + np.where(per > 0, 0.0, math.inf))
    return np.maximum(rbar, 0.0)


def make_index(instance: Instance, tightening: Tightening | None = None,
               reductions: Reductions | None = None,
               upper_bound: float | None = None,
               rbar_cap: np.ndarray | None = None,
               reduced: Reduced | None = None) -> ModelIndex:
    """The index sets of the model; ``reductions`` (default: none, the complete model)
    drops configurations and lowers R̄ as :mod:`milp.reductions` proves safe, using
    ``upper_bound`` (a known plan's cost) for the incumbent bound. ``rbar_cap`` (one
    value per configuration, e.g. :func:`milp.fixing.reduced_cost_caps`) lowers R̄
    further; a configuration capped below 1 loses its columns. ``reduced`` reuses the
    reductions of an earlier index of the same instance and ``reductions`` (their
    dominance test costs ≈ 0.05 s on paper-base, a twentieth of its solve); computed with
    any known plan's cost, they keep an optimal plan, so they stay valid next to caps
    from a cheaper plan."""
    tightening = Tightening() if tightening is None else tightening
    reductions = Reductions.none() if reductions is None else reductions
    t = instance.routes
    mask = usable_mask(instance)
    rbar_all = replica_bounds(instance, mask)
    red = None
    if reduced is not None and reductions != Reductions.none():
        red = reduced
        rbar_all = red.rbar
        active = red.keep
    elif reductions != Reductions.none():
        red = reduce(instance, mask, rbar_all, reductions, upper_bound)
        rbar_all = red.rbar
        active = red.keep
    else:
        active = mask.any(axis=0) & (rbar_all >= 1)
    if rbar_cap is not None:
        rbar_all = np.minimum(rbar_all, np.floor(np.asarray(rbar_cap, dtype=float) + INT_EPS))
        active = active & (rbar_all >= 1)
    cfg = np.nonzero(active)[0]
    pos = -np.ones(len(t), dtype=np.int64)
    pos[cfg] = np.arange(len(cfg))
    mask = mask & active[None, :]
    ri, rc = np.nonzero(mask)
    rk = pos[rc]
    load = t.load_per_share[ri, rc]
    rbar = rbar_all[cfg]
    if tightening.vub:
        link_coef = np.minimum(1.0, instance.max_utilisation * rbar[rk] / load)
    else:
        link_coef = np.ones(len(ri))
    models = np.unique(t.config_model[cfg])
    mpos = -np.ones(len(instance.models), dtype=np.int64)
    mpos[models] = np.arange(len(models))
    deps = []
    if not instance.multi_parallelism:
        for members in t.deployments.values():
            ks = pos[np.array(members)]
            ks = ks[ks >= 0]
            if len(ks) >= 2:
                deps.append(np.sort(ks))
    gpu_rows = []
    for g, gpu in enumerate(instance.gpus):
        ks = np.nonzero(t.gpu_use[cfg, g] > 0)[0]
        if len(ks) == 0:
            continue
        limit = instance.gpu_limit(gpu.name)
        gpr = t.gpu_use[cfg[ks], g]
        if instance.multi_parallelism:
            most = float((gpr * rbar[ks]).sum())
        else:  # one (TP, PP) per deployment: the largest option per deployment can bind
            most = 0.0
            keys = [t.configs[c].deployment for c in cfg[ks]]
            best: dict[tuple[str, str, str], float] = {}
            for key, v in zip(keys, gpr * rbar[ks]):
                best[key] = max(best.get(key, 0.0), float(v))
            most = sum(best.values())
        if most > limit:
            gpu_rows.append((gpu.name, limit, ks))
    cfg_model_pos = mpos[t.config_model[cfg]]
    for a in (cfg, rbar, models, cfg_model_pos, ri, rk, load, link_coef):
        a.setflags(write=False)
    return ModelIndex(instance, tightening, cfg, rbar, models, cfg_model_pos, ri, rk,
                      load, link_coef, tuple(deps), tuple(gpu_rows), reductions, red)


def binding_storage_capacity(instance: Instance, idx: ModelIndex) -> float | None:
    """C^s when the storage row can bind (the models that could be stored exceed it), else
    None: the row is written only then."""
    cap = instance.storage_capacity_gb
    if cap is None:
        return None
    total = sum(instance.models[int(j)].weight_gb_fp16 for j in idx.models)
    return float(cap) if total > cap else None
