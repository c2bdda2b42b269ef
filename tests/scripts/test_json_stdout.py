"""``--json`` writes exactly one JSON document on standard output, checked through real
subprocesses: click's CliRunner does not capture file descriptor 1, where HiGHS's C++ code
writes its banner and log (instances/solver_log.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CLI = [sys.executable, "-m", "hetserve.cli"]
# Each case is one process: HiGHS prints its banner once per process, at the first solver object.
CASES = {
    "milp": ["--method", "milp"],
    "milp-ws": ["--method", "milp-ws"],
    "agh": ["--method", "agh"],
    "lpr": ["--method", "lpr"],
    "hf": ["--method", "hf"],
    "milp+warm-start": ["--method", "milp", "--warm-start", "agh"],
    "milp+verbose": ["--method", "milp", "--verbose"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Start every case at once (the machine has two cores; each process mostly imports)."""
    tmp = tmp_path_factory.mktemp("json")
    procs = {name: subprocess.Popen([*CLI, "solve", "tiny", "--json", "--out", str(tmp / f"{name}.json"),
                                     *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, cwd=tmp)
             for name, args in CASES.items()}
    return tmp, {name: (*p.communicate(timeout=300), p.returncode) for name, p in procs.items()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_solve_json_is_one_document(runs, case):
    _, results = runs
    out, err, code = results[case]
    assert code == 0, err
    doc = json.loads(out)  # raises on a banner line before or after the document
    assert doc["feasible"] and doc["instance"] == "tiny"
    assert "Running HiGHS" not in out
    if case == "milp+verbose":
        assert "Solving report" in err  # the log asked for goes to standard error
    else:
        assert "Solving report" not in err


def test_solve_json_plan_round_trips_through_evaluate(runs):
    tmp, results = runs
    out, _, _ = results["milp"]
    objective = json.loads(out)["objective"]
    done = subprocess.run([*CLI, "evaluate", "tiny", str(tmp / "milp.json"), "--json"],
                          capture_output=True, text=True, timeout=300, cwd=tmp)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cost"]["total"] == pytest.approx(objective, rel=1e-9)


def test_log_file_receives_the_log_and_stdout_stays_json(tmp_path):
    log = tmp_path / "highs.log"
    done = subprocess.run([*CLI, "solve", "tiny", "--json", "--log", str(log)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)
    assert "Solving report" in log.read_text()
    assert "Solving report" not in done.stderr
