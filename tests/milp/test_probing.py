"""Probing fixing on configurations (milp.probing, docs/milp.md §Reductions, 5): the optimum
is unchanged, no configuration an optimal plan opens is dropped, and each drop is backed
by a certified bound above the known plan's cost."""

from __future__ import annotations

import importlib
import math
from dataclasses import replace

import numpy as np
import pytest

from hetserve.heuristics import GhParams, gh
from hetserve.instances import Status
from hetserve.instances.generate import generate
from hetserve.milp import MilpParams, solve
from hetserve.milp.fixing import lagrangian_value
from hetserve.milp.highs_model import build_arrays
from hetserve.milp.index import make_index
from hetserve.milp.probing import probe_configurations
from hetserve.milp.reductions import Reductions, map_plan
from tests.helpers import gh_start_with_and_without, small_milp_instances

solve_mod = importlib.import_module("hetserve.milp.solve")  # the package exports solve()

INSTANCES = small_milp_instances()


@pytest.fixture
def probe_everything(monkeypatch):
    """Give probing the whole time limit and no work or size cap, so that every candidate
    is probed."""
    monkeypatch.setattr(solve_mod, "PROBING_TIME_SHARE", 1.0)
    monkeypatch.setattr(solve_mod, "PROBING_WORK", (1e9, 10**12))
    monkeypatch.setattr(solve_mod, "PROBING_MAX_COLUMNS", 10**9)


@pytest.mark.parametrize("make", INSTANCES)
def test_probing_keeps_the_optimum(make, probe_everything):
    """From GH's plan (well above the optimum), the solve with probing ends at the same
    proven optimum as without it; probing ran and probed every candidate."""
    _, off, on = gh_start_with_and_without(make(), probing=False)
    assert off.stats["probing"] is None
    pr = on.stats["probing"]
    assert pr["stopped"] == "done" and pr["probed"] == pr["candidates"] - pr["dropped_rc"]


@pytest.mark.parametrize("make", INSTANCES[:5])
def test_probing_never_drops_an_optimal_configuration(make):
    """With the optimum's own cost as U (the tightest valid one) and nothing protected
    (``keep`` empty), every configuration the optimal plan opens survives: its LP with
    ``w_c = 1`` is at most the optimum. On these instances probing also drops something
    beyond the reduced-cost fixing, so the test is not vacuous."""
    inst = make()
    opt = solve(inst, MilpParams(threads=1, probing=False),
                warm_start=gh(inst, GhParams()).solution)
    assert opt.status is Status.OPTIMAL
    red = Reductions()
    idx = make_index(inst, reductions=red, upper_bound=opt.objective)
    am = build_arrays(inst, index=idx)
    pr = probe_configurations(am, opt.objective, time_limit_s=60.0)
    assert pr.stopped == "done"
    r_opt, x_opt = opt.solution.to_arrays(inst)
    r_opt, _ = map_plan(idx.reduced, r_opt, x_opt)
    opened = np.nonzero(r_opt > 0)[0]
    assert len(opened) > 0
    assert np.all(pr.caps[opened] > 0), "a configuration of the optimal plan was dropped"
    assert pr.dropped + pr.dropped_rc > 0
    # the LP does not fall when configurations no plan ≤ U opens are removed
    assert pr.lp_after >= pr.lp_value - 1e-6


def test_each_drop_is_certified_by_its_own_duals():
    """Re-derive one drop by hand: the LP with w_c = 1 forced is above U, and weak duality
    at that LP's duals (milp.fixing.lagrangian_value) says so too."""
    import highspy

    from hetserve.instances.solver_log import new_highs
    from hetserve.milp.highs_run import configure

    inst = generate((5, 5, 6), 1)
    start = gh(inst, GhParams())
    upper = start.objective
    idx = make_index(inst, reductions=Reductions(), upper_bound=upper)
    am = build_arrays(inst, index=idx)
    r_all, x_all = start.solution.to_arrays(inst)
    r_all, _ = map_plan(idx.reduced, r_all, x_all)
    keep = r_all[idx.cfg] > 0
    pr = probe_configurations(am, upper, keep=keep, time_limit_s=60.0)
    dropped = np.nonzero(pr.caps[idx.cfg] == 0)[0]
    assert len(dropped) > 0 and not np.any(keep[dropped])
    k = int(dropped[0])
    lb = am.lb.copy()
    lb[am.cols["w"].start + k] = 1.0
    forced = replace(am, lb=lb, integer=np.zeros_like(am.integer))
    h = new_highs()
    configure(h, time_limit_s=60.0, mip_rel_gap=0.0, threads=1, seed=0)
    h.passModel(forced.to_highs_lp())
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        assert h.getInfo().objective_function_value > upper
        value, _ = lagrangian_value(forced, np.asarray(h.getSolution().row_dual))
        assert value > upper
    else:  # forcing c open is infeasible in the model: no plan opens c at all
        assert h.getModelStatus() == highspy.HighsModelStatus.kInfeasible


def test_probing_stops_at_its_time_limit_and_skips_kept_configurations():
    inst = generate((5, 5, 6), 1)
    start = gh(inst, GhParams())
    idx = make_index(inst, reductions=Reductions(), upper_bound=start.objective)
    am = build_arrays(inst, index=idx)
    none = probe_configurations(am, start.objective, time_limit_s=1e-9)
    # too short for the root LP itself, or for any probe after it: nothing is dropped
    assert none.stopped in ("no LP", "time") and none.probed == 0 and none.dropped == 0
    assert np.all(np.isinf(none.caps))
    some = probe_configurations(am, start.objective, time_limit_s=60.0)
    assert some.stopped == "done" and math.isfinite(some.lp_value)
    kept = probe_configurations(am, start.objective, keep=np.ones(idx.n_cfg, dtype=bool),
                                time_limit_s=60.0)
    assert kept.candidates == 0 and kept.dropped + kept.dropped_rc == 0
    assert np.all(np.isinf(kept.caps))


def test_probing_toggles(monkeypatch):
    """On by default on a small model; off by the environment switch and above
    ``PROBING_MAX_COLUMNS``; the optimum is the same either way."""
    inst = generate((4, 4, 5), 0)
    start = gh(inst, GhParams())
    on = solve(inst, MilpParams(threads=1), warm_start=start.solution)
    assert on.stats["probing"] is not None
    monkeypatch.setenv("HETSERVE_MILP_PROBING", "0")
    off = solve(inst, MilpParams(threads=1), warm_start=start.solution)
    assert off.stats["probing"] is None
    assert off.objective == pytest.approx(on.objective, rel=2e-4)
    monkeypatch.delenv("HETSERVE_MILP_PROBING")
    monkeypatch.setattr(solve_mod, "PROBING_MAX_COLUMNS", 0)
    big = solve(inst, MilpParams(threads=1), warm_start=start.solution)
    assert big.stats["probing"] is None
