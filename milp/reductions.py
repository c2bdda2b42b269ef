r"""Reductions that keep an optimum of the MILP and shrink it (proofs in docs/milp.md §Reductions).

A generic solver sees rows and columns; these use what the instance *means*. Each
removes configurations or lowers the replica bounds :math:`\bar R_c` so that **at least
one optimal plan of the complete model survives** (the reduced optimum equals the
complete one; tests compare them on bundled and generated instances). They act on the
index sets (:func:`milp.index.make_index`), before either build, so the PuLP and the
array build still coincide; ``hetserve export`` writes the complete model unless asked
for the reduced one.

1. **Dominated configurations** (``dominated``). Configuration :math:`c'` is dominated by
   :math:`c \ne c'` of the *same deployment* :math:`(j, g, p)` when a replica of *c*
   holds no more GPUs of any type than one of :math:`c'` (:math:`U_{cg} \le U_{c'g}`,
   ``routes.gpu_use``; :math:`n_c m_c \le n_{c'} m_{c'}` on one GPU type) and, for
   every type *i* that :math:`c'` can serve, *c* can serve it
   too with :math:`\mu_{ic} \ge \mu_{ic'}` and :math:`D_{ic} \le D_{ic'}` (the error
   :math:`e_{ic}` depends on *(i, j, p)* only, so it is equal). Moving every replica and
   every share of :math:`c'` onto *c* keeps a plan feasible and does not raise its
   cost, so :math:`c'` is dropped. Ties (identical columns) keep the lower index.
2. **Budget net of storage** (``budget``). A replica of *c* stores its model, so
   :math:`T\pi_c r_c + T p^s S_{j(c)} \le \delta` on every feasible plan:
   :math:`\bar R_c \le \lfloor(\delta - T p^s S_j)/(T\pi_c)\rfloor`.
3. **Incumbent bound** (``incumbent``, needs a known plan's cost *U*, e.g. AGH's MIP
   start). Every plan pays at least :math:`P_{\min} = \sum_i 3600T\lambda_i[(1-\zeta_i)
   \rho_i D^{\min}_i + \zeta_i \min(\rho_i D^{\min}_i, \varphi_i)]` in delay and unmet
   penalties (:math:`D^{\min}_i` = least delay of a usable route of *i*), so a plan
   with :math:`r_c` replicas of *c* costs at least :math:`T\pi_c r_c + T p^s S_{j(c)} +
   P_{\min}`. Plans costing more than *U* cannot be optimal:
   :math:`\bar R_c \le \lfloor (U - P_{\min} - T p^s S_j)/(T\pi_c) \rfloor`.

4. **Reduced-cost fixing** (``reduced_cost``, needs *U* too): from the LP relaxation
   of the model reduced by 1–3, a certified Lagrangian bound *L* and reduced costs *d*;
   a configuration with :math:`L + d_{w_c} > U` is dropped and
   :math:`\bar R_c \le \lfloor (U - L)/d_{r_c}\rfloor` (:mod:`milp.fixing`; it needs an
   LP solve, so :func:`milp.solve.solve` applies it, not :func:`reduce`).

A configuration whose bound drops below 1 loses its columns and routes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from hetserve.instances.model import Instance

INT_EPS = 1e-9
REL_EPS = 1e-9
"""Relative slack on the incumbent bound (floating-point sums of the cost terms)."""


@dataclass(frozen=True)
class Reductions:
    """Which reductions :func:`reduce` applies (default: all; ``Reductions.none()``: the
    complete model, as exported)."""

    dominated: bool = True
    budget: bool = True
    incumbent: bool = True
    reduced_cost: bool = True

    @classmethod
    def none(cls) -> Reductions:
        return cls(**{f.name: False for f in fields(cls)})

    def label(self) -> str:
        on = [f.name for f in fields(self) if getattr(self, f.name)]
        return "+".join(on) if on else "none"


@dataclass(frozen=True)
class Reduced:
    """What :func:`reduce` kept: ``keep`` (configurations that may still get columns),
    the lowered replica bounds ``rbar`` (all configurations) and counts for the stats."""

    keep: np.ndarray
    rbar: np.ndarray
    counts: dict[str, int]
    dominator: np.ndarray


def dominated_configs(instance: Instance, usable: np.ndarray,
                      candidates: np.ndarray) -> np.ndarray:
    """For each configuration, a surviving candidate of the same deployment that
    dominates it (rule 1 of the module docstring), or -1 if it is not dominated.

    Dominance is transitive and, with the tie-break, antisymmetric, so following the
    first dominator found ends at an undominated one, which is returned."""
    t = instance.routes
    use = t.gpu_use
    out = np.zeros(len(t), dtype=bool)
    by = -np.ones(len(t), dtype=np.int64)
    for members in t.deployments.values():
        cs = [c for c in members if candidates[c]]
        if len(cs) < 2:
            continue
        U = usable[:, cs]
        mu = np.where(U, t.capacity[:, cs], -np.inf)
        D = np.where(U, t.delay[:, cs], np.inf)
        for b, cb in enumerate(cs):  # is cb dominated by some ca?
            ub = U[:, b]
            for a, ca in enumerate(cs):
                if a == b or out[ca] or np.any(use[ca] > use[cb]):
                    continue
                if np.any(ub & ~U[:, a]):
                    continue
                if np.all(mu[ub, a] >= mu[ub, b]) and np.all(D[ub, a] <= D[ub, b]):
                    same = (np.array_equal(use[ca], use[cb]) and np.array_equal(U[:, a], ub)
                            and np.array_equal(mu[ub, a], mu[ub, b])
                            and np.array_equal(D[ub, a], D[ub, b]))
                    if same and ca > cb:
                        continue  # identical: keep the lower index, drop the other
                    out[cb] = True
                    by[cb] = ca
                    break
    for c in np.nonzero(out)[0]:
        top = by[c]
        while out[top]:
            top = by[top]
        by[c] = top
    return by


def penalty_floor(instance: Instance, usable: np.ndarray) -> float:
    """:math:`P_{\\min}`: a lower bound on delay + unmet penalties of every plan."""
    t = instance.routes
    secs = 3600.0 * instance.horizon_h
    total = 0.0
    for i, q in enumerate(instance.query_types):
        d = t.delay[i, usable[i]]
        per_served = q.delay_penalty * float(d.min()) if len(d) else math.inf
        per_unmet = q.unmet_penalty
        share_forced = 1.0 - q.max_unmet
        if share_forced > 0 and not math.isfinite(per_served):
            return 0.0  # a type that must be served and cannot be: infeasible; no bound
        rest = min(per_served, per_unmet)
        total += secs * q.rate_per_s * (share_forced * per_served + q.max_unmet * rest
                                        if share_forced > 0 else q.max_unmet * rest)
    return total


def reduce(instance: Instance, usable: np.ndarray, rbar: np.ndarray,
           reductions: Reductions, upper_bound: float | None = None) -> Reduced:
    """Apply ``reductions`` to the usable routes and replica bounds of ``instance``.

    ``usable`` is :func:`milp.index.usable_mask`, ``rbar`` the plain bounds of
    :func:`milp.index.replica_bounds`; ``upper_bound`` the cost of a known feasible plan
    (for the incumbent bound; ignored when ``None`` or not finite)."""
    t = instance.routes
    rbar = rbar.astype(float).copy()
    T = instance.horizon_h
    sizes = np.array([m.weight_gb_fp16 for m in instance.models])[t.config_model]
    store = T * instance.storage_price_per_gb_h * sizes
    per = T * t.price_per_replica_hour
    counts = {"dominated": 0, "budget_cut": 0, "incumbent_cut": 0}

    def lower(limit: np.ndarray, key: str) -> None:
        cut = np.floor(limit + INT_EPS)
        lowered = (cut < rbar) & (rbar >= 1)
        counts[key] += int(lowered.sum())
        rbar[lowered] = np.maximum(cut[lowered], 0.0)

    with np.errstate(divide="ignore", invalid="ignore"):
        if reductions.budget and instance.budget is not None:
            lower(np.where(per > 0, (instance.budget - store) / per, np.inf), "budget_cut")
        if (reductions.incumbent and upper_bound is not None and math.isfinite(upper_bound)):
            room = upper_bound * (1 + REL_EPS) - penalty_floor(instance, usable) - store
            lower(np.where(per > 0, room / per, np.inf), "incumbent_cut")
    keep = usable.any(axis=0) & (rbar >= 1)
    dominator = -np.ones(len(t), dtype=np.int64)
    if reductions.dominated:
        dominator = dominated_configs(instance, usable, keep)
        counts["dominated"] = int((dominator >= 0).sum())
        keep &= dominator < 0
    return Reduced(keep, rbar, counts, dominator)


def map_plan(reduced: Reduced, r: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move the replicas and shares of dominated configurations onto their dominators
    (the map of the proof; used to carry a MIP start into the reduced model)."""
    r = np.asarray(r, dtype=float).copy()
    x = np.asarray(x, dtype=float).copy()
    for c in np.nonzero(reduced.dominator >= 0)[0]:
        d = reduced.dominator[c]
        r[d] += r[c]
        x[:, d] += x[:, c]
        r[c] = 0.0
        x[:, c] = 0.0
    return r, x
