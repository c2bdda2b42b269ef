"""Reductions (milp/reductions.py): each keeps the optimum; dominance is what it claims."""

from __future__ import annotations

import numpy as np
import pytest

from hetserve.instances import Status
from hetserve.instances.bundled import bundled_path
from hetserve.instances.evaluate import evaluate_arrays
from hetserve.instances.generate import generate
from hetserve.instances.io import read_instance
from hetserve.milp import MilpParams, export, solve
from hetserve.milp.index import make_index, replica_bounds, usable_mask
from hetserve.milp.reductions import Reductions, dominated_configs, map_plan, reduce

INSTANCES = [
    ("tiny", lambda: read_instance(bundled_path("tiny"))),
    ("small-3x3x4", lambda: read_instance(bundled_path("small-3x3x4"))),
    pytest.param("paper-base", lambda: read_instance(bundled_path("paper-base")),
                 marks=pytest.mark.slow),
    ("gen-4x4x5-s0", lambda: generate((4, 4, 5), 0)),
    ("gen-4x4x4-s1-tight", lambda: generate((4, 4, 4), 1, "tight-budget")),
    ("gen-4x4x4-s2-multi", lambda: generate((4, 4, 4), 2).replace(multi_parallelism=True)),
    ("gen-3x3x4-s3-single", lambda: generate((3, 3, 4), 3).replace(single_placement=True)),
]
EACH = [Reductions(dominated=True, budget=False, incumbent=False, reduced_cost=False),
        Reductions(dominated=False, budget=True, incumbent=False, reduced_cost=False),
        Reductions(dominated=False, budget=False, incumbent=True, reduced_cost=False),
        Reductions(dominated=False, budget=False, incumbent=False, reduced_cost=True),
        Reductions()]


@pytest.mark.parametrize(("name", "make"), INSTANCES)
def test_each_reduction_keeps_the_optimum(name, make):
    """Complete model vs each reduction alone and all together. The incumbent bound gets
    the tightest valid upper bound there is (the optimum itself, as a MIP start)."""
    inst = make()
    full = solve(inst, MilpParams(reductions=Reductions.none(), threads=1))
    assert full.status is Status.OPTIMAL
    assert full.stats["reduced"] == {}
    for red in EACH:
        res = solve(inst, MilpParams(reductions=red, threads=1), warm_start=full.solution)
        assert res.status is Status.OPTIMAL, red.label()
        assert res.feasible
        assert res.objective == pytest.approx(full.objective, rel=2e-4), red.label()
        # the model really is smaller or equal
        assert res.stats["n_vars"] <= full.stats["n_vars"]


def test_reductions_shrink_paper_base():
    inst = read_instance(bundled_path("paper-base"))
    full = make_index(inst)
    red = make_index(inst, reductions=Reductions())
    assert red.reduced is not None and red.reduced.counts["dominated"] > 0
    assert red.n_cfg < full.n_cfg and red.n_routes < full.n_routes
    assert np.all(red.rbar <= full.rbar[np.searchsorted(full.cfg, red.cfg)])


@pytest.mark.parametrize("make", [lambda: read_instance(bundled_path("paper-base")),
                                  lambda: generate((8, 8, 8), 4).replace(multi_parallelism=True)])
def test_dominators_satisfy_the_definition(make):
    inst = make()
    t = inst.routes
    mask = usable_mask(inst)
    cand = mask.any(axis=0)
    by = dominated_configs(inst, mask, cand)
    assert (by >= 0).any()
    for c in np.nonzero(by >= 0)[0]:
        d = by[c]
        assert by[d] < 0, "the dominator survives"
        assert t.configs[d].deployment == t.configs[c].deployment
        assert t.gpus_per_replica[d] <= t.gpus_per_replica[c]
        served = mask[:, c]
        assert np.all(mask[served, d])
        assert np.all(t.capacity[served, d] >= t.capacity[served, c])
        assert np.all(t.delay[served, d] <= t.delay[served, c])
        assert np.all(t.error[:, d] == t.error[:, c])


def test_the_dominance_map_keeps_a_plan_feasible_and_no_dearer():
    """The map of the proof, applied to the complete model's optimum with every
    dominated configuration forced open (a plan that uses them)."""
    inst = generate((6, 6, 8), 1)
    mask = usable_mask(inst)
    red = reduce(inst, mask, replica_bounds(inst, mask), Reductions(budget=False, incumbent=False))
    t = inst.routes
    # a plan routing each type to a dominated configuration that can serve it alone
    lam = np.array([q.rate_per_s for q in inst.query_types])
    r = np.zeros(len(t))
    x = np.zeros((len(inst.query_types), len(t)))
    dominated = np.nonzero(red.dominator >= 0)[0]
    for i in range(len(inst.query_types)):
        ok = [c for c in dominated if mask[i, c] and t.error[i, c] <= inst.query_types[i].error_slo]
        if ok:
            x[i, ok[0]] = 1.0
    load = (lam[:, None] * x / np.where(t.capacity > 0, t.capacity, 1.0)).sum(axis=0)
    r = np.ceil(load / inst.max_utilisation - 1e-12)
    before = evaluate_arrays(inst.replace(budget=None, availability={}), r, x)
    r2, x2 = map_plan(red, r, x)
    after = evaluate_arrays(inst.replace(budget=None, availability={}), r2, x2)
    assert x.sum() > 0 and np.all(r2[dominated] == 0)
    kinds = {v.kind for v in before.violations} - {"unmet", "parallelism"}
    assert {v.kind for v in after.violations} - {"unmet", "parallelism"} <= kinds
    assert after.objective <= before.objective * (1 + 1e-12)


def test_export_writes_the_complete_model(tmp_path):
    inst = read_instance(bundled_path("paper-base"))
    path = export(inst, tmp_path / "m.lp", fmt="lp")
    text = path.read_text()
    full, red = make_index(inst), make_index(inst, reductions=Reductions())
    dropped = sorted(set(full.cfg.tolist()) - set(red.cfg.tolist()))
    assert dropped and f"r_{dropped[0]}" in text
    path = export(inst, tmp_path / "r.lp", fmt="lp", reductions=Reductions())
    assert f"r_{dropped[0]} " not in path.read_text() and f"r_{dropped[0]}\n" not in path.read_text()
