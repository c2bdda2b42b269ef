"""One window of the horizon as an :class:`~hetserve.instances.model.Instance`, and the
array helpers the driver applies to a window's plan."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from hetserve.instances import routing

if TYPE_CHECKING:
    from hetserve.instances.demand import DemandTrace
    from hetserve.instances.model import Instance

RATE_FLOOR = 1e-6
"""req/s given to a query type with no demand in a window (an Instance needs rate > 0)."""


def window_instance(base: Instance, demand: DemandTrace, rates: np.ndarray,
                    prompt: np.ndarray | None = None, output: np.ndarray | None = None,
                    kappa: np.ndarray | None = None) -> Instance:
    """``base`` over one window: rates (× κ, penalties ÷ κ), the window's budget share."""
    hours = demand.window_s / 3600.0
    k = np.ones(len(rates)) if kappa is None else np.asarray(kappa, float)
    qts = []
    for i, q in enumerate(base.query_types):
        changes: dict[str, Any] = {
            "rate_per_s": max(float(rates[i]), RATE_FLOOR) * float(k[i]),
            "unmet_penalty": q.unmet_penalty / float(k[i]),
            "delay_penalty": q.delay_penalty / float(k[i]),
        }
        if prompt is not None and output is not None:
            changes["prompt_tokens"] = max(1.0, float(prompt[i]))
            changes["output_tokens"] = max(1.0, float(output[i]))
        qts.append(replace(q, **changes))
    budget = None if base.budget is None else base.budget * hours / base.horizon_h
    return base.replace(query_types=tuple(qts), horizon_h=hours, budget=budget)


def check_demand(instance: Instance, demand: DemandTrace) -> None:
    """``ValueError`` unless ``demand`` has the instance's query types, in order."""
    names = tuple(q.name for q in instance.query_types)
    if demand.query_types != names:
        raise ValueError(f"demand: query types {list(demand.query_types)} do not match the "
                         f"instance's {list(names)}")


def cheapest_routes(inst: Instance) -> tuple[int, ...]:
    """Per type, the configuration with the lowest $ per req/s among usable routes that meet
    its error SLO (any usable route if none does; -1 if the type has no route)."""
    return tuple(int(c) for c in routing.cheapest_routes(inst))


def dominant_routes(x: np.ndarray, fallback: tuple[int, ...]) -> tuple[int, ...]:
    """Per type, the configuration carrying most of its share in ``x`` (``fallback`` where
    the type is not routed)."""
    out = []
    for i in range(x.shape[0]):
        out.append(int(np.argmax(x[i])) if x[i].max() > 1e-9 else fallback[i])
    return tuple(out)


def shed_overload(inst: Instance, r: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Routed shares scaled down on every configuration whose load (over the routes that
    fit) exceeds ρ_max r."""
    t = inst.routes
    return t.cap_to_capacity(x, inst.max_utilisation * r, tol=1e-12, where=t.fits)[0]
