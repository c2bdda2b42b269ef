import json
import subprocess
import sys

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


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hetserve.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_plan_file_runs_exactly_the_pools_that_pools_wrote(tmp_path):
    r = _cli("pools", "--workload", "azure-conv", "--rate", "200", "--no-verify", "--json")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)  # exactly one JSON document on stdout
    assert plan["feasible"] and plan["slo_status"] == "analytic"
    assert plan["homogeneous"]["units"] > plan["gpus"]
    path = tmp_path / "plan.json"
    path.write_text(r.stdout)
    s = _cli("simulate", "--plan", str(path), "--requests", "3000", "--json")
    assert s.returncode == 0, s.stderr
    out = json.loads(s.stdout)
    want = [(p["ctx"], p["units"], p["profile"]["name"]) for p in plan["fleet"]["pools"]]
    got = [(p["ctx"], p["units"], p["profile"]) for p in out["pools"]]
    assert got == want and len(want) == 2
    assert out["gamma"] == plan["fleet"]["routing"]["gamma"]
    assert out["rate"] == plan["rate"] and out["workload"] == plan["workload"]
    assert out["slo"]["definition"]["target_s"] == 0.5


def test_pools_exits_3_when_nothing_is_feasible():
    # plain routing: 1.6 % of requests cannot meet 0.5 s by prefill alone, above the 1 %
    r = _cli("pools", "--workload", "agent-heavy", "--rate", "5", "--slo-ttft", "0.5",
             "--gamma", "1.0", "--no-verify", "--json")
    assert r.returncode == 3, r.stderr
    d = json.loads(r.stdout)
    assert not d["feasible"] and d["fleet"] is None
    assert d["unservable"]["share"] > 0.01 and "prefill alone" in d["unservable"]["description"]
    ok = _cli("pools", "--workload", "agent-heavy", "--rate", "5", "--slo-ttft", "0.5",
              "--gamma", "1.0", "--unservable", "exclude", "--no-verify", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["feasible"]


def test_pools_bad_input_exit_2():
    for args, field in ((["--workload", "nope", "--rate", "1"], "workload"),
                        (["--workload", "azure-conv", "--rate", "-3"], "--rate"),
                        (["--workload", "azure-conv", "--rate", "3", "--gamma", "2:1:0.1"],
                         "--gamma"),
                        (["--workload", "azure-conv", "--rate", "3", "--gamma", "1:1e6:1e-6"],
                         "--gamma"),
                        (["--workload", "azure-conv", "--rate", "3", "--quantile", "1"],
                         "--quantile"),
                        (["--workload", "azure-conv", "--rate", "3", "--rho-max", "1.5"],
                         "--rho-max"),
                        (["--workload", "azure-conv", "--rate", "3", "--model", "x"], "--model")):
        r = CliRunner().invoke(_group(), ["pools", *args])
        assert r.exit_code == 2 and field in r.output and "Traceback" not in r.output


def test_bad_profile_and_plan_files_exit_2(tmp_path):
    good = {"name": "g1", "W": 0.008, "H": 0.00065, "chunk": 512, "total_kv_blocks": 65536,
            "block_size": 16, "max_slots": 128, "calibration_ctx": 8192,
            "price_per_gpu_hour": 2.21}
    cases = [
        ("[" + json.dumps(good).replace("0.008", "NaN") + "]", "NaN"),
        (json.dumps([dict(good, chunk=True)]), "chunk"),
        (json.dumps([dict(good, speed=3)]), "speed"),
        (json.dumps([dict(good, W="fast")]), ".W"),
        (json.dumps({"profiles": []}), "profiles"),
        ("{not json", "not valid JSON"),
    ]
    for text, needle in cases:
        f = tmp_path / "prof.json"
        f.write_text(text)
        r = CliRunner().invoke(_group(), ["pools", "--workload", "azure-conv", "--rate", "3",
                                          "--profiles", str(f), "--profile", "g1",
                                          "--no-verify"])
        assert r.exit_code == 2 and needle in r.output and "Traceback" not in r.output, r.output
    f = tmp_path / "prof.json"
    f.write_text(json.dumps([good]))
    r = CliRunner().invoke(_group(), ["pools", "--workload", "azure-conv", "--rate", "3",
                                      "--profiles", str(f), "--profile", "g1", "--no-verify"])
    assert r.exit_code == 0, r.output
    plan = json.loads(_cli("pools", "--workload", "azure-code", "--rate", "20", "--no-verify",
                           "--json").stdout)
    bad = [
        (lambda d: d["fleet"]["pools"][0].update(units=0), "units"),
        (lambda d: d["fleet"]["pools"][0].update(ctx=1.5), "ctx"),
        (lambda d: d["fleet"]["pools"][0]["profile"].update(block_size=-1), "block_size"),
        (lambda d: d["fleet"]["routing"].update(gamma=0.5), "gamma"),
        (lambda d: d.pop("fleet"), "fleet"),
        (lambda d: d.update(fleet=None), "fleet"),
    ]
    for mutate, needle in bad:
        d = json.loads(json.dumps(plan))
        mutate(d)
        f = tmp_path / "plan.json"
        f.write_text(json.dumps(d))
        r = CliRunner().invoke(_group(), ["simulate", "--plan", str(f), "--requests", "100"])
        assert r.exit_code == 2 and needle in r.output and "Traceback" not in r.output, r.output
    r = CliRunner().invoke(_group(), ["simulate", "--plan", str(tmp_path / "missing.json")])
    assert r.exit_code == 2 and "--plan" in r.output


def test_simulate_explicit_pools_and_errors():
    r = CliRunner().invoke(_group(), ["simulate", "--workload", "azure-code", "--rate", "20",
                                      "--pools", "a100:8192:2,a100:65536:1", "--requests",
                                      "2000", "--quantile", "0.95", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["sim"]["quantile"] == 0.95
    t = d["sim"]["ttft"]
    assert t["lo"] <= t["value"] <= t["hi"]
    r = CliRunner().invoke(_group(), ["simulate", "--workload", "azure-code", "--rate", "20",
                                      "--pools", "a100:4096"])
    assert r.exit_code == 2 and "pools" in r.output
    r = CliRunner().invoke(_group(), ["simulate", "--rate", "20"])
    assert r.exit_code == 2


def test_parse_gammas():
    assert parse_gammas("1.0:2.0:0.1")[-1] == 2.0 and len(parse_gammas("1.0:2.0:0.1")) == 11
    assert parse_gammas("1,1.5") == (1.0, 1.5)


def test_pools_perf_flags_that_would_be_ignored_exit_2():
    # Regression: `--engine vllm` (the default value) without --model/--gpu, and any
    # --engine with the roofline, were silently ignored while `--engine sglang` was refused.
    base = ["pools", "--workload", "azure-conv", "--rate", "50", "--slo-ttft", "0.5",
            "--no-verify"]
    for extra, flag in ((["--engine", "vllm"], "--perf-model/--engine"),
                        (["--perf-model", "roofline"], "--perf-model/--engine"),
                        (["--model", "Llama-3.1-8B-Instruct", "--gpu", "A100-80GB",
                          "--engine", "sglang"], "--engine")):
        out = _cli(*base, *extra)
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 2, out.stderr
        assert len(lines) == 1 and lines[0].startswith(f"error: {flag}:"), out.stderr
        assert out.stdout == ""
    ok = _cli(*base, "--model", "Llama-3.1-8B-Instruct", "--gpu", "A100-80GB",
              "--perf-model", "serving", "--engine", "sglang", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)


def test_pools_takes_every_catalog_edition_and_hints_at_a_misspelt_name():
    """`pools --model/--gpu` reads the whole catalog, as `estimate` does: Qwen3-32B and the
    H200 are 2026-12 rows. A wrong-case name exits 2 with one line that names the row meant."""
    base = ["pools", "--workload", "azure-conv", "--rate", "5", "--no-verify", "--json"]
    ok = _cli(*base, "--model", "Qwen3-32B", "--gpu", "H200")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)
    bad = _cli(*base, "--model", "qwen3-32b", "--gpu", "H200")
    lines = bad.stderr.strip().splitlines()
    assert bad.returncode == 2 and len(lines) == 1, bad.stderr
    assert "unknown model 'qwen3-32b' (did you mean 'Qwen3-32B'?)" in lines[0]
