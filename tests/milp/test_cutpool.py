"""The restart from HiGHS's root cuts (milp.cutpool, docs/milp.md §Reductions, 6) and the
probing on its tight cut rows (§7): the proven optimum is the same with and without them,
the reported bound never exceeds it, and neither the cut LP's fixing nor the probes drop a
configuration of a plan cheaper than the known one."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import scipy.sparse as sp

from hetserve.heuristics import GhParams, gh
from hetserve.instances import Status
from hetserve.instances.generate import generate
from hetserve.milp import MilpParams, solve
from hetserve.milp.cutpool import collapse, map_cuts, probe_restart, root_cuts, with_cuts
from hetserve.milp.fixing import lagrangian_value
from hetserve.milp.highs_model import build_arrays
from hetserve.milp.index import make_index
from hetserve.milp.reductions import Reductions, map_plan
from tests.helpers import small_milp_instances

solve_mod = importlib.import_module("hetserve.milp.solve")  # the package exports solve()

INSTANCES = small_milp_instances()

# HiGHS with fewer primal heuristics, so that its incumbent stays above the optimum (its
# cuts then must hold at the optimal plan: the condition the test checks)
NO_HEURISTICS = (("presolve", "off"), ("mip_heuristic_effort", 0.0),
                 ("mip_heuristic_run_feasibility_jump", False),
                 ("mip_heuristic_run_root_reduced_cost", False),
                 ("mip_heuristic_run_rins", False), ("mip_heuristic_run_rens", False))


@pytest.fixture
def restart_everywhere(monkeypatch):
    """The restart on every model size (when on, it runs from CUTPOOL_MIN_COLUMNS) and
    whatever the time left; the environment does not decide."""
    monkeypatch.setattr(solve_mod, "CUTPOOL_MIN_COLUMNS", 0)
    monkeypatch.setattr(solve_mod, "CUTPOOL_MIN_LEFT", 0.0)
    monkeypatch.delenv("HETSERVE_MILP_CUTPOOL", raising=False)


def _same_optimum(inst, on_params):  # type: ignore[no-untyped-def]
    """Solve ``inst`` from GH's plan with the defaults and with ``on_params``: both proven
    optimal at the same cost, neither bound above the other's optimum."""
    start = gh(inst, GhParams()).solution
    off = solve(inst, MilpParams(threads=1), warm_start=start)
    on = solve(inst, on_params, warm_start=start)
    assert off.status is Status.OPTIMAL and on.status is Status.OPTIMAL
    assert on.objective == pytest.approx(off.objective, rel=2e-4)
    assert on.bound <= off.objective * (1 + 2e-4)
    assert off.bound <= on.objective * (1 + 2e-4)
    return off, on


@pytest.mark.parametrize("make", INSTANCES)
def test_restart_keeps_the_optimum(make, restart_everywhere):
    """From GH's plan, the solve with the restart proves the same optimum as without it, and
    neither bound exceeds the other's optimum."""
    off, _on = _same_optimum(make(), MilpParams(threads=1, cutpool=True))
    assert off.stats["cutpool"] is None


@pytest.mark.parametrize("make", INSTANCES)
@pytest.mark.parametrize("rows", ["all", "none"])
def test_cut_probing_keeps_the_optimum(make, rows, restart_everywhere, monkeypatch):
    """The same with the probes on the tight cut rows (§7) after the collapse, restarted
    with all or none of the cut rows."""
    monkeypatch.setattr(solve_mod, "CUTPOOL_RESTART_ROWS", rows)
    _same_optimum(make(), MilpParams(threads=1, cutpool_probing=True))


def test_the_restart_runs_and_shrinks_the_model(restart_everywhere):
    """On a generated instance where HiGHS's root leaves a gap, the restart happens: cuts are
    read over the model's columns, the cut LP is above the plain fixing's bound, and the
    model HiGHS finishes on is smaller."""
    inst = generate((4, 4, 5), 4).replace(multi_parallelism=True)
    res = solve(inst, MilpParams(threads=1, cutpool=True),
                warm_start=gh(inst, GhParams()).solution)
    assert res.status is Status.OPTIMAL
    cp = res.stats["cutpool"]
    assert cp is not None and cp["cuts"] > 0
    assert cp["L_cut"] > res.stats["fixing"]["bound"]
    assert cp["L_cut"] <= res.objective * (1 + 1e-6)
    assert cp["cols_after"] < cp["cols_before"]


