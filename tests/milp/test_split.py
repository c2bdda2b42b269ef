"""The split on one open flag (milp/split.py; docs/milp.md "Split on one open flag"): the two
branches' optimum is the whole model's, the bound never exceeds it, a branch stopped by the
time limit is reported as such, and the toggles do what they say."""

from __future__ import annotations

import importlib
import math
import time

import numpy as np
import pytest

from hetserve.heuristics import GhParams, gh
from hetserve.instances import Status
from hetserve.instances.generate import generate
from hetserve.milp import MilpParams, solve
from hetserve.milp.highs_model import build_arrays
from hetserve.milp.split import BranchRun, SplitResult, split_position
from tests.helpers import small_milp_instances

SOLVE = importlib.import_module("hetserve.milp.solve")  # the module, not milp.solve()
INSTANCES = small_milp_instances()


@pytest.mark.parametrize("make", INSTANCES)
def test_same_optimum_as_one_highs(make, monkeypatch):
    """Forced on at any size, the two concurrent branches prove the optimum that one HiGHS
    on the whole model proves, from the same start; the bound is never above it and the
    plan's evaluated cost is the solver's."""
    inst = make()
    monkeypatch.delenv("HETSERVE_MILP_SPLIT", raising=False)
    monkeypatch.setattr(SOLVE, "SPLIT_MIN_COLUMNS", 0)
    start = gh(inst, GhParams())
    assert start.feasible
    one = solve(inst, MilpParams(threads=2, split=False), warm_start=start.solution)
    two = solve(inst, MilpParams(threads=2), warm_start=start.solution)
    assert one.stats["split"] is None
    split = two.stats["split"]
    assert split is not None and _covers_the_tree([b["fixings"] for b in split["branches"]])
    assert len(split["branches"]) == 2 + split["resplits"]
    assert all(len(b["fixings"]) <= SOLVE.SPLIT_DEPTH for b in split["branches"])
    assert one.status is Status.OPTIMAL and two.status is Status.OPTIMAL
    assert two.objective == pytest.approx(one.objective, rel=2e-4)
    assert two.bound is not None and two.bound <= one.objective * (1 + 2e-4) + 1e-9
    assert two.bound <= two.objective + 1e-9
    assert two.stats["objective_solver"] == pytest.approx(two.objective, rel=1e-6, abs=1e-6)


def test_split_position_is_the_starts_costliest_configuration():
    am = build_arrays(generate((4, 4, 5), 0))
    start = np.zeros(am.n_cols)
    assert split_position(am, start) is None  # a start that opens nothing: no split
    price = am.cost[am.cols["r"]]
    cheap, dear = int(np.argmin(price)), int(np.argmax(price))
    start[am.cols["r"].start + cheap] = 3.0
    start[am.cols["r"].start + dear] = 1.0
    expected = dear if price[dear] > 3 * price[cheap] else cheap
    assert split_position(am, start) == expected


def _branch(open_: bool, ended: bool, objective, bound) -> BranchRun:  # type: ignore[no-untyped-def]
    return BranchRun(((0, open_),), ended, objective, bound, None, 3, 0, 0.1)


def test_a_branch_at_the_time_limit_is_not_optimal():
    """The outcome's status is HiGHS's time limit (so the solve says FEASIBLE) unless both
    branches ended; without any bound (a branch stopped before its root) there is none."""
    am = build_arrays(generate((4, 4, 5), 0))
    start = np.ones(am.n_cols)
    stopped = SplitResult(0, None, None, 10.0, False,
                          (_branch(True, True, None, 12.0), _branch(False, False, None, 10.0)))
    out = SOLVE._split_outcome(stopped, am, start)
    assert out.key == "kTimeLimit" and out.has_point
    assert out.objective == pytest.approx(float(am.cost @ start))  # the start is the plan
    assert out.bound == 10.0 and out.gap == pytest.approx((out.objective - 10.0) / out.objective)
    assert out.values is start
    blind = SplitResult(0, None, None, -math.inf, False,
                        (_branch(True, False, None, -math.inf), _branch(False, True, None, 5.0)))
    assert SOLVE._split_outcome(blind, am, start).bound is None
    done = SplitResult(0, start * 0.5, 7.0, 7.0, True,
                       (_branch(True, True, 7.0, 7.0), _branch(False, True, None, 8.0)))
    out = SOLVE._split_outcome(done, am, start)
    assert out.key == "kOptimal" and out.objective == 7.0 and out.values is done.values


