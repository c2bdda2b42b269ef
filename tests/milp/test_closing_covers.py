"""Weighted covers inside the closing generation (milp/colgen.py: ``CoverRows``,
``RestrictedMaster.add_covers``; milp/bound.py: ``_Lagrangian.evaluate``'s ``omega``;
docs/milp.md "Certified bounds"): the rows hold for every plan, so the Lagrangian that
dualises them is a bound for any multipliers ≥ 0; the generation with them stays below the
proven optimum and no lower than without them; the master's rows carry the coefficients of
their definition, also on routes that enter after them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hetserve.instances.generate import generate
from hetserve.milp.bound import _Lagrangian, fixed_model_bound, lagrangian_bound
from hetserve.milp.colgen import CoverRows
from hetserve.milp.index import make_index
from tests.helpers import below, cover_instances, known_uppers, proven_optimum, random_lagrangian_multipliers

INSTANCES = cover_instances()


@pytest.mark.parametrize("make", INSTANCES)
@pytest.mark.parametrize("full_cover", [True, False])
def test_generation_with_covers_is_between_plain_and_optimum(make, full_cover):
    """Both master shapes: the bound with cover rows is ≤ the proven optimum and ≥ the
    bound of the same generation without them."""
    inst = make()
    opt = proven_optimum(inst)
    plain = lagrangian_bound(inst, iterations=0, full_cover=full_cover)
    cov = lagrangian_bound(inst, iterations=0, full_cover=full_cover, wcover_rounds=10)
    assert math.isfinite(cov.value)
    assert below(cov.value, opt.objective)
    assert cov.value >= plain.value - 1e-6 * max(1.0, abs(plain.value))


def test_covers_lift_the_bound_where_the_lp_is_weak():
    """Not a no-op: on 8x8x12 s1 (LP 325.81, optimum 353.10) rows are added and the bound
    rises by more than 1 %."""
    inst = generate((8, 8, 12), 1)
    plain = lagrangian_bound(inst, iterations=0)
    cov = lagrangian_bound(inst, iterations=0, wcover_rounds=10)
    assert cov.stats["cover_rows"] > 0
    assert cov.value > 1.01 * plain.value


@pytest.mark.parametrize("make", INSTANCES)
def test_lagrangian_with_random_cover_multipliers_is_a_bound(make):
    """Weak duality for any omega ≥ 0: random rows (any t ≥ 0 and any set S are valid
    rows), random sign-valid multipliers of all the other rows, L ≤ the optimum; with
    omega = 0 L is the plain Lagrangian's."""
    inst = make()
    opt = proven_optimum(inst)
    idx = make_index(inst)
    rng = np.random.default_rng(11)
    lg = _Lagrangian(inst, idx)
    covers = CoverRows(idx, lg.ee, lg.dd)
    kinds = [0, 1] if lg.avg else [0]
    for _ in range(12):
        i = int(rng.integers(lg.nI))
        routes = np.nonzero(idx.ri == i)[0]
        s = routes[rng.random(len(routes)) < 0.3]
        covers.append(i, int(rng.choice(kinds)), float(rng.choice([0.0, 1.0, 10.0, 1e3])
                                                       * rng.random()), s)
    lg.covers = covers
    for _ in range(20):
        mult = random_lagrangian_multipliers(rng, lg.nI, len(lg.gpu_limits))
        omega = np.abs(rng.normal(scale=float(rng.choice([0.1, 10.0, 1e3])), size=covers.n))
        plain, _ = lg.evaluate(*mult)
        zero, _ = lg.evaluate(*mult, np.zeros(covers.n))
        assert zero == pytest.approx(plain, rel=1e-12, abs=1e-9)
        lag, _ = lg.evaluate(*mult, omega)
        assert below(lag, opt.objective)


def test_master_rows_match_their_definition():
    """Every cover row of the master has coefficient a⁺ on each master route of its type
    not in S (routes added after the row too), min(1, a⁺) on w of S, 1 on u."""
    inst = generate((8, 8, 12), 1)
    lb = lagrangian_bound(inst, iterations=0, wcover_rounds=10, keep_master=True,
                          full_cover=False)
    m = lb.master
    assert m is not None and m.covers is not None and m.covers.n > 0
    idx = m.idx
    where = -np.ones(idx.n_routes, dtype=np.int64)
    where[m.routes] = m.col_x
    checked_late = 0
    for r in range(m.covers.n):
        _, cols, vals = m.h.getRowEntries(int(m.cov_rows[r]))
        got = dict(zip(cols.tolist(), vals.tolist()))
        i = int(m.covers.types[r])
        s = m.covers.s_route[m.covers.s_row == r]
        want = {int(m.col_u[i]): 1.0}
        for p in s.tolist():
            want[int(m.col_w[idx.rk[p]])] = float(min(1.0, m.covers.coef(r, np.array([p]))[0]))
        mine = m.routes[(idx.ri[m.routes] == i) & ~np.isin(m.routes, s)]
        a = m.covers.coef(r, mine)
        for p, v in zip(mine.tolist(), a.tolist()):
            if v > 1e-9:  # HiGHS drops smaller values (the Lagrangian uses the exact ones)
                want[int(where[p])] = v
        checked_late += int((where[mine[a > 1e-9]] >= m.cov_cols_at[r]).sum())
        assert got.keys() == want.keys()
        for c, v in want.items():
            assert got[c] == pytest.approx(v, rel=1e-12)
    assert checked_late > 0


@pytest.mark.parametrize("make", INSTANCES[1:4])
def test_closing_with_covers_stays_below_the_optimum(make):
    """Closing (U = GH's cost or the optimum) with cover rows: min(U, L) and the fixed-model
    bound from it stay below the optimum, and no lower than the closing without rows."""
    inst = make()
    opt = proven_optimum(inst)
    start, uppers = known_uppers(inst, opt.objective)
    for upper in uppers:
        plain = lagrangian_bound(inst, upper_bound=upper, iterations=0, close=True)
        cov = lagrangian_bound(inst, upper_bound=upper, iterations=0, close=True,
                               wcover_rounds=10)
        assert below(cov.value, opt.objective)
        assert cov.value >= plain.value - 1e-6 * max(1.0, abs(plain.value))
    if start.feasible:
        fb, _ = fixed_model_bound(inst, start.solution, time_limit_s=30.0,
                                  closing_wcover_rounds=10)
        assert below(fb.value, opt.objective)