def test_the_probes_run_in_the_solve(restart_everywhere):
    """With ``cutpool_probing`` the solve probes after the collapse (not vacuous: configurations
    are probed and some dropped) and still proves the optimum of the solve without it."""
    inst = generate((4, 4, 5), 4).replace(multi_parallelism=True)
    start = gh(inst, GhParams()).solution
    res = solve(inst, MilpParams(threads=1, cutpool_probing=True), warm_start=start)
    off = solve(inst, MilpParams(threads=1), warm_start=start)
    assert res.status is Status.OPTIMAL
    assert res.objective == pytest.approx(off.objective, rel=2e-4)
    cp = res.stats["cutpool"]["cut_probing"]
    assert cp["probed"] > 0 and cp["dropped"] > 0 and cp["tight_cuts"] > 0
    assert cp["cols_after"] == res.stats["n_vars"]


@pytest.mark.parametrize("spec", [((4, 4, 5), 4, True), ((5, 5, 6), 3, False)],
                         ids=["4x4x5-s4-multi", "5x5x6-s3"])
def test_cut_fixing_keeps_every_cheaper_plan(spec):
    """HiGHS's cuts from GH's plan (U: the cost of HiGHS's incumbent when it hands them over,
    above the optimum), the fixing from the LP with them, and the collapse (nothing kept
    explicitly): every configuration of the optimal plan (cheaper than U) keeps at least
    its replicas, the certified bound
    L_cut is at most the optimum, and the optimal plan satisfies every cut row. Something is
    dropped, so the test is not vacuous."""
    size, seed, multi = spec
    inst = generate(size, seed)
    if multi:
        inst = inst.replace(multi_parallelism=True)
    start = gh(inst, GhParams())
    opt = solve(inst, MilpParams(threads=1, cutpool=False), warm_start=start.solution)
    assert opt.status is Status.OPTIMAL
    upper = float(start.objective)
    assert upper > opt.objective * (1 + 1e-3)
    red = Reductions()
    idx = make_index(inst, reductions=red, upper_bound=upper)
    am = build_arrays(inst, index=idx)
    cuts, st = root_cuts(am, solve_mod._start_vector(am, inst, start.solution),
                         time_limit_s=60.0, threads=1, seed=0, mip_rel_gap=1e-4,
                         options=NO_HEURISTICS)
    assert cuts is not None and cuts.n_cuts > 0
    # HiGHS's cuts hold below *its* incumbent, which its root may have improved (solve()
    # restarts from that plan for this reason); the claim is about plans cheaper than it
    upper = min(upper, st["objective"])
    assert upper > opt.objective * (1 + 1e-4)
    # the optimal plan, as a point of am: every cut holds there
    v = solve_mod._start_vector(am, inst, opt.solution)
    act = cuts.A @ v
    assert np.all(act >= cuts.lo - 1e-6) and np.all(act <= cuts.hi + 1e-6)
    rs = collapse(am, cuts, upper, np.zeros(idx.n_cfg), tightening=MilpParams().tightening,
                  reductions=red, seed=0, time_limit_s=60.0)
    assert rs.fixing is not None and rs.stats["dropped"] > 0
    assert rs.fixing.bound <= opt.objective * (1 + 1e-9)
    r_opt, _ = map_plan(idx.reduced, *opt.solution.to_arrays(inst))
    opened = np.nonzero(r_opt > 0)[0]
    assert np.all(rs.fixing.caps[opened] >= r_opt[opened]), "an optimal configuration was cut"
    # and the optimal plan is a point of the collapsed model with its mapped cuts
    new = rs.am
    w = solve_mod._start_vector(new, inst, opt.solution)
    act = new.A @ w
    assert np.all(act >= new.row_lo - 1e-6) and np.all(act <= new.row_hi + 1e-6)


