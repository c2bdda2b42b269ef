"""The weighted error cover (milp.cuts, docs/milp.md "Tightenings"): every separated row
holds at the proven optimal plan, the proven optimum is the same with the rows added, the
family holds at that plan for every multiplier, and the separation finds the most
violated multiplier."""

from __future__ import annotations

import importlib
import itertools
from dataclasses import replace

import numpy as np
import pytest

from hetserve.instances import Status
from hetserve.instances.generate import generate
from hetserve.instances.solver_log import new_highs
from hetserve.milp import MilpParams, solve
from hetserve.milp.cutpool import with_cuts
from hetserve.milp.cuts import _lhs_at, _type_rows, weighted_cover_cuts
from hetserve.milp.highs_model import ArrayModel, build_arrays
from hetserve.milp.highs_run import configure, run_checked
from hetserve.milp.index import make_index
from tests.helpers import small_milp_instances

solve_mod = importlib.import_module("hetserve.milp.solve")  # the package exports solve()

INSTANCES = [
    *small_milp_instances(),
    pytest.param(lambda: generate((6, 6, 10), 0), marks=pytest.mark.slow, id="6x6x10-s0"),
    pytest.param(lambda: generate((8, 8, 12), 0), marks=pytest.mark.slow, id="8x8x12-s0"),
]


def _highs(am: ArrayModel, *, lp: bool):  # type: ignore[no-untyped-def]
    h = new_highs()
    configure(h, time_limit_s=300.0, mip_rel_gap=0.0, threads=1, seed=0,
              options=(("presolve", "off"),))
    h.passModel((replace(am, integer=np.zeros_like(am.integer)) if lp else am).to_highs_lp())
    return h


def _rounds(am: ArrayModel, n: int) -> tuple[ArrayModel, list[float]]:
    """``n`` rounds of separation at the LP point; the model with the rows and the LP
    values (plain first)."""
    values = []
    for _ in range(n):
        h = _highs(am, lp=True)
        run_checked(h)
        values.append(float(h.getInfo().objective_function_value))
        A, lo, hi = weighted_cover_cuts(am, np.asarray(h.getSolution().col_value))
        if A.shape[0] == 0:
            break
        am = with_cuts(am, A, lo, hi)
    return am, values


@pytest.mark.parametrize("make", INSTANCES)
def test_rows_hold_at_the_optimum_and_keep_it(make):
    """The proven optimal plan satisfies every separated row; the LP with the rows is not
    below the plain LP nor above the optimum; HiGHS on the model with the rows proves the
    same optimum."""
    inst = make()
    opt = solve(inst, MilpParams(threads=1, time_limit_s=900.0))
    assert opt.status is Status.OPTIMAL
    am = build_arrays(inst, index=make_index(inst))
    cut, values = _rounds(am, 5)
    v = solve_mod._start_vector(cut, inst, opt.solution)
    act = cut.A @ v
    assert np.all(act >= cut.row_lo - 1e-6) and np.all(act <= cut.row_hi + 1e-6)
    assert all(b >= a - 1e-6 for a, b in itertools.pairwise(values))
    assert values[-1] <= opt.objective * (1 + 1e-6)
    h = _highs(cut, lp=False)
    configure(h, time_limit_s=900.0, mip_rel_gap=1e-6, threads=1, seed=0,
              options=(("presolve", "off"),))
    run_checked(h)
    assert h.modelStatusToString(h.getModelStatus()) == "Optimal"
    assert h.getInfo().objective_function_value == pytest.approx(opt.objective, rel=1e-4)


@pytest.mark.parametrize("make", INSTANCES)
def test_family_holds_at_the_optimum_for_every_multiplier(make):
    """At the optimal plan the best left-hand side over S is ≥ 1 for every t on a fine
    grid (the whole family, not just the rows the LP point selects)."""
    inst = make()
    opt = solve(inst, MilpParams(threads=1, time_limit_s=900.0))
    am = build_arrays(inst, index=make_index(inst))
    v = solve_mod._start_vector(am, inst, opt.solution)
    t = np.concatenate([[0.0], np.geomspace(1e-3, 1e5, 400)])
    rows = _type_rows(am, "err")
    assert rows, "no error row: the test would be vacuous"
    for i, pos, d in rows:
        lhs = _lhs_at(t, d, v[am.cols["x"]][pos], v[am.cols["w"]][am.index.rk[pos]],
                      float(v[am.cols["u"].start + i]))
        assert lhs.min() >= 1 - 1e-7, f"type {i}"


def test_separation_is_exact_and_lifts():
    """On an instance whose LP mixes, the separated row is the most violated over t (a
    fine grid finds no smaller left-hand side), its activity is that value, and the LP
    rises."""
    inst = generate((6, 6, 10), 0)
    am = build_arrays(inst, index=make_index(inst))
    h = _highs(am, lp=True)
    run_checked(h)
    v = np.asarray(h.getSolution().col_value)
    A, lo, _ = weighted_cover_cuts(am, v)
    assert A.shape[0] > 0
    act = A @ v
    assert np.all(act < lo)
    t = np.geomspace(1e-3, 1e5, 20000)
    us = am.cols["u"].start
    best = {i: _lhs_at(t, d, v[am.cols["x"]][pos], v[am.cols["w"]][am.index.rk[pos]],
                       float(v[us + i])).min() for i, pos, d in _type_rows(am, "err")}
    types = [int(A[k].indices[A[k].indices >= us][A[k].indices[A[k].indices >= us]
                                                 < am.cols["u"].stop][0]) - us
             for k in range(A.shape[0])]
    for k, i in enumerate(types):
        assert act[k] <= best[i] + 1e-6
    _, values = _rounds(am, 2)
    assert values[1] > values[0] + 1e-6