def test_toggle_threads_and_threshold(monkeypatch):
    am = build_arrays(generate((4, 4, 5), 0))
    monkeypatch.delenv("HETSERVE_MILP_SPLIT", raising=False)
    monkeypatch.delenv("HETSERVE_MILP_CUTPOOL", raising=False)
    monkeypatch.setattr(SOLVE, "SPLIT_MIN_COLUMNS", am.n_cols + 1)
    assert not SOLVE._split_on(MilpParams(threads=2), am)
    monkeypatch.setattr(SOLVE, "SPLIT_MIN_COLUMNS", am.n_cols)
    assert SOLVE._split_on(MilpParams(threads=2), am)
    assert not SOLVE._split_on(MilpParams(threads=1), am)  # one core: nothing to split onto
    assert not SOLVE._split_on(MilpParams(threads=2, split=False), am)
    monkeypatch.setenv("HETSERVE_MILP_SPLIT", "0")
    assert not SOLVE._split_on(MilpParams(threads=2), am)
    monkeypatch.setenv("HETSERVE_MILP_SPLIT", "1")
    monkeypatch.setattr(SOLVE, "SPLIT_MIN_COLUMNS", 10**9)
    assert SOLVE._split_on(MilpParams(threads=2), am)


def test_from_the_optimum_the_start_is_the_plan(monkeypatch):
    """Started from a proven optimum, neither branch finds anything cheaper: the solve
    returns that plan, proven optimal, priced by the evaluator."""
    inst = generate((5, 5, 6), 1)
    monkeypatch.delenv("HETSERVE_MILP_SPLIT", raising=False)
    monkeypatch.setattr(SOLVE, "SPLIT_MIN_COLUMNS", 0)
    first = solve(inst, MilpParams(threads=1))
    assert first.status is Status.OPTIMAL
    again = solve(inst, MilpParams(threads=2), warm_start=first.solution)
    assert again.stats["split"] is not None
    assert again.status is Status.OPTIMAL
    assert again.objective == pytest.approx(first.objective, rel=2e-4)
    assert again.bound is not None and again.bound <= again.objective + 1e-9


def _covers_the_tree(leaves: list[list[list]]) -> bool:
    """The leaves' fixings partition the plans: no leaf's path is a prefix of another's and
    the halves of every split are both there (Kraft's sum of a complete binary tree is 1)."""
    paths = [tuple((int(k), bool(o)) for k, o in leaf) for leaf in leaves]
    prefix_free = not any(a != b and b[:len(a)] == a for a in paths for b in paths)
    return prefix_free and math.isclose(sum(2.0 ** -len(p) for p in paths), 1.0)


def _one_and_three_threads(inst, monkeypatch, **constants):  # type: ignore[no-untyped-def]
    """One HiGHS run, and the split with three threads (the third idle from the start) and
    the given module constants of milp.solve, from the same GH start; the split's leaves,
    checked to partition the plans."""
    monkeypatch.delenv("HETSERVE_MILP_SPLIT", raising=False)
    monkeypatch.setattr(SOLVE, "SPLIT_MIN_COLUMNS", 0)
    for name, value in constants.items():
        monkeypatch.setattr(SOLVE, name, value)
    start = gh(inst, GhParams())
    one = solve(inst, MilpParams(threads=2, split=False), warm_start=start.solution)
    three = solve(inst, MilpParams(threads=3), warm_start=start.solution)
    assert three.stats["split"] is not None
    leaves = [b["fixings"] for b in three.stats["split"]["branches"]]
    assert _covers_the_tree(leaves)
    return one, three, leaves