@pytest.mark.parametrize("at_optimum", [False, True], ids=["U-above", "U-optimum"])
def test_cut_probing_keeps_every_optimal_configuration(at_optimum):
    """HiGHS's cuts from GH's plan (as above), the collapse and the probes on the tight cut
    rows with nothing kept explicitly, against U = HiGHS's incumbent (above the optimum) or
    U = the proven optimum itself: every configuration of the optimal plan keeps its
    replicas, every probe's LP value is at most the optimum, and the optimal plan is a
    point of the probed model (with all its cut rows). The probes drop something, so the
    test is not vacuous."""
    inst = generate((4, 4, 5), 4).replace(multi_parallelism=True)
    start = gh(inst, GhParams())
    opt = solve(inst, MilpParams(threads=1, cutpool=False), warm_start=start.solution)
    assert opt.status is Status.OPTIMAL
    red = Reductions()
    idx = make_index(inst, reductions=red, upper_bound=float(start.objective))
    am = build_arrays(inst, index=idx)
    cuts, st = root_cuts(am, solve_mod._start_vector(am, inst, start.solution),
                         time_limit_s=60.0, threads=1, seed=0, mip_rel_gap=1e-4,
                         options=NO_HEURISTICS)
    assert cuts is not None and cuts.n_cuts > 0
    upper = min(float(start.objective), st["objective"])
    assert upper > opt.objective * (1 + 1e-4)
    if at_optimum:
        upper = float(opt.objective)
    tight = MilpParams().tightening
    rs = collapse(am, cuts, upper, np.zeros(idx.n_cfg), tightening=tight, reductions=red,
                  seed=0, time_limit_s=60.0)
    assert rs.cut_dual is not None and 0 < np.count_nonzero(rs.cut_dual) <= cuts.n_cuts
    pr = probe_restart(rs, upper, np.zeros(len(inst.routes)), tightening=tight,
                       reductions=red, seed=0, time_limit_s=60.0, work=None,
                       iteration_limit=40, rows="all")
    cp = pr.stats["cut_probing"]
    assert cp["probed"] > 0 and cp["dropped"] > 0
    assert cp["lp_value"] <= opt.objective * (1 + 1e-9)
    assert cp["lp_after"] is None or cp["lp_after"] <= opt.objective * (1 + 1e-9)
    r_opt, _ = map_plan(idx.reduced, *opt.solution.to_arrays(inst))
    opened = np.nonzero(r_opt > 0)[0]
    assert np.all(pr.caps[opened] >= r_opt[opened]), "an optimal configuration was cut"
    new = pr.am
    assert new.n_cols < rs.am.n_cols
    w = solve_mod._start_vector(new, inst, opt.solution)
    act = new.A @ w
    assert np.all(act >= new.row_lo - 1e-6) and np.all(act <= new.row_hi + 1e-6)


def test_map_cuts_moves_coefficients_by_column_name():
    """A row over the old model's columns keeps its coefficient on every column the new
    model still has (same name) and loses the others; the lost count is reported."""
    inst = generate((4, 4, 5), 0)
    idx = make_index(inst, reductions=Reductions())
    old = build_arrays(inst, index=idx)
    caps = np.full(len(inst.routes), np.inf)
    caps[idx.cfg[: idx.n_cfg // 2]] = 0.0  # drop half the configurations
    new = build_arrays(inst, index=make_index(inst, reductions=Reductions(), rbar_cap=caps,
                                              reduced=idx.reduced))
    rng = np.random.default_rng(0)
    A = sp.random(3, old.n_cols, density=0.3, random_state=rng, format="csr")
    rows, lost = map_cuts(old, new, A)
    old_names, new_names = old.col_names(), new.col_names()
    pos = {n: j for j, n in enumerate(new_names)}
    dense_old, dense_new = A.toarray(), rows.toarray()
    for r in range(3):
        kept = [(pos[n], dense_old[r, j]) for j, n in enumerate(old_names)
                if n in pos and dense_old[r, j] != 0]
        assert all(dense_new[r, j] == val for j, val in kept)
        assert np.count_nonzero(dense_new[r]) == len(kept)
        assert lost[r] == np.count_nonzero(dense_old[r]) - len(kept)
    # appending rows keeps the model's own rows and their Lagrangian bound valid
    both = with_cuts(new, rows, np.full(3, -np.inf), np.full(3, np.inf))
    assert both.n_rows == new.n_rows + 3
    assert lagrangian_value(both, np.zeros(both.n_rows))[0] == pytest.approx(
        lagrangian_value(new, np.zeros(new.n_rows))[0])


def test_switch(monkeypatch, restart_everywhere):
    """Off by default; ``HETSERVE_MILP_CUTPOOL`` overrides ``MilpParams(cutpool=...)`` both
    ways (``0`` off, ``1`` on)."""
    inst = generate((4, 4, 5), 4).replace(multi_parallelism=True)
    start = gh(inst, GhParams()).solution
    assert solve(inst, MilpParams(threads=1), warm_start=start).stats["cutpool"] is None
    monkeypatch.setenv("HETSERVE_MILP_CUTPOOL", "0")
    assert solve(inst, MilpParams(threads=1, cutpool=True),
                 warm_start=start).stats["cutpool"] is None
    monkeypatch.setenv("HETSERVE_MILP_CUTPOOL", "1")
    assert solve(inst, MilpParams(threads=1), warm_start=start).stats["cutpool"] is not None


def test_no_restart_without_time_for_it(monkeypatch, restart_everywhere):
    """With less time left at the end of the root than ``CUTPOOL_MIN_LEFT`` × the root's,
    HiGHS is not interrupted and goes on in the model it has."""
    monkeypatch.setattr(solve_mod, "CUTPOOL_MIN_LEFT", 1e9)
    inst = generate((4, 4, 5), 4).replace(multi_parallelism=True)
    res = solve(inst, MilpParams(threads=1, cutpool=True),
                warm_start=gh(inst, GhParams()).solution)
    assert res.status is Status.OPTIMAL and res.stats["cutpool"] is None
