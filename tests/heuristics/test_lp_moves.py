"""The routing LP and the LP-based fleet moves (docs/heuristics.md §4)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from hetserve.heuristics import AghParams, agh
from hetserve.heuristics.lp_moves import kick
from hetserve.heuristics.routing_lp import fixed_routing
from hetserve.heuristics.state import HeuristicData, PlanState
from hetserve.instances import Instance, Status, Tier, evaluate_arrays
from hetserve.instances.generate import generate
from tests.helpers import IDEAL, query, round_gpu, round_model


def _two_tier_instance() -> Instance:
    slow = round_gpu("slow", price=1.0)
    fast = round_gpu("fast", price=2.0)
    qs = (query("a", rate=2.0, delay=60.0), query("b", rate=1.0, delay=60.0))
    return Instance(name="lp", query_types=qs, models=(round_model(),), gpus=(slow, fast),
                    tiers=(Tier("slow", "fp16"), Tier("fast", "fp16")), tp_degrees=(1,),
                    pp_degrees=(1,), perf=IDEAL)


def test_fixed_routing_is_optimal_against_a_grid():
    inst = _two_tier_instance()
    d = HeuristicData.build(inst)
    assert d.n_configs == 2 and d.usable.all()
    r = np.array([1, 1])
    sol = fixed_routing(d, r)
    assert sol is not None
    # brute force on a grid of shares: x_a0, x_b0 (the rest goes to config 1)
    best = math.inf
    grid = np.linspace(0, 1, 201)
    for xa, xb in itertools.product(grid, grid):
        x = np.array([[xa, 1 - xa], [xb, 1 - xb]])
        load = (x * d.a).sum(axis=0)
        if np.all(load <= d.rho_max * r + 1e-12) and np.all((x * d.err_ex).sum(axis=1) <= 1e-12):
            best = min(best, float((x * d.dcost).sum()))
    lp = float((sol.x * d.dcost[:, sol.cfgs]).sum())
    assert lp <= best + 1e-6  # the LP is at least as good as every grid point
    assert lp == pytest.approx(best, rel=2e-2, abs=1e-6)  # ... and the grid is close to it
    ev = evaluate_arrays(inst, r, np.where(sol.x > 0, sol.x, 0.0))
    assert ev.feasible


def test_fixed_routing_none_when_capacity_is_short():
    inst = _two_tier_instance()
    d = HeuristicData.build(inst)
    r = np.array([1, 0])
    need = float(((1 - d.zeta) * d.a[:, 0]).sum())  # least load config 0 must carry
    if need > d.rho_max:
        assert fixed_routing(d, r) is None
    else:
        assert fixed_routing(d, r) is not None


def test_agh_finds_the_shared_hub_on_6x6x10_s1():
    # MILP optimum 244.49 (docs/heuristics.md §8) shares one Qwen2.5-3B TP2·PP4 replica among
    # five types. AGH used to be 51 % above it; the 3 % goal is not met yet (7.1 %, §9).
    inst = generate((6, 6, 10), 1)
    res = agh(inst)
    assert res.status == Status.FEASIBLE
    assert res.objective <= 244.4939889451003 * 1.08
    r, _ = res.solution.to_arrays(inst)
    labels = {inst.routes.configs[c].label() for c in np.nonzero(r)[0]}
    assert "Qwen2.5-3B-Instruct@RTX-4090/fp16 TP2 PP4" in labels


def test_warm_start_never_worse():
    inst = generate((6, 6, 10), 2)
    base = agh(inst, AghParams(ls_starts=0, random_starts=0, orders=("rate-asc",)))
    warm = agh(inst, AghParams(ls_starts=1, random_starts=0, orders=("rate-desc",)),
               warm_start=base.solution)
    assert warm.feasible
    assert warm.objective <= base.objective * (1 + 1e-9)


def test_warm_start_infeasible_plan_is_only_a_start():
    inst = generate((6, 6, 10), 0)
    empty = agh(inst, AghParams(ls_starts=0)).solution
    r, x = empty.to_arrays(inst)
    bad = type(empty).from_arrays(inst, r * 0, x * 0)
    res = agh(inst, warm_start=bad)
    assert res.feasible


def test_kick_keeps_fleet_rules():
    inst = generate((6, 6, 10), 1)
    d = HeuristicData.build(inst)
    res = agh(inst, AghParams(ls_starts=0))
    r, x = res.solution.to_arrays(inst)
    state = PlanState(d)
    for c in np.nonzero(r)[0]:
        state.set_replicas(int(c), int(r[c]))
    for i, c in zip(*np.nonzero(x)):
        state.add_share(int(i), int(c), float(x[i, c]))
    rng = np.random.default_rng(0)
    for _ in range(4):
        kick(state, rng)
        r2, x2 = state.to_arrays()
        kinds = {v.kind for v in evaluate_arrays(inst, r2, x2).violations}
        assert not kinds & {"budget", "availability", "parallelism", "storage", "capacity"}
