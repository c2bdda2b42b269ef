"""Resume safety of sweep folders (hetserve.cli.sweep.prepare_out)."""

from __future__ import annotations

import json

import pytest

from hetserve.cli.sweep import SETTINGS_FILE, ResumeRefused, prepare_out


def test_new_folder_records_settings_and_code_version(tmp_path):
    out = tmp_path / "new"
    prepare_out(out, {"time_limit_s": 60.0, "methods": ("milp", "gh")}, resume=False)
    recorded = json.loads((out / SETTINGS_FILE).read_text())
    assert recorded["time_limit_s"] == 60.0 and recorded["methods"] == ["milp", "gh"]
    assert {"hetserve_version", "git_commit"} <= set(recorded)
    # the same settings resume; tuples and lists compare equal after the JSON round trip
    prepare_out(out, {"time_limit_s": 60.0, "methods": ["milp", "gh"]}, resume=True)


def test_refusals(tmp_path):
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "runs.csv").write_text("instance,method\n")
    with pytest.raises(ResumeRefused, match="not empty; pass --resume"):
        prepare_out(legacy, {"threads": 1}, resume=False)
    with pytest.raises(ResumeRefused, match=r"has no settings\.json"):
        prepare_out(legacy, {"threads": 1}, resume=True)
    with pytest.raises(ResumeRefused, match="give a new or empty folder"):
        prepare_out(legacy, {"threads": 1}, resume=True, resumable=False)
    run = tmp_path / "run"
    prepare_out(run, {"threads": 1, "methods": ["milp"]}, resume=False)
    with pytest.raises(ResumeRefused, match=r"methods was \['milp'\], now \['milp', 'gh'\]"):
        prepare_out(run, {"threads": 1, "methods": ["milp", "gh"]}, resume=True)
    assert json.loads((run / SETTINGS_FILE).read_text())["methods"] == ["milp"]
    # an empty existing folder is a new run
    empty = tmp_path / "empty"
    empty.mkdir()
    prepare_out(empty, {"threads": 1}, resume=False, resumable=False)
