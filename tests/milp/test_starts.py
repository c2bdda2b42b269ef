"""The MIP start of ``milp`` (scripts/methods.py: auto_start, docs/milp.md "Which MIP start")."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hetserve.cli.methods import (
    AUTO_FLEET_MIP_ROUTES,
    AUTO_FLEET_MIP_ROUTES_SPLIT,
    AUTO_FULL_AGH_ROUTES,
    CAPPED_AGH_SWAP_MIN_ROUTES,
    MILP_STARTS,
    MethodSettings,
    auto_start,
    capped_agh,
    run_method,
)
from hetserve.instances import Status
from hetserve.instances.bundled import bundled_path
from hetserve.instances.generate import generate
from hetserve.instances.io import read_instance
from hetserve.milp.index import usable_mask


def test_auto_picks_by_size():
    small = read_instance(bundled_path("paper-base"))
    large = generate((12, 12, 12), 1)
    assert usable_mask(small).sum() <= AUTO_FULL_AGH_ROUTES < usable_mask(large).sum()
    assert auto_start(small) == "agh-capped"
    assert auto_start(large) == "agh"
    huge = generate((20, 20, 20), 0)
    routes = usable_mask(huge).sum()
    # one HiGHS run cannot improve the start there: AGH's own plan (with its fleet MIP)
    assert AUTO_FLEET_MIP_ROUTES < routes < AUTO_FLEET_MIP_ROUTES_SPLIT
    assert auto_start(huge) == "agh-fleet"
    assert auto_start(huge, threads=1) == "agh-fleet"
    # the split proves it from AGH's plan before the fleet MIP
    assert auto_start(huge, threads=2) == "agh"
    assert auto_start(large, threads=2) == "agh"
    assert auto_start(small, threads=2) == "agh-capped"


def test_auto_keeps_the_fleet_mip_above_the_split_threshold(monkeypatch):
    import hetserve.cli.methods as methods

    inst = generate((12, 12, 12), 1)
    routes = int(usable_mask(inst).sum())
    monkeypatch.setattr(methods, "AUTO_FLEET_MIP_ROUTES_SPLIT", routes - 1)
    assert auto_start(inst, threads=2) == "agh-fleet"
    monkeypatch.setattr(methods, "AUTO_FLEET_MIP_ROUTES_SPLIT", routes)
    assert auto_start(inst, threads=2) == "agh"


def test_capped_start_swaps_only_from_its_size_on():
    small = read_instance(bundled_path("paper-base"))
    mid = generate((8, 8, 12), 0)
    assert usable_mask(small).sum() < CAPPED_AGH_SWAP_MIN_ROUTES <= usable_mask(mid).sum()
    assert "swap" not in capped_agh(small).operators
    assert "swap" in capped_agh(mid).operators
    # nothing else differs: the rest of the capped start is the same at both sizes
    assert {o for o in capped_agh(mid).operators if o != "swap"} == set(capped_agh(small).operators)
    assert capped_agh(small).work_budget == capped_agh(mid).work_budget


@pytest.mark.parametrize("start", ["auto", "gh", "agh-capped"])
def test_every_start_reaches_the_same_optimum(start):
    inst = generate((4, 4, 5), 0)
    cold = run_method("milp", inst, MethodSettings(threads=1, milp_start="none"))
    res = run_method("milp", inst, MethodSettings(threads=1, milp_start=start))
    assert cold.status is Status.OPTIMAL and res.status is Status.OPTIMAL
    assert res.objective == pytest.approx(cold.objective, rel=2e-4)
    assert res.stats["start_method"] == ("agh-capped" if start == "auto" else start)
    assert res.runtime_s >= res.stats["start_runtime_s"]


def test_unknown_start_is_refused():
    with pytest.raises(ValueError, match="milp_start"):
        run_method("milp", generate((3, 3, 4), 0), MethodSettings(milp_start="lp"))


def test_cli_warm_start_choices():
    assert MILP_STARTS[0] == "auto"
    bad = subprocess.run([sys.executable, "-m", "hetserve.cli", "solve", "tiny", "--warm-start",
                          "lp"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--warm-start" in bad.stderr
    other = subprocess.run([sys.executable, "-m", "hetserve.cli", "solve", "tiny", "--method",
                            "gh", "--warm-start", "gh"], capture_output=True, text=True)
    assert other.returncode == 2 and "--warm-start" in other.stderr
