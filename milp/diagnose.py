"""Name what makes an instance infeasible, in the planner's terms.

Checks, in order (each message names the query type or resource and the numbers):

1. per query type that must be served (ζ_i < 1): no configuration fits its sequences
   (memory / context); none meets its delay SLO (fastest D(1) and where); none meets
   its error SLO (only when even the best single usable route's error exceeds ε_i:
   a mix cannot beat its best member); under the average-delay rule, no route's
   D(b*) ≤ Δ_i; every usable configuration needs more GPUs than available;
2. global limits: the LP relaxation minimising rental + storage on the instance
   without a budget gives a lower bound on the spend needed to serve 1 − ζ_i of each
   type; if it exceeds the budget, the budget is named with that figure. Availability
   and storage are tested the same way (the instance without that limit: its rows and
   its share of the bounds R̄ go); if the relaxation is feasible, a short MILP
   (10 s) per limit finds which one whole replicas cannot meet.

If nothing specific is found, the message says so (the limits are jointly infeasible).

When GPU availability is named, :func:`availability_cut` also names the bottleneck as a
minimum cut (networkx): in the network source → query type *i* (capacity: the fewest GPUs
that can carry its minimum demand, (1 − ζ_i) times the optimum of the small LP
min Σ_c a_ic y_c s.t. Σ_c y_c = 1, Σ_c (e_ic − ε_i) y_c ≤ 0 (and the mean-delay row under
the average-delay rule), y ≥ 0, over its usable configurations c, with
a_ic = λ_i g_c / (ρ_max μ_ic) the GPUs a full load of *i* takes on c) → GPU type
(uncapacitated, where *i* has a usable configuration whose one replica fits in the GPUs
available) → sink (capacity: the GPUs available), every plan gives a flow that saturates
the source edges (GPUs add up over the types a replica serves; integrality is dropped, so
this is a relaxation). A maximum flow below that total proves infeasibility, and the source side of
the minimum cut is a set of query types whose GPU types hold too few GPUs for them.
"""

from __future__ import annotations

import numpy as np

from hetserve.instances.model import Instance
from hetserve.milp.highs_model import build_arrays
from hetserve.milp.highs_run import run_array_model, solve_relaxation
from hetserve.milp.index import usable_mask

_MILP_CHECK_S = 10.0


def diagnose(instance: Instance) -> list[str]:
    """Human-readable reasons why ``instance`` has no feasible plan (empty if none found)."""
    t = instance.routes
    out: list[str] = []
    mask = usable_mask(instance)
    for i, q in enumerate(instance.query_types):
        if q.max_unmet >= 1.0:
            continue
        must = f"query type `{q.name}`"
        if not t.fits[i].any():
            out.append(f"{must}: no configuration fits a {q.prompt_tokens + q.output_tokens:.0f}-"
                       "token sequence (memory or context window)")
            continue
        if not t.usable[i].any():
            d1 = np.where(t.fits[i], t.delay_at_1[i], np.inf)
            c = int(np.argmin(d1))
            out.append(f"{must}: no configuration meets the {q.delay_slo_s:g} s delay SLO; "
                       f"fastest is {d1[c]:.2f} s on {t.configs[c].label()}")
            continue
        err = np.where(t.usable[i], t.error[i], np.inf)
        c = int(np.argmin(err))
        if err[c] > q.error_slo + 1e-12:
            out.append(f"{must}: no model meets the error SLO {q.error_slo:g} "
                       f"(best {err[c]:.4g} on {t.configs[c].label()})")
            continue
        if instance.delay_constraint in ("average", "both"):
            dl = np.where(t.usable[i], t.delay[i], np.inf)
            c = int(np.argmin(dl))
            if dl[c] > q.delay_slo_s:
                out.append(f"{must}: no route meets the {q.delay_slo_s:g} s mean-delay SLO; "
                           f"fastest is {dl[c]:.2f} s on {t.configs[c].label()}")
                continue
        if not mask[i].any():
            out.append(f"{must}: no single configuration meets both its error and delay SLOs "
                       "(single placement)")
            continue
        gpu_limits = np.array([instance.gpu_limit(g.name) for g in instance.gpus])
        ok = np.all(t.gpu_use <= gpu_limits[None, :], axis=1)
        if not (mask[i] & ok).any():
            out.append(f"{must}: every usable configuration needs more GPUs per replica than "
                       "are available")
    if out:
        return out

    free = {"budget": None, "storage_capacity_gb": None,
            "availability": {g.name: 10**9 for g in instance.gpus}}
    unlimited = instance.replace(**free)
    status, _, _, _ = solve_relaxation(unlimited, objective="spend")
    if status != "Optimal":
        return ["the SLOs and minimum service levels cannot be met together even without "
                "budget, availability and storage limits (LP relaxation infeasible)"]
    limits = {"budget": ("budget", instance.budget is not None),
              "availability": ("GPU availability", True),
              "storage_capacity_gb": ("storage capacity", instance.storage_capacity_gb is not None)}
    if instance.budget is not None:
        _, need, _, _ = solve_relaxation(instance.replace(budget=None), objective="spend")
        if np.isfinite(need) and need > instance.budget * (1 + 1e-9):
            out.append(f"budget ${instance.budget:,.2f} < cheapest plan that serves the minimum "
                       f"demand (≥ ${need:,.2f}, LP bound on rental + storage)")
    st_all, _, _, _ = solve_relaxation(instance, objective="spend")
    for key in ("availability", "storage_capacity_gb"):
        text, present = limits[key]
        if not present or st_all == "Optimal":
            continue
        st_wo, _, _, _ = solve_relaxation(instance.replace(**{key: free[key]}), objective="spend")
        if st_wo == "Optimal":
            out.append(f"{text} is too small for the minimum demand: the LP relaxation is "
                       f"infeasible with it and feasible without it ({_limits(instance, key)})")
            cut = availability_cut(instance) if key == "availability" else None
            if cut is not None:
                out.append(cut)
    if out:
        return out
    # The relaxation is feasible: integrality makes it infeasible. Try each limit alone.
    for key, (text, present) in limits.items():
        if not present:
            continue
        st, val, _, _ = run_array_model(build_arrays(instance.replace(**{key: free[key]})),
                                        objective="spend", time_limit_s=_MILP_CHECK_S)
        if st == "Optimal":
            extra = f" (cheapest whole-replica plan: ${val:,.2f})" if key == "budget" else ""
            out.append(f"{text} cannot be met with whole replicas{extra} "
                       f"({_limits(instance, key)})")
    return out or ["no single cause found: the limits are jointly infeasible with whole replicas"]


