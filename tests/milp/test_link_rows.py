"""Link rows on demand (milp/link_rows.py; docs/milp.md "Link rows on demand"): the rows
left out are link rows only, the LP with the kept ones has the full LP's value, and the
solve proves the same optimum with and without them."""

from __future__ import annotations

import importlib

import highspy
import numpy as np
import pytest

from hetserve.instances.generate import generate
from hetserve.instances.solver_log import new_highs
from hetserve.milp.highs_model import build_arrays
from hetserve.milp.highs_run import run_checked
from hetserve.milp.link_rows import drop_rows, select_link_rows
from hetserve.milp.solve import MilpParams, _link_on_demand
from tests.helpers import gh_start_with_and_without, small_milp_instances

INSTANCES = small_milp_instances()
SOLVE = importlib.import_module("hetserve.milp.solve")  # the module, not milp.solve()


def _lp_value(am, selection=None) -> float:  # type: ignore[no-untyped-def]
    lp = am.to_highs_lp()
    lp.integrality_ = []
    h = new_highs()
    h.setOptionValue("threads", 1)
    h.passModel(lp)
    drop_rows(h, selection)
    run_checked(h)
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return float(h.getInfo().objective_function_value)


@pytest.mark.parametrize("make", [*INSTANCES[:4], lambda: generate((8, 8, 10), 2)])
def test_selection_keeps_the_root_lp(make):
    """Only link rows are dropped, most of them on these models, and the LP relaxation
    with the kept rows has the value of the full one (the loop's point satisfies every
    link row)."""
    am = build_arrays(make())
    sel = select_link_rows(am, seed=0)
    assert sel is not None
    block = am.row_blocks["link"]
    assert np.all((sel.drop >= block.start) & (sel.drop < block.stop))
    assert sel.kept + len(sel.drop) == sel.total == block.stop - block.start
    full = _lp_value(am)
    assert sel.lp_value == pytest.approx(full, rel=1e-7, abs=1e-7)
    assert _lp_value(am, sel) == pytest.approx(full, rel=1e-7, abs=1e-7)


def test_selection_drops_rows_on_a_generated_model():
    """8x8x10 s2: the point of the feature — most link rows go."""
    am = build_arrays(generate((8, 8, 10), 2))
    sel = select_link_rows(am, seed=0)
    assert sel is not None and sel.total > 100
    assert len(sel.drop) > sel.total // 2


@pytest.mark.parametrize("make", INSTANCES)
def test_same_optimum_with_and_without(make, monkeypatch):
    """From GH's plan the solve proves the same optimum with every link row and with the
    selection (the size threshold lowered to 0 so that it applies to these models)."""
    inst = make()
    monkeypatch.delenv("HETSERVE_MILP_LINK_ON_DEMAND", raising=False)
    monkeypatch.setattr(SOLVE, "LINK_ON_DEMAND_MIN_ROWS", 0)
    _, off, on = gh_start_with_and_without(inst, link_on_demand=False)
    assert off.stats["link_rows"] is None
    assert on.stats["link_rows"] is not None
    assert on.stats["n_rows"] == off.stats["n_rows"] - (
        on.stats["link_rows"]["total"] - on.stats["link_rows"]["kept"])


def test_infeasible_model_keeps_every_row():
    """paper-base with a delay SLO no route meets and no unmet share allowed: the LP has no
    optimum, so there is no selection (HiGHS gets the full model and reports it)."""
    from dataclasses import replace

    from hetserve.instances.generate import paper_base

    inst = paper_base()
    qs = list(inst.query_types)
    qs[1] = replace(qs[1], delay_slo_s=1e-3, max_unmet=0.0)
    assert select_link_rows(build_arrays(inst.replace(query_types=tuple(qs)))) is None
    assert select_link_rows(build_arrays(inst)) is not None


def test_applies_after_a_two_thread_solve():
    """HiGHS keeps one thread pool per process and refuses a run with another thread count:
    after a two-thread solve (the CLI's default; the support MIP runs with it before the
    selection) the selection's one-thread LP must still run."""
    from hetserve.milp.highs_run import run_array_model

    am = build_arrays(generate((5, 5, 6), 1))
    run_array_model(am, threads=2, time_limit_s=30.0)
    sel = select_link_rows(am, seed=0)
    assert sel is not None and sel.kept > 0


def test_no_selection_when_the_loop_runs_out_of_time_or_rounds(monkeypatch):
    """Past its time limit or round cap the loop gives up: no selection, every row stays
    (the solve's time limit holds whatever the model's size)."""
    am = build_arrays(generate((8, 8, 10), 2))
    assert select_link_rows(am, time_limit_s=0.0) is None
    full = select_link_rows(am)
    assert full is not None and full.rounds > 1
    monkeypatch.setattr("hetserve.milp.link_rows.MAX_ROUNDS", full.rounds - 1)
    assert select_link_rows(am) is None
    monkeypatch.setattr("hetserve.milp.link_rows.MAX_ROUNDS", full.rounds)
    assert select_link_rows(am) is not None


def test_toggle_and_threshold(monkeypatch):
    """The size threshold applies unless the environment forces the choice."""
    am = build_arrays(generate((4, 4, 5), 0))
    n_link = am.row_blocks["link"].stop - am.row_blocks["link"].start
    monkeypatch.delenv("HETSERVE_MILP_LINK_ON_DEMAND", raising=False)
    monkeypatch.setattr(SOLVE, "LINK_ON_DEMAND_MIN_ROWS", n_link + 1)
    assert not _link_on_demand(MilpParams(), am)
    monkeypatch.setattr(SOLVE, "LINK_ON_DEMAND_MIN_ROWS", n_link)
    assert _link_on_demand(MilpParams(), am)
    assert not _link_on_demand(MilpParams(link_on_demand=False), am)
    monkeypatch.setenv("HETSERVE_MILP_LINK_ON_DEMAND", "0")
    assert not _link_on_demand(MilpParams(), am)
    monkeypatch.setenv("HETSERVE_MILP_LINK_ON_DEMAND", "1")
    monkeypatch.setattr(SOLVE, "LINK_ON_DEMAND_MIN_ROWS", 10**9)
    assert _link_on_demand(MilpParams(link_on_demand=False), am)
