"""``hetserve rolling`` (scripts/rolling.py): outputs and bad input."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from hetserve.cli.rolling import rolling_command


@pytest.mark.parametrize(("args", "needle"), [
    (["--window", "5x"], "--window: duration '5x' not understood"),
    (["--horizon", "1m"], "--horizon: 60 s is shorter than the window"),
    (["--demand", "nope"], "--demand: demand 'nope' not understood"),
    (["--demand", "azure-code", "--window", "2h"], "--window: window_s: 7200 s is longer"),
])
def test_bad_input_is_a_usage_error(tmp_path, args, needle):
    r = CliRunner().invoke(rolling_command, ["small-3x3x4", "--out", str(tmp_path / "o"), *args])
    assert r.exit_code == 2, r.output
    assert needle in r.output


def test_cli_writes_outputs(tmp_path):
    out = tmp_path / "run"
    r = CliRunner().invoke(rolling_command, ["small-3x3x4", "--solver", "gh", "--windows", "4",
                                             "--out", str(out), "--sigma", "0.04"])
    assert r.exit_code == 0, r.output
    for f in ("windows.csv", "summary.md", "meta.json", "cost.png", "gpus.png"):
        assert (out / f).exists()
    rows = list(csv.DictReader((out / "windows.csv").open()))
    assert len(rows) == 4
    for col in ("rental", "switching_cost", "starts", "violations", "solve_time_s",
                "p99_ttft_max_s", "gpus", "slo_miss_sim", "slo_met_sim", "refused_by"):
        assert col in rows[0]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["summary"]["windows"] == 4
    assert meta["verify"] is True and meta["judge"] == "detailed"
    assert 0 <= meta["summary"]["windows_slo_met_sim"] <= 1
    # the printed summary says the simulated share and the windows the limits refuse
    refused = meta["summary"]["windows_refused_by_limits"]
    assert refused == sum(bool(r["refused_by"]) for r in rows)
    assert "SLO in the detailed simulator: met in" in r.output
    assert ("windows are infeasible within limits" in r.output) == (refused > 0)
    assert ("no window's sized capacity was refused" in r.output) == (refused == 0)


def test_cli_static_and_csv_demand(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("timestamp,category,prompt_tokens,output_tokens\n"
                 + "".join(f"{t},conversation,800,120\n{t + 0.5},code,1500,20\n"
                           for t in range(0, 900, 3)))
    out = tmp_path / "s"
    r = CliRunner().invoke(rolling_command, ["small-3x3x4", "--solver", "gh", "--demand", str(f),
                                             "--static", "peak", "--horizon", "15m",
                                             "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader((out / "windows.csv").open()))
    assert len(rows) == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,category,prompt_tokens,output_tokens\n0,code,x,1\n")
    r = CliRunner().invoke(rolling_command, ["small-3x3x4", "--demand", str(bad),
                                             "--out", str(tmp_path / "b")])
    assert r.exit_code == 2
    assert "line 2: column 'prompt_tokens'" in r.output