def _limits(instance: Instance, key: str) -> str:
    if key == "budget":
        return f"budget ${instance.budget:,.2f}"
    if key == "storage_capacity_gb":
        return f"capacity {instance.storage_capacity_gb:,.0f} GB"
    return ", ".join(f"{g.name}: {instance.gpu_limit(g.name)} GPUs" for g in instance.gpus)


def availability_cut(instance: Instance) -> str | None:
    """The GPU-availability bottleneck as a max-flow/min-cut (module docstring), or None if
    the flow relaxation is feasible."""
    import networkx as nx  # imported on use: only this diagnosis needs it

    t = instance.routes
    limits = np.array([instance.gpu_limit(g.name) for g in instance.gpus])
    # a configuration whose one replica needs more GPUs than there are cannot be used
    mask = usable_mask(instance) & np.all(t.gpu_use <= limits[None, :], axis=1)[None, :]
    graph = nx.DiGraph()
    need_total = 0.0
    for i, q in enumerate(instance.query_types):
        share = 1.0 - q.max_unmet
        if share <= 0 or not mask[i].any():
            continue
        need = share * _fewest_gpus(instance, i, mask[i])
        need_total += need
        graph.add_edge("source", ("type", i), capacity=need)
        for k in np.nonzero(t.gpu_use[mask[i]].any(axis=0))[0]:
            graph.add_edge(("type", i), ("gpu", int(k)))  # no capacity attribute: unbounded
    for g, gpu in enumerate(instance.gpus):
        if graph.has_node(("gpu", g)):
            graph.add_edge(("gpu", g), "sink", capacity=float(instance.gpu_limit(gpu.name)))
    if need_total <= 0 or not graph.has_node("sink"):
        return None
    flow, (side, _) = nx.minimum_cut(graph, "source", "sink")
    if flow >= need_total * (1 - 1e-9):
        return None
    types = sorted(i for kind, *rest in (n for n in side if isinstance(n, tuple))
                   for i in rest if kind == "type")
    gpus_cut = sorted(g for kind, *rest in (n for n in side if isinstance(n, tuple))
                      for g in rest if kind == "gpu")
    need = sum(graph["source"][("type", i)]["capacity"] for i in types)
    have = sum(instance.gpu_limit(instance.gpus[g].name) for g in gpus_cut)
    names = ", ".join(f"`{instance.query_types[i].name}`" for i in types)
    where = ", ".join(f"{instance.gpus[g].name}: {instance.gpu_limit(instance.gpus[g].name)}"
                      for g in gpus_cut)
    who = (f"query types {names} need", "they") if len(types) > 1 else \
        (f"query type {names} needs", "it")
    return (f"bottleneck (max-flow/min-cut): {who[0]} at least {need:,.1f} GPUs on the GPU "
            f"types {who[1]} can use, which have {have:,} ({where})")


def _fewest_gpus(instance: Instance, i: int, usable: np.ndarray) -> float:
    """Fewest GPUs (fractional) that carry all of type ``i``'s demand within its error SLO
    (and mean-delay SLO under the average rule): the small LP of the module docstring."""
    from scipy.optimize import linprog

    t = instance.routes
    q = instance.query_types[i]
    cols = np.flatnonzero(usable)
    cost = q.rate_per_s * t.gpus_per_replica[cols] / (instance.max_utilisation
                                                     * t.capacity[i, cols])
    rows = [t.error[i, cols] - q.error_slo]
    if instance.delay_constraint in ("average", "both"):
        rows.append(t.delay[i, cols] - q.delay_slo_s)
    res = linprog(cost, A_ub=np.array(rows), b_ub=np.zeros(len(rows)),
                  A_eq=np.ones((1, len(cols))), b_eq=[1.0], bounds=(0, None), method="highs")
    return float(res.fun) if res.status == 0 else float(cost.min())
