"""``hetserve stress`` on a tiny instance: outputs, resume, and bad input."""

from __future__ import annotations

import csv
import json

import click
import pytest
from click.testing import CliRunner

from hetserve.cli.stress import parse_inflate, parse_methods, stress_command
from hetserve.instances import write_instance
from hetserve.instances.stress_report import grid_points
from tests.helpers import query, round_model, tiny_instance


@click.group()
def cli() -> None:
    pass


cli.add_command(stress_command, "stress")


@pytest.fixture()
def tiny_file(tmp_path):
    inst = tiny_instance(name="tiny2",
                         query_types=(query("a", rate=0.5, error=0.2, unmet_penalty=0.01),
                                      query("b", rate=0.2, error=0.12, unmet_penalty=0.02)),
                         models=(round_model("A", error=0.1), round_model("B", error=0.3)))
    path = tmp_path / "tiny2.json"
    write_instance(inst, path)
    return path


def test_cli_smoke(tmp_path, tiny_file):
    out = tmp_path / "out"
    args = ["stress", str(tiny_file), "--methods", "single,robust-single:delay=1.2+error=1.1",
            "--inflate", "delay=1.0:1.2:0.1,error=1.0:1.2:0.1", "--random", "2",
            "--workers", "0", "--quiet", "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    for name in ("stress.csv", "summary.md", "meta.json", "plans.csv", "frontier.png",
                 "violation_vs_inflation.png", "cost_vs_inflation.png"):
        assert (out / name).exists(), name
    rows = list(csv.DictReader((out / "stress.csv").open()))
    assert len(rows) == (9 + 2) * 2 * 2  # (grid + random) x methods x recourses
    nominal = [r for r in rows if r["point"] == "grid" and float(r["gamma_d"]) == 1.0
               and float(r["gamma_e"]) == 1.0 and r["recourse"] == "frozen"]
    assert all(float(r["realised_cost"]) == float(r["nominal_cost"]) for r in nominal)
    robust = [r for r in rows if r["method"].startswith("robust") and r["recourse"] == "frozen"
              and r["point"] == "grid" and float(r["gamma_d"]) <= 1.2
              and float(r["gamma_e"]) <= 1.1]
    assert robust and all(float(r["violation_rate"]) == 0.0 for r in robust)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["methods"] == ["single", "robust-single:delay=1.2+error=1.1"]
    assert "Robustness frontier" in (out / "summary.md").read_text()
    assert len(list((out / "plans").glob("*.json"))) == 2
    # the same folder again is refused without --resume, and under another time limit
    before = {r["method"]: r["runtime_s"] for r in csv.DictReader((out / "plans.csv").open())}
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and "--out:" in res.output and "--resume" in res.output
    res = CliRunner().invoke(cli, [*args, "--resume", "--time-limit", "5"])
    assert res.exit_code == 2 and "time_limit_s was 60.0, now 5.0" in res.output
    # --resume: no plan is solved again, outputs are rebuilt
    args.append("--resume")
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    after = {r["method"]: r["runtime_s"] for r in csv.DictReader((out / "plans.csv").open())}
    assert after == before
    # a plan cached for another version of the instance is solved again
    plan = next((out / "plans").glob("tiny2__single__*.json"))
    doc = json.loads(plan.read_text())
    sha = doc["instance_sha"]
    plan.write_text(json.dumps({**doc, "instance_sha": "stale"}))
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader((out / "plans.csv").open()))
    assert len(rows) == 2
    assert json.loads(plan.read_text())["instance_sha"] == sha


@pytest.mark.parametrize(("args", "needle"), [
    (["--inflate", "delay=1.5:1.0:0.1"], "--inflate"),
    (["--inflate", "delay=a:b:c"], "--inflate"),
    (["--inflate", "latency=1.0:1.5:0.1"], "--inflate"),
    (["--inflate", "delay=1.0:1.5:0"], "--inflate"),
    (["--methods", "simplex"], "--methods"),
    (["--methods", "robust-milp"], "--methods"),
    (["--methods", "robust-milp:delay=0.9"], "--methods"),
    (["--methods", "robust-milp:speed=1.2"], "--methods"),
    (["--joint", "--inflate", "delay=1.0:1.5:0.1,error=1.0:1.2:0.1"], "--joint"),
    (["--set", "no-such-set"], "--set"),
])
def test_cli_bad_input(tmp_path, tiny_file, args, needle):
    base = ["stress", "--workers", "0", "--out", str(tmp_path / "o")]
    if "--set" not in args:
        base.insert(1, str(tiny_file))
    res = CliRunner().invoke(cli, base + args)
    assert res.exit_code == 2, res.output
    assert needle in res.output
    assert len(res.output.strip().splitlines()) == 1, res.output


def test_parsers():
    g = parse_inflate("delay=1.0:1.5:0.1,demand=1.2")
    assert g["delay"] == [1.0, 1.1, 1.2, 1.3, 1.4, 1.5]
    assert g["error"] == [1.0] and g["demand"] == [1.2]
    assert len(grid_points(g, joint=False)) == 6
    assert [p.delay for p in grid_points(parse_inflate("delay=1:1.2:0.1,error=1:1.2:0.1"),
                                         joint=True)] == [1.0, 1.1, 1.2]
    specs = parse_methods("milp,robust-agh:delay=1.3+error=1.2")
    assert specs[1].base == "agh" and specs[1].margins == {"delay": 1.3, "error": 1.2}
