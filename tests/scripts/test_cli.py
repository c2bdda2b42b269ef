"""Smoke tests of the hetserve CLI through click's CliRunner."""

import json

import pytest
from click.testing import CliRunner

from hetserve.cli.main import EXIT_BAD_INPUT, EXIT_INFEASIBLE, main
from hetserve.instances import read_instance, write_instance
from hetserve.instances.generate import generate


@pytest.fixture
def runner():
    return CliRunner()


def test_info(runner):
    out = runner.invoke(main, ["info"])
    assert out.exit_code == 0, out.output
    assert "highspy" in out.output and "paper-base" in out.output
    assert "3 precisions (fp16, int8, int4)" in out.output  # the default edition
    assert "5 precisions (fp16, int8, int4, fp8, fp4)" in out.output  # the latest


def test_generate_then_solve_json_then_evaluate(runner, tmp_path):
    inst_path = tmp_path / "x.json"
    out = runner.invoke(main, ["generate", "--size", "3x3x4", "--seed", "5", "--out", str(inst_path)])
    assert out.exit_code == 0, out.output
    assert read_instance(inst_path) == generate((3, 3, 4), 5)
    plan = tmp_path / "plan.json"
    out = runner.invoke(main, ["solve", str(inst_path), "--json", "--out", str(plan)])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    for key in ("method", "status", "objective", "bound", "gap", "runtime_s", "feasible", "cost",
                "deployments", "routing", "unmet"):
        assert key in doc
    assert doc["status"] == "optimal" and doc["feasible"]
    out = runner.invoke(main, ["evaluate", str(inst_path), str(plan), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["cost"]["total"] == pytest.approx(doc["objective"], rel=1e-9)


def test_solve_table_output_on_bundled_instance(runner):
    out = runner.invoke(main, ["solve", "tiny"])
    assert out.exit_code == 0, out.output
    for word in ("Deployments", "Routing", "GPU rental", "status", "optimal", "L4"):
        assert word in out.output


@pytest.mark.parametrize("method", ["gh", "agh"])
def test_heuristic_methods(runner, method):
    out = runner.invoke(main, ["solve", "paper-base", "--method", method, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["method"] == method


def test_bad_input_is_one_line_and_exit_2(runner, tmp_path):
    bad = tmp_path / "bad.json"
    doc = generate((2, 2, 2), 0).to_dict()
    doc["query_types"][0]["rate_per_s"] = -1
    bad.write_text(json.dumps(doc))
    out = runner.invoke(main, ["solve", str(bad)])
    assert out.exit_code == EXIT_BAD_INPUT
    assert "rate_per_s" in out.output and "must be in (0," in out.output
    assert "Traceback" not in out.output
    out = runner.invoke(main, ["solve", "no-such-instance"])
    assert out.exit_code == EXIT_BAD_INPUT and "cannot read file" in out.output


def test_infeasible_instance_exit_code_and_diagnosis(runner, tmp_path):
    inst = generate((2, 2, 2), 0)
    q = inst.query_types[0]
    from dataclasses import replace

    inst = inst.replace(query_types=(replace(q, delay_slo_s=0.01, max_unmet=0.0),
                                     *inst.query_types[1:]))
    path = tmp_path / "inf.json"
    write_instance(inst, path)
    out = runner.invoke(main, ["solve", str(path), "--json"])
    assert out.exit_code == EXIT_INFEASIBLE, out.output
    doc = json.loads(out.output)
    assert doc["status"] == "infeasible"
    assert any(q.name in line and "delay" in line for line in doc["diagnosis"])


def test_export_mps_and_lp(runner, tmp_path):
    out = runner.invoke(main, ["export", "tiny", "--mps", str(tmp_path / "m.mps"),
                               "--lp", str(tmp_path / "m.lp")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "m.mps").stat().st_size > 0 and (tmp_path / "m.lp").stat().st_size > 0


def test_bench_runs_end_to_end_and_resumes(runner, tmp_path):
    args = ["bench", "--set", "tiny", "--methods", "milp,gh", "--time-limit", "20",
            "--workers", "0", "--out", str(tmp_path / "b")]
    out = runner.invoke(main, args)
    assert out.exit_code == 0, out.output
    rows = (tmp_path / "b" / "runs.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 * 2
    for name in ("summary.md", "meta.json", "gap_vs_size.png", "performance_profile.png"):
        assert (tmp_path / "b" / name).exists()
    again = runner.invoke(main, [*args, "--resume"])
    assert again.exit_code == 0
    assert "6 already done" in again.output
    assert (tmp_path / "b" / "runs.csv").read_text().splitlines() == rows
    # a non-empty folder is not written without --resume, nor resumed under other settings
    refused = runner.invoke(main, args)
    assert refused.exit_code == EXIT_BAD_INPUT
    assert refused.output.strip().splitlines() == [
        f"error: --out: {tmp_path / 'b'} is not empty; pass --resume to continue the run "
        "recorded there, or give a new folder"]
    other = runner.invoke(main, [*args, "--resume", "--time-limit", "30"])
    assert other.exit_code == EXIT_BAD_INPUT
    assert "time_limit_s was 20.0, now 30.0" in other.output
    assert (tmp_path / "b" / "runs.csv").read_text().splitlines() == rows


def test_robust_plan_is_shown_on_the_nominal_instance(runner):
    out = runner.invoke(main, ["solve", "small-3x3x4", "--robust", "delay=1.2,error=1.1", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["feasible"] and doc["bound"] is None
    nominal = json.loads(runner.invoke(main, ["solve", "small-3x3x4", "--json"]).output)
    # Robustness costs something: the robust plan is never cheaper on the nominal instance.
    assert doc["objective"] >= nominal["objective"] - 1e-6
    assert doc["stats"]["robust_objective"] >= doc["objective"] - 1e-6
    bad = runner.invoke(main, ["solve", "small-3x3x4", "--robust", "delay=0.9"])
    assert bad.exit_code == EXIT_BAD_INPUT and "--robust" in bad.output