@pytest.mark.parametrize("make", INSTANCES[2:5])
def test_deeper_split_with_an_idle_thread(make, monkeypatch):
    """With three threads the third is idle from the first level on, so a running subtree
    is split again (up to three flags deep; on these three instances HiGHS reaches its
    interrupt check before it ends): the leaves still partition the plans, and the optimum
    and bound are one HiGHS run's."""
    one, deep, leaves = _one_and_three_threads(make(), monkeypatch, SPLIT_DEPTH=3)
    split = deep.stats["split"]
    assert all(1 <= len(path) <= 3 for path in leaves)
    assert split["resplits"] >= 1 and max(len(path) for path in leaves) >= 2
    assert len(leaves) == 2 + split["resplits"]  # each split turns one leaf into two
    assert split["nodes"] >= sum(b["nodes"] for b in split["branches"])
    assert one.status is Status.OPTIMAL and deep.status is Status.OPTIMAL
    assert deep.objective == pytest.approx(one.objective, rel=2e-4)
    assert deep.bound is not None and deep.bound <= one.objective * (1 + 2e-4) + 1e-9


def test_an_error_in_one_subtree_reaches_the_caller():
    """A failure inside one subtree's thread is raised in the caller's thread (after the
    other thread stops), not swallowed into a result."""
    from hetserve.milp.split import solve_split

    inst = generate((4, 4, 5), 0)
    am = build_arrays(inst)
    start = SOLVE._start_vector(am, inst, gh(inst, GhParams()).solution)
    calls = []

    def configure(h, seconds):  # type: ignore[no-untyped-def]
        calls.append(seconds)
        if len(calls) == 2:
            raise ValueError("configure failed")
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)

    position = split_position(am, start)
    assert position is not None
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="configure failed"):
        solve_split(am, start, float(am.cost @ start), position, configure=configure,
                    time_limit_s=60.0, mip_rel_gap=1e-4, depth=2)
    assert time.perf_counter() - t0 < 30.0  # the other thread stopped, not timed out


@pytest.mark.parametrize("make", INSTANCES[1:4])
def test_link_rows_selected_on_the_second_thread(make, monkeypatch):
    """With link rows on demand, the split selects them on its second thread while the first
    searches the start's branch with every row: the same optimum as one HiGHS run with
    the rows selected first, the same selection, and fewer rows than the model."""
    inst = make()
    for var in ("HETSERVE_MILP_SPLIT", "HETSERVE_MILP_CUTPOOL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HETSERVE_MILP_LINK_ON_DEMAND", "1")
    monkeypatch.setattr(SOLVE, "SPLIT_MIN_COLUMNS", 0)
    start = gh(inst, GhParams())
    one = solve(inst, MilpParams(threads=2, split=False), warm_start=start.solution)
    two = solve(inst, MilpParams(threads=2), warm_start=start.solution)
    assert two.stats["split"] is not None and one.stats["link_rows"] is not None
    assert two.stats["link_rows"] is not None
    for key in ("kept", "total", "rounds"):
        assert two.stats["link_rows"][key] == one.stats["link_rows"][key]
    assert two.stats["n_rows"] == one.stats["n_rows"]
    assert two.stats["link_rows"]["kept"] < two.stats["link_rows"]["total"]
    assert one.status is Status.OPTIMAL and two.status is Status.OPTIMAL
    assert two.objective == pytest.approx(one.objective, rel=2e-4)
    assert two.bound is not None and two.bound <= one.objective * (1 + 2e-4) + 1e-9


@pytest.mark.parametrize("make", INSTANCES[1:5])
def test_chain_split_keeps_the_partition_and_the_optimum(make, request, monkeypatch):
    """With the chain split at once (no wait) and a third, idle thread, subtrees at the
    split's depth are split into chains over the configurations their LP cannot afford:
    the leaves still partition the plans and the optimum is one HiGHS run's. (On the two
    5x5x6 instances a chain is made: leaves deeper than the two flags of the split.)"""
    one, chained, leaves = _one_and_three_threads(make(), monkeypatch, SPLIT_CHAIN_AFTER_S=0.0)
    if "5x5x6" in request.node.callspec.id:
        assert max(len(path) for path in leaves) > SOLVE.SPLIT_DEPTH
    assert one.status is Status.OPTIMAL and chained.status is Status.OPTIMAL
    assert chained.objective == pytest.approx(one.objective, rel=2e-4)
    assert chained.bound is not None and chained.bound <= one.objective * (1 + 2e-4) + 1e-9


