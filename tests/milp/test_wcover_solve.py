"""The weighted-error-cover fixing in ``milp.solve.fixed_model`` (``MilpParams.wcover_rounds``,
docs/milp.md "Weighted error cover"): the proven optimum is the same with and without it
(rows kept or not), the bounds never cross, and the hook really runs (rows separated,
configurations dropped)."""

from __future__ import annotations

import importlib

import pytest

from hetserve.heuristics import GhParams, gh
from hetserve.instances import Status
from hetserve.instances.generate import generate
from hetserve.milp import MilpParams, solve
from tests.helpers import small_milp_instances

solve_mod = importlib.import_module("hetserve.milp.solve")  # the package exports solve()

INSTANCES = small_milp_instances()


@pytest.fixture
def env_off(monkeypatch):
    """The environment does not decide."""
    monkeypatch.delenv("HETSERVE_MILP_WCOVER", raising=False)


@pytest.mark.parametrize("make", INSTANCES)
@pytest.mark.parametrize("rows", ["none", "all"])
def test_wcover_keeps_the_optimum(make, rows, env_off, monkeypatch):
    """From GH's plan, the solve with 8 rounds proves the same optimum as without, and
    neither bound exceeds the other's optimum."""
    monkeypatch.setattr(solve_mod, "WCOVER_ROWS", rows)
    inst = make()
    start = gh(inst, GhParams()).solution
    off = solve(inst, MilpParams(threads=1), warm_start=start)
    on = solve(inst, MilpParams(threads=1, wcover_rounds=8), warm_start=start)
    assert off.status is Status.OPTIMAL and on.status is Status.OPTIMAL
    assert on.objective == pytest.approx(off.objective, rel=2e-4)
    assert off.stats["wcover"] is None
    assert on.stats["wcover"] is not None
    assert on.bound <= off.objective * (1 + 2e-4)
    assert off.bound <= on.objective * (1 + 2e-4)


def test_wcover_runs_and_shrinks_the_model(env_off):
    """On a generated instance with room between the start and the plain LP, rows are
    separated, the LP with them is above the plain one and not above the optimum, and the
    fixing from it drops configurations the plain fixing kept."""
    inst = generate((5, 5, 6), 1)
    start = gh(inst, GhParams()).solution
    off = solve(inst, MilpParams(threads=1, support_mip=False, probing=False),
                warm_start=start)
    res = solve(inst, MilpParams(threads=1, support_mip=False, probing=False,
                                 wcover_rounds=8), warm_start=start)
    assert res.status is Status.OPTIMAL
    wc = res.stats["wcover"]
    assert wc["rows"] > 0 and wc["rounds"] > 0
    assert wc["lp_rows"] > wc["lp_plain"] + 1e-6
    assert wc["lp_rows"] <= res.objective * (1 + 1e-6)
    assert wc["dropped"] > 0 and wc["cols_after"] < wc["cols_before"]
    assert res.stats["n_vars"] < off.stats["n_vars"]


def test_switch(env_off, monkeypatch):
    """Off by default; ``HETSERVE_MILP_WCOVER`` overrides ``MilpParams(wcover_rounds=...)``."""
    assert MilpParams().wcover_rounds == 0
    assert solve_mod._wcover_rounds(MilpParams()) == 0
    assert solve_mod._wcover_rounds(MilpParams(wcover_rounds=5)) == 5
    monkeypatch.setenv("HETSERVE_MILP_WCOVER", "0")
    assert solve_mod._wcover_rounds(MilpParams(wcover_rounds=5)) == 0
    monkeypatch.setenv("HETSERVE_MILP_WCOVER", "12")
    assert solve_mod._wcover_rounds(MilpParams()) == 12
    with pytest.raises(ValueError, match="wcover_rounds"):
        MilpParams(wcover_rounds=-1)
