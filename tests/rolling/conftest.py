"""Fixtures for the rolling-horizon tests: a small instance and deterministic solvers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hetserve.instances import Solution, evaluate_arrays, read_instance
from hetserve.instances.demand import DemandTrace
from hetserve.instances.result import RunResult, Status


def cheapest_route_solver(inst, warm, seed, avoid=None) -> RunResult:
    """Deterministic stand-in solver: each type on its cheapest ($ per req/s) usable,
    error-feasible route, ceil(load / ρ_max) replicas. Independent of GH/AGH/MILP.
    ``avoid = {type: configuration}`` keeps a type off one configuration."""
    t = inst.routes
    r = np.zeros(len(t), dtype=np.int64)
    x = np.zeros((len(inst.query_types), len(t)))
    load = np.zeros(len(t))
    for i, q in enumerate(inst.query_types):
        ok = t.usable[i] & (t.error[i] <= q.error_slo) & (t.capacity[i] > 0)
        if avoid and i in avoid:
            ok[avoid[i]] = False
        per = np.where(ok, t.price_per_replica_hour / np.where(ok, t.capacity[i], 1.0), np.inf)
        c = int(np.argmin(per))
        x[i, c] = 1.0
        load[c] += q.rate_per_s / t.capacity[i, c]
    for c in np.nonzero(load)[0]:
        r[c] = math.ceil(load[c] / inst.max_utilisation - 1e-9)
    # one (TP, PP) per deployment: the rule is satisfied by construction for this instance
    ev = evaluate_arrays(inst, r, x)
    return RunResult("cheapest", Status.FEASIBLE if ev.feasible else Status.INFEASIBLE,
                     Solution.from_arrays(inst, r, x), ev, 0.0, seed=seed)


@pytest.fixture(scope="session")
def small():
    return read_instance("small-3x3x4")


def make_trace(inst, factors, window_s=300.0) -> DemandTrace:
    """A hand-made trace: window w has the instance's rates × factors[w] (no samples)."""
    base = np.array([q.rate_per_s for q in inst.query_types])
    f = np.asarray(factors, float).reshape(-1, 1)
    n = len(factors)
    return DemandTrace(
        name="hand", query_types=tuple(q.name for q in inst.query_types), window_s=window_s,
        starts_s=np.arange(n) * window_s, rates=base[None, :] * f,
        prompt_mean=np.array([[q.prompt_tokens for q in inst.query_types]] * n, dtype=float),
        output_mean=np.array([[q.output_tokens for q in inst.query_types]] * n, dtype=float))
