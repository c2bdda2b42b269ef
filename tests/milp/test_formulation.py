"""The model itself: the PuLP and highspy builds coincide, the objective is the evaluator's."""

from __future__ import annotations

import numpy as np
import pytest

from hetserve.instances.evaluate import cost_terms
from hetserve.instances.generate import generate, paper_base
from hetserve.milp import Tightening, build
from hetserve.milp.highs_model import build_arrays
from tests.helpers import query, tiny_instance


def _pulp_triples(form):
    coefs, rows = set(), {}
    for con in form.problem.constraints():
        name = con.name
        rhs = -con.constant
        rows[name] = (rhs if con.sense in (0, 1) else None, rhs if con.sense in (0, -1) else None)
        coefs |= {(name, v.name, round(a, 9)) for v, a in con.items() if a != 0}
    return coefs, rows


def _array_triples(am):
    cn, rn, A = am.col_names(), am.row_names(), am.A.tocoo()
    coefs = {(rn[i], cn[j], round(v, 9)) for i, j, v in zip(A.row, A.col, A.data) if v != 0}
    rows = {rn[i]: (None if am.row_lo[i] == -np.inf else am.row_lo[i],
                    None if am.row_hi[i] == np.inf else am.row_hi[i]) for i in range(am.n_rows)}
    return coefs, rows


@pytest.mark.parametrize("make", [
    lambda: paper_base(),
    lambda: generate((4, 4, 4), 1, "tight-budget"),
    lambda: generate((3, 3, 3), 2).replace(delay_constraint="both", single_placement=True),
    lambda: generate((3, 3, 3), 3).replace(multi_parallelism=True, max_utilisation=0.8),
])
@pytest.mark.parametrize("tightening", [Tightening(), Tightening.none(), Tightening(rounding=True)])
def test_pulp_and_array_builds_are_identical(make, tightening):
    inst = make()
    form = build(inst, tightening=tightening)
    am = build_arrays(inst, tightening=tightening)
    assert form.n_vars == am.n_cols and form.n_rows == am.n_rows
    assert _pulp_triples(form) == _array_triples(am)
    obj = {v.name: a for v, a in form.problem.objective.items()}
    for name, c in zip(am.col_names(), am.cost):
        assert obj.get(name, 0.0) == pytest.approx(c, rel=1e-12, abs=1e-12)
    kinds = {v.name: v.cat for v in form.problem.variables()}
    for name, is_int in zip(am.col_names(), am.integer):
        assert (kinds[name] == "Integer") == bool(is_int)


def test_build_is_pure_and_lp_relaxation_is_continuous():
    inst = tiny_instance()
    form = build(inst, lp_relaxation=True)
    assert all(v.varValue is None for v in form.problem.variables())  # never solved
    assert all(v.cat == "Continuous" for v in form.problem.variables())
    integer = build(inst)  # kept alive: PuLP >= 4 variables die with their problem
    assert all(v.cat == "Integer" for v in integer.r.values())


def test_objective_matches_cost_terms_on_a_point():
    """Set every variable of a consistent point by hand; the PuLP objective equals the
    evaluator's four cost terms."""
    inst = generate((3, 3, 3), 2)
    form = build(inst)
    t = inst.routes
    rng = np.random.default_rng(0)
    r = np.zeros(len(t))
    x = np.zeros((len(inst.query_types), len(t)))
    for c, var in form.r.items():
        r[c] = int(rng.integers(0, 3))
        var.varValue = r[c]
        form.w[c].varValue = float(r[c] > 0)
    for j, var in form.o.items():
        var.varValue = float(any(r[c] > 0 for c in form.r if t.config_model[c] == j))
    for (i, c), var in form.x.items():
        x[i, c] = rng.uniform(0, 0.1) if r[c] > 0 else 0.0
        var.varValue = x[i, c]
    for i, var in form.u.items():
        var.varValue = max(0.0, 1.0 - x[i].sum())
    want = cost_terms(inst, r, x).total
    assert form.problem.objective.value() == pytest.approx(want, rel=1e-12)


def test_routes_and_bounds():
    """Only usable routes get x; R̄ = ⌈λ/μ⌉ for a single type (availability permitting)."""
    inst = tiny_instance(query_types=(query(rate=10.0),))
    t = inst.routes
    form = build(inst)
    assert set(form.x) == {(0, c) for c in range(len(t)) if t.usable[0, c]}
    for c, var in form.r.items():
        assert var.upBound == np.ceil(10.0 / t.capacity[0, c])