@pytest.mark.parametrize("make", INSTANCES[1:5])
def test_eager_split_of_the_branch_without_the_start(make, monkeypatch):
    """With the eager split forced on at any size, the branch without the start is queued
    already split on a second flag: no leaf is that branch alone, the leaves still
    partition the plans (three from the start, two more per later split), and the
    optimum and bound are one HiGHS run's."""
    monkeypatch.delenv("HETSERVE_MILP_SPLIT", raising=False)
    monkeypatch.setattr(SOLVE, "SPLIT_MIN_COLUMNS", 0)
    monkeypatch.setattr(SOLVE, "SPLIT_EAGER_MIN_COLUMNS", 0)
    inst = make()
    start = gh(inst, GhParams())
    one = solve(inst, MilpParams(threads=2, split=False), warm_start=start.solution)
    eager = solve(inst, MilpParams(threads=2), warm_start=start.solution)
    split = eager.stats["split"]
    leaves = [b["fixings"] for b in split["branches"]]
    assert _covers_the_tree(leaves)
    first = leaves[0][0][0]  # every path starts at the first level's flag
    assert all(path[0][0] == first for path in leaves)
    assert not any(len(path) == 1 and not path[0][1] for path in leaves)
    assert len(leaves) == 3 + split["resplits"]
    assert one.status is Status.OPTIMAL and eager.status is Status.OPTIMAL
    assert eager.objective == pytest.approx(one.objective, rel=2e-4)
    assert eager.bound is not None and eager.bound <= one.objective * (1 + 2e-4) + 1e-9


def test_lift_bound_takes_the_larger_bound_below_the_cap():
    from hetserve.milp.fixing import Fixing

    fixing = Fixing(np.zeros(1), 5.0, 5.0, 0, 0, 0.0)
    assert SOLVE.lift_bound(None, fixing, 7.0) == 5.0
    assert SOLVE.lift_bound(-math.inf, fixing, 7.0) == 5.0
    assert SOLVE.lift_bound(6.0, fixing, 7.0) == 6.0
    assert SOLVE.lift_bound(4.0, fixing, 4.5) == 4.5  # never above the start or the plan
    assert SOLVE.lift_bound(4.0, None, 7.0) == 4.0
    assert SOLVE.lift_bound(None, None, 7.0) is None
    weak = Fixing(np.zeros(1), -558.3, np.nan, 0, 0, 0.0)  # an early-stopped generation's
    assert SOLVE.lift_bound(None, weak, 7.0) is None


@pytest.mark.parametrize("make", INSTANCES[2:4])
def test_a_split_stopped_without_a_bound_reports_the_fixings(make, monkeypatch):
    """A split whose leaves all stopped before a bound (as at a short time limit) reports
    the fixing's certified Lagrangian bound, capped at the plan's cost: never above the
    optimum one HiGHS run proves, and the status is not optimal."""
    from dataclasses import replace

    monkeypatch.delenv("HETSERVE_MILP_SPLIT", raising=False)
    monkeypatch.setattr(SOLVE, "SPLIT_MIN_COLUMNS", 0)
    inst = make()
    start = gh(inst, GhParams())
    exact = solve(inst, MilpParams(threads=2, split=False), warm_start=start.solution)
    real = SOLVE.solve_split

    def stopped(*args, **kwargs):  # type: ignore[no-untyped-def]
        return replace(real(*args, **kwargs), bound=-math.inf, proven=False)

    monkeypatch.setattr(SOLVE, "solve_split", stopped)
    res = solve(inst, MilpParams(threads=2), warm_start=start.solution)
    assert exact.status is Status.OPTIMAL and res.status is Status.FEASIBLE
    lagrangian = res.stats["fixing"]["bound"]
    assert math.isfinite(lagrangian) and res.stats.get("bound_from_fixing")
    assert res.bound == pytest.approx(min(lagrangian, res.objective))
    assert res.bound <= exact.objective * (1 + 1e-9) + 1e-9
