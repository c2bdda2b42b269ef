"""The closing master's tuning (milp/colgen.py ``MasterTuning``; docs/milp.md "Certified
bounds", *a faster closing master*): freeing idle weighted-cover rows, parking idle routes, a
looser interior-point tolerance and skipping a master solve that would end after the deadline only change the
multipliers the Lagrangian is evaluated at, so the bound stays ≤ the proven optimum, and a
freed row is out of the master (free bounds, no terms of later routes, ω = 0) and a parked
route is fixed at 0 until the pricing revives it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hetserve.instances.generate import generate
from hetserve.milp.bound import fixed_model_bound, lagrangian_bound
from hetserve.milp.colgen import MasterTuning
from hetserve.milp.highs_model import INF
from tests.helpers import below, cover_instances, known_uppers, proven_optimum

INSTANCES = cover_instances()
# tol 0.5: every row whose dual is under half the largest counts as idle, so rows are
# freed on these small instances too (the default 1e-6 is for the 100x40x40 master)
EAGER = MasterTuning(drop_idle=1, drop_tol=0.5, ipm_tol=1e-6, skip_late=True, park_idle=1,
                     park_tol=0.0)


@pytest.mark.parametrize("make", INSTANCES)
def test_tuned_generation_is_between_plain_and_optimum(make):
    """Sparse master (the closing's shape), rows freed eagerly: the bound is ≤ the proven
    optimum and ≥ the plain Lagrangian bound (no cover rows)."""
    inst = make()
    opt = proven_optimum(inst)
    plain = lagrangian_bound(inst, iterations=0, full_cover=False)
    tuned = lagrangian_bound(inst, iterations=0, full_cover=False, wcover_rounds=10,
                             master_tuning=EAGER)
    assert math.isfinite(tuned.value)
    assert below(tuned.value, opt.objective)
    assert tuned.value >= plain.value - 1e-6 * max(1.0, abs(plain.value))


@pytest.mark.parametrize("make", INSTANCES[1:4])
def test_tuned_closing_stays_below_the_optimum(make):
    """Closing (U = GH's cost or the optimum) with freed rows: min(U, L) and the fixed-model
    bound from it stay ≤ the optimum, and ≥ the closing without cover rows."""
    inst = make()
    opt = proven_optimum(inst)
    start, uppers = known_uppers(inst, opt.objective)
    for upper in uppers:
        plain = lagrangian_bound(inst, upper_bound=upper, iterations=0, close=True)
        tuned = lagrangian_bound(inst, upper_bound=upper, iterations=0, close=True,
                                 wcover_rounds=10, master_tuning=EAGER)
        assert below(tuned.value, opt.objective)
        assert tuned.value >= plain.value - 1e-6 * max(1.0, abs(plain.value))
    if start.feasible:
        fb, _ = fixed_model_bound(inst, start.solution, time_limit_s=30.0,
                                  closing_wcover_rounds=10, closing_tuning=EAGER)
        assert below(fb.value, opt.objective)


def test_freed_rows_leave_the_master():
    """On 8x8x12 s1 rows are freed: their bounds are (−inf, inf), routes that entered after
    the freeing have no term in them, and the multipliers returned give them ω = 0; the
    bound is still ≤ a feasible plan's cost."""
    inst = generate((8, 8, 12), 1)
    lb = lagrangian_bound(inst, iterations=0, wcover_rounds=10, keep_master=True,
                          full_cover=False, master_tuning=EAGER)
    m = lb.master
    assert m is not None and m.covers is not None
    freed = np.nonzero(m.cov_free)[0]
    assert len(freed) > 0
    lp = m.h.getLp()
    lower, upper = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
    rows = m.cov_rows[freed]
    assert (lower[rows] <= -INF).all() and (upper[rows] >= INF).all()
    out = m.solve()
    assert out is not None
    assert (out[1].multipliers[7][freed] == 0.0).all()
    # routes added now skip the freed rows (and enter the live rows of their type)
    missing = np.nonzero(~m.active & m.allowed)[0]
    typed = missing[np.isin(m.idx.ri[missing], m.covers.types[freed])][:20]
    cols_before = m.n_cols
    m.add(typed)
    for r in freed.tolist():
        _, cols, _ = m.h.getRowEntries(int(m.cov_rows[r]))
        assert (np.asarray(cols) < cols_before).all()
    # below a feasible plan's cost (GH's); validity against proven optima is checked on the
    # parametrised instances above (8x8x12 s1's own MILP takes ~30 s, too long for the suite)
    start, _ = known_uppers(inst, math.inf)
    assert start.feasible
    assert below(lb.value, start.objective)


def test_parked_routes_are_fixed_and_revived():
    """On 8x8x12 s1 routes are parked: x fixed at 0 and not active (the pricing sees them
    as missing); adding one back restores its bound without a second column."""
    inst = generate((8, 8, 12), 1)
    lb = lagrangian_bound(inst, iterations=0, wcover_rounds=10, keep_master=True,
                          full_cover=False, master_tuning=EAGER)
    m = lb.master
    assert m is not None
    parked = np.nonzero(m.parked)[0]
    assert len(parked) > 0
    assert not m.active[parked].any()
    lp = m.h.getLp()
    cols = m.x_col[parked]
    assert (np.asarray(lp.col_upper_)[cols] == 0.0).all()
    n_cols = m.n_cols
    back = parked[:5]
    assert m.add(back) == len(back)
    assert m.n_cols == n_cols
    assert m.active[back].all() and not m.parked[back].any()
    assert (np.asarray(m.h.getLp().col_upper_)[m.x_col[back]] == 1.0).all()
    assert m.solve() is not None


def test_simplex_after_ipm_switches_and_stays_a_bound():
    """An interior-point master (forced on a small instance) switches to the warm simplex
    after one solve with crossover; the generation's L is ≤ the optimum and equal, up to
    the LP's tolerance, to the generation's with the IPM throughout where both converge."""
    from hetserve.milp.bound import _Lagrangian
    from hetserve.milp.colgen import RestrictedMaster, cheapest, column_generation
    from hetserve.milp.index import make_index

    inst = generate((6, 6, 8), 1)
    opt = proven_optimum(inst)
    idx = make_index(inst)
    values = []
    for tuning in (None, MasterTuning(simplex_after=1)):
        lg = _Lagrangian(inst, idx)
        m = RestrictedMaster(inst, idx, lg.good, lg.has_err, lg.has_dly, full_cover=False,
                             ipm=True)
        per_share = lg.cx + lg.rent[lg.rk] * lg.load / lg.rho
        first = cheapest(idx.ri * 2 + lg.good, per_share, 10)
        res = column_generation(lg, m, first, tuning=tuning)
        assert below(res.best_value, opt.objective)
        assert m.ipm is (tuning is None)
        values.append((res.best_value, res.converged))
    (a, ca), (b, cb) = values
    if ca and cb:
        assert b == pytest.approx(a, rel=1e-5)


def test_more_separations_only_with_time_left():
    """``wcover_more`` (docs/milp.md "Certified bounds"): with a deadline far away the extra
    separations are those of a larger ``wcover_rounds`` (same rows, same L); without a
    deadline there are none; the bound stays ≤ the proven optimum (6x6x8 s1) or a feasible
    plan's cost (8x8x12 s1, 4 separations there)."""
    for shape, check in (((6, 6, 8), "optimum"), ((8, 8, 12), "plan")):
        inst = generate(shape, 1)

        def run(**kw):
            lb = lagrangian_bound(inst, iterations=0, full_cover=False, **kw)
            return lb.value, sum(1 for h in lb.stats["cg_history"] if "cover_rows" in h)

        one = run(wcover_rounds=1)
        more = run(wcover_rounds=1, wcover_more=3, time_limit_s=1e5)
        assert more == run(wcover_rounds=4, time_limit_s=1e5)
        assert more[1] > one[1]
        assert run(wcover_rounds=1, wcover_more=3) == one
        upper = proven_optimum(inst).objective if check == "optimum" \
            else known_uppers(inst, math.inf)[0].objective
        assert below(more[0], upper)


def test_fixed_model_bound_default_tuning(monkeypatch):
    """``fixed_model_bound`` hands :data:`milp.bound.CLOSING_TUNING` to the closing when no
    tuning is given, and a given one (all off) as it is."""
    import hetserve.milp.bound as bound_mod

    seen = []

    class Stop(Exception):
        pass

    def spy(*args, **kw):
        seen.append(kw["master_tuning"])
        raise Stop

    monkeypatch.setattr(bound_mod, "lagrangian_bound", spy)
    inst = generate((6, 6, 8), 1)
    start, _ = known_uppers(inst, math.inf)
    assert start.feasible
    for given in (None, MasterTuning()):
        with pytest.raises(Stop):
            fixed_model_bound(inst, start.solution, time_limit_s=30.0, closing_tuning=given)
    assert seen == [bound_mod.CLOSING_TUNING, MasterTuning()]
    tuned, off = bound_mod.CLOSING_TUNING, MasterTuning()
    assert (tuned.drop_idle, tuned.skip_late, tuned.park_idle, tuned.simplex_after,
            tuned.primal_after_columns) == (0, True, 0, 4, True)
    # the dataclass itself stays all off (each switch's tests above mean what they say)
    assert (off.drop_idle, off.skip_late, off.park_idle, off.simplex_after, off.ipm_tol,
            off.primal_after_columns) == (0, False, 0, 0, None, False)


@pytest.mark.parametrize("primal", [False, True])
def test_primal_after_columns_same_lp_other_strategy(primal):
    """``primal_after_columns``: a warm re-solve of the sparse master after columns only
    runs the primal simplex (HiGHS's ``simplex_strategy`` 4; 1, the dual, without it), after
    new rows or a solve cut short still the dual; the generation's L stays ≤ the optimum of
    6x6x8 s1 and, where it converges, its master is the same LP (same value) as without
    the switch."""
    from hetserve.milp.bound import _Lagrangian
    from hetserve.milp.colgen import CoverRows, RestrictedMaster, cheapest, column_generation
    from hetserve.milp.index import make_index

    inst = generate((6, 6, 8), 1)
    opt = proven_optimum(inst)
    idx = make_index(inst)
    results = []
    for tuning in (MasterTuning(), MasterTuning(primal_after_columns=primal)):
        lg = _Lagrangian(inst, idx)
        m = RestrictedMaster(inst, idx, lg.good, lg.has_err, lg.has_dly, full_cover=False)
        per_share = lg.cx + lg.rent[lg.rk] * lg.load / lg.rho
        first = cheapest(idx.ri * 2 + lg.good, per_share, 10)
        res = column_generation(lg, m, first, tuning=tuning)  # no cover rows: one LP
        assert below(res.best_value, opt.objective)
        results.append(res)
        missing = np.nonzero(~m.active & m.allowed)[0][:5]
        assert len(missing) and m.add(missing) == len(missing)
        assert m.solve() is not None  # columns only
        assert m.h.getOptionValue("simplex_strategy")[1] \
            == (4 if tuning.primal_after_columns else 1)
        m.covers = CoverRows(idx, lg.ee, lg.dd)
        assert m.add_covers(min_violation=-1.0) > 0  # rows (valid, violated or not)
        assert m.solve() is not None
        assert m.h.getOptionValue("simplex_strategy")[1] == 1  # after rows: the dual
        # a solve cut short (here by an iteration limit; in the closing, by its deadline)
        # leaves a basis that is not primal feasible: the next re-solve is the dual's
        x = np.asarray(m.h.getSolution().col_value)[m.col_x]
        top = int(m.col_x[int(np.argmax(x))])  # the busiest route, fixed at 0 for one solve
        assert x.max() > 0
        m.h.changeColBounds(top, 0.0, 0.0)
        m.h.setOptionValue("simplex_iteration_limit", 0)
        assert m.solve() is None
        m.h.setOptionValue("simplex_iteration_limit", 2**31 - 1)
        m.h.changeColBounds(top, 0.0, 1.0)
        m.add(np.nonzero(~m.active & m.allowed)[0][:5])
        assert m.solve() is not None
        assert m.h.getOptionValue("simplex_strategy")[1] == 1
        m.add(np.nonzero(~m.active & m.allowed)[0][:5])
        assert m.solve() is not None  # after an optimal one: the primal again, if on
        assert m.h.getOptionValue("simplex_strategy")[1] \
            == (4 if tuning.primal_after_columns else 1)
    plain, switched = results
    assert plain.converged and switched.converged
    assert switched.master_value == pytest.approx(plain.master_value, rel=1e-6)

