"""The rolling experiment drivers: the DES check (library) and ``benchmarks.rolling_sweep``
run as a real subprocess from the repository root (resume safety)."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from benchmarks import rolling_sweep
from hetserve.instances.demand import synthetic_demand
from hetserve.queueing.sizing import QueueingSizer, QueueingSizing
from hetserve.rolling.des_check import des_check
from tests.rolling.conftest import cheapest_route_solver

ROOT = Path(__file__).resolve().parents[2]


def test_des_check_rows_follow_the_sizer(small):
    d = synthetic_demand(small, sigma=0.0, seed=0, horizon_s=1800, amplitude=0.0)
    rows = des_check(small, d, cheapest_route_solver, n_requests=400, seed=3, mode="fast")
    again = des_check(small, d, cheapest_route_solver, n_requests=400, seed=3, mode="fast")
    assert rows == again  # deterministic for a seed
    sizer = QueueingSizer(small, d, QueueingSizing())
    lam = d.mean_rates()
    names = [q.name for q in small.query_types]
    for r in rows:
        assert r["type"] in names
        if "note" in r:
            continue
        assert math.isfinite(r["p99_ttft_pred_s"]) and r["p99_ttft_sim_s"] >= 0
        i = names.index(r["type"])
        c = next(k for k, cfg in enumerate(small.routes.configs) if cfg.label() == r["config"])
        entry = sizer.size(i, c, float(lam[i]))
        assert r["rate"] == entry.plan.rate
        if r["headroom"] == "planner":  # the planner's own pool sizes are simulated
            planned = [p.units for p in sizer.slices(i, c, entry.plan) if p.share > 0]
            assert r["units"] == "+".join(str(max(1, n)) for n in planned)
    assert {r["headroom"] for r in rows if "note" not in r} == {"planner", 1 / 0.85}


SWEEP = ["sweep", "small-3x3x4", "--sigmas", "0", "--solvers", "gh", "--statics", "peak",
         "--windows", "2", "--no-queueing"]


def test_rolling_sweep_resumes_only_under_the_same_settings(tmp_path):
    out = tmp_path / "sweep"
    first = subprocess.run([sys.executable, "-m", "benchmarks.rolling_sweep", *SWEEP, "--out",
                            str(out)], cwd=ROOT, capture_output=True, text=True, check=False,
                           env={**os.environ}, timeout=300)
    assert first.returncode == 0, first.stderr
    rows = list(csv.DictReader((out / "runs.csv").open()))
    assert [r["mode"] for r in rows] == ["rolling", "peak"]
    assert len(list(out.glob("windows_*.csv"))) == 2
    runner = CliRunner()
    refused = runner.invoke(rolling_sweep.main, [*SWEEP, "--out", str(out)])
    assert refused.exit_code == 2
    assert refused.output.strip().splitlines() == [
        f"error: --out: {out} is not empty; pass --resume to continue the run recorded there, "
        "or give a new folder"]
    other = runner.invoke(rolling_sweep.main, [*SWEEP, "--out", str(out), "--resume",
                                               "--time-limit", "5"])
    assert other.exit_code == 2 and "time_limit_s was None, now 5.0" in other.output
    resumed = runner.invoke(rolling_sweep.main, [*SWEEP, "--out", str(out), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert list(csv.DictReader((out / "runs.csv").open())) == rows
