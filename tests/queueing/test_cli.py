import json

import click
from click.testing import CliRunner

from hetserve.cli.queueing_cli import parse_gammas, pools_command, simulate_command


def _group():
    @click.group()
    def main():
        pass

    main.add_command(pools_command, "pools")
    main.add_command(simulate_command, "simulate")
    return main


def test_pools_json_and_table():
    r = CliRunner().invoke(_group(), ["pools", "--workload", "azure-conv", "--rate", "200",
                                      "--slo-ttft", "0.5", "--profile", "a100", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["feasible"] and d["homogeneous"]["units"] > d["gpus"]
    r = CliRunner().invoke(_group(), ["pools", "--workload", "lmsys", "--rate", "100",
                                      "--gamma", "1.0"])
    assert r.exit_code == 0 and "homogeneous" in r.output


def test_pools_bad_input_exit_2():
    for args, field in ((["--workload", "nope", "--rate", "1"], "workload"),
                        (["--workload", "azure-conv", "--rate", "-3"], "--rate"),
                        (["--workload", "azure-conv", "--rate", "3", "--gamma", "2:1:0.1"],
                         "--gamma"),
                        (["--workload", "azure-conv", "--rate", "3", "--model", "x"], "--model")):
        r = CliRunner().invoke(_group(), ["pools", *args])
        assert r.exit_code == 2 and field in r.output and "Traceback" not in r.output


def test_simulate_smoke():
    r = CliRunner().invoke(_group(), ["simulate", "--workload", "azure-code", "--rate", "20",
                                      "--requests", "3000", "--seed", "3", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["requests"] == 3000 and d["sim"]["p99_ttft_s"] > 0
    r = CliRunner().invoke(_group(), ["simulate", "--workload", "azure-code", "--rate", "20",
                                      "--pools", "a100:4096"])
    assert r.exit_code == 2 and "pools" in r.output
    r = CliRunner().invoke(_group(), ["simulate", "--rate", "20"])
    assert r.exit_code == 2


def test_parse_gammas():
    assert parse_gammas("1.0:2.0:0.1")[-1] == 2.0 and len(parse_gammas("1.0:2.0:0.1")) == 11
    assert parse_gammas("1,1.5") == (1.0, 1.5)
