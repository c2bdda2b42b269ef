"""The gate-and-route chain (simulator/pd_control.py) against the fluid LP it implements."""

from __future__ import annotations

import pytest

from hetserve.instances.errors import InstanceError
from hetserve.queueing.fluid import (
    FluidPlan,
    FluidProblem,
    chain_inputs,
    paper_problem,
    solve_fluid,
)
from hetserve.simulator.pd_control import PlanTargets, SimClass, simulate_pd


def lp_and_chain(prob: FluidProblem) -> tuple[tuple[SimClass, ...], PlanTargets, FluidPlan]:
    plan = solve_fluid(prob)
    classes, targets = chain_inputs(plan)
    return classes, targets, plan


def test_gate_and_route_tracks_the_lp_at_n50() -> None:
    """Paper instance, bundled pricing, n = 50, 250 s measured after 100 s: the prefill
    occupancies follow x* (the gate's job), the decode buffer stays small (Prop. 3.2) and
    revenue is within a few per cent of the fluid optimum (finite n: M = ⌈50 Σx*⌉ = 11 mixed
    GPUs for 10.66)."""
    classes, targets, plan = lp_and_chain(paper_problem("bundled"))
    run = simulate_pd(classes, gpus=50, batch=16, policy="GG-SP", targets=targets,
                      horizon_s=350.0, warmup_s=100.0, seed=3)
    assert run.mixed_gpus == 11
    for sim, lp in zip(run.x, plan.x, strict=True):
        assert sim == pytest.approx(lp, rel=0.08)
    total_decodes = sum(run.y_mixed) + sum(run.y_solo)
    assert total_decodes == pytest.approx(sum(plan.y_mixed) + sum(plan.y_solo), rel=0.05)
    assert sum(run.q_decode) < 0.05 * total_decodes
    assert 0.93 * plan.revenue < run.revenue_per_gpu_s < 1.01 * plan.revenue
    # flow: what arrived in the window either completed, left, or is still in the system
    for i in range(2):
        done = run.completed[i] + run.abandoned_prefill[i] + run.abandoned_decode[i]
        assert done == pytest.approx(run.arrivals[i], rel=0.05)


def test_a_seed_gives_one_trajectory_and_seeds_differ() -> None:
    classes, targets, _ = lp_and_chain(paper_problem("separate"))
    kw = dict(gpus=8, batch=16, targets=targets, horizon_s=120.0, warmup_s=20.0)
    a = simulate_pd(classes, policy="FI-WSP", seed=5, **kw)
    b = simulate_pd(classes, policy="FI-WSP", seed=5, **kw)
    c = simulate_pd(classes, policy="FI-WSP", seed=6, **kw)
    assert a == b
    assert a.revenue_per_gpu_s != c.revenue_per_gpu_s
    assert a.mixed_gpus == 0  # no static planning


def test_coupled_policies_never_buffer_decodes_and_respect_slots() -> None:
    classes, targets, _ = lp_and_chain(paper_problem("separate"))
    for policy in ("GI-WSP", "FI-WSP"):
        run = simulate_pd(classes, gpus=10, batch=16, policy=policy, targets=targets,
                          horizon_s=200.0, warmup_s=50.0, seed=1)
        assert sum(run.q_decode) == 0.0
        assert sum(run.abandoned_decode) == 0
        # at most B slots a GPU, prefills included
        assert sum(run.x) + sum(run.y_mixed) + sum(run.y_solo) <= 16 + 1e-9


def test_bad_policy_is_named() -> None:
    classes, targets, _ = lp_and_chain(paper_problem("separate"))
    with pytest.raises(InstanceError, match="policy"):
        simulate_pd(classes, gpus=4, batch=16, policy="LIFO", targets=targets,
                    horizon_s=10.0, warmup_s=1.0, seed=0)
