"""Check the queueing model a rolling run relies on against the discrete-event simulator.

For every query type at its mean rate of the demand, on its reference configuration (the
configuration a fluid plan by the injected solver routes most of it to): the analytic P99
TTFT of the pools the driver would use (``headroom=None``: the planner's sizing; a number:
that multiple of the fluid replicas, what
:meth:`~hetserve.queueing.sizing.QueueingSizer.predict` does) against the simulated P99
TTFT with Poisson arrivals and the type's token lengths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hetserve.queueing.pools import evaluate_pool
from hetserve.queueing.sizing import QueueingSizer, QueueingSizing
from hetserve.simulator.des import PoolSpec, poisson_requests, route_by_length, simulate

from .window import dominant_routes, window_instance

if TYPE_CHECKING:
    from hetserve.instances.demand import DemandTrace
    from hetserve.instances.model import Instance

    from .driver import WindowSolver

DES_FIELDS = ("type", "config", "rate", "B", "headroom", "units", "p99_ttft_pred_s",
              "p99_ttft_sim_s", "slo_s", "util_sim", "preemptions", "rejected", "note")


def des_check(instance: Instance, demand: DemandTrace, solver: WindowSolver, *,
              sizing: QueueingSizing | None = None, n_requests: int = 20000, seed: int = 0,
              mode: str = "detailed",
              headrooms: Sequence[float | None] = (None, 1.0 / 0.85)) -> list[dict[str, Any]]:
    """One row per (type, headroom) with predicted and simulated P99 TTFT (a type the
    planner cannot size gets one row with a ``note``)."""
    lam = demand.mean_rates()
    fluid = window_instance(instance, demand, lam)
    plan = solver(fluid, None, seed)
    if plan.solution is None:
        raise ValueError(f"solver: no plan for the mean rates ({plan.status.value})")
    _, x = plan.solution.to_arrays(fluid)
    refs = dominant_routes(x, tuple(int(np.argmax(x[i])) for i in range(len(lam))))
    sizer = QueueingSizer(instance, demand, sizing or QueueingSizing())
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for i, q in enumerate(instance.query_types):
        label = instance.routes.configs[refs[i]].label()
        entry = sizer.size(i, refs[i], float(lam[i]))
        if not entry.feasible or entry.plan is None:
            rows.append({"type": q.name, "config": label,
                         "note": "planner infeasible (prefill alone exceeds the SLO)"})
            continue
        res = entry.plan
        prof = sizer.profile(refs[i])
        assert prof is not None  # a feasible sizing has a profile
        pools = [p for p in sizer.slices(i, refs[i], res) if p.share > 0]
        split = res.b_star is not None and res.b_star < sizer.long_ctx(i)
        lam_q = res.rate
        for head in headrooms:
            specs, preds = [], []
            for k, pool in enumerate(pools):
                lam_p = pool.share * lam_q
                if head is None:
                    n = pool.units
                else:
                    n = round(head * lam_p / pool.calibration.max_throughput)
                n = max(1, int(n))
                ev = evaluate_pool(pool.calibration, lam_p, n)
                preds.append(ev.p99_ttft_s)
                specs.append(PoolSpec(f"p{k}", prof, n, int(pool.ctx)))
            req = poisson_requests(sizer.cdf(i), lam_q, n_requests, rng)
            idx, req = route_by_length(req, [s.ctx for s in specs])
            sim = simulate(req, idx, specs, mode=mode)
            rows.append({"type": q.name, "config": label, "rate": lam_q,
                         "B": res.b_star if split else "", "headroom": head or "planner",
                         "units": "+".join(str(sp.units) for sp in specs),
                         "p99_ttft_pred_s": max(preds), "p99_ttft_sim_s": sim.p99_ttft_s,
                         "slo_s": float(sizer.slo[i]),
                         "util_sim": ";".join(f"{p.utilisation:.3f}" for p in sim.pools),
                         "preemptions": sim.preemptions, "rejected": sim.rejected})
    return rows
