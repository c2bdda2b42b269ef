"""`hetserve estimate` as a real subprocess: flags, a cases CSV, JSON shape and bad input."""

import json
import subprocess
import sys

import pytest

from hetserve.instances import load_catalog
from hetserve.instances.serving import ENGINES, Replica, closed_loop

CLI = [sys.executable, "-m", "hetserve.cli", "estimate"]


def run(*args):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


def test_flags_give_the_library_numbers():
    done = run("--model", "Llama-3.1-8B-Instruct", "--gpu", "H100-SXM", "--precision", "fp8",
               "--tp", "2", "--isl", "2048", "--osl", "128", "--concurrency", "8",
               "--engine", "trtllm", "--kv-precision", "fp8", "--json")
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    cat = load_catalog("latest")
    rep = Replica(cat.models["Llama-3.1-8B-Instruct"], cat.gpus["H100-SXM"], "fp8", "fp8", 2, 1,
                  ENGINES["trtllm"])
    est = closed_loop(rep, 2048, 128, 8)
    assert row["fits"] and row["reason"] is None
    assert row["ttft_s"] == pytest.approx(est.ttft_s)
    assert row["tpot_s"] == pytest.approx(est.tpot_s)
    assert row["e2e_s"] == pytest.approx(est.e2e_s)
    assert row["output_tok_s_per_gpu"] == pytest.approx(8 * 128 / est.e2e_s / 2)
    assert row["kv_capacity_tokens"] == rep.kv_capacity_tokens
    # The e2e a client sees is its TTFT plus osl-1 token periods.
    assert row["e2e_s"] == pytest.approx(row["ttft_s"] + 127 * row["tpot_s"], rel=0.02)


def estimate_file(tmp_path, text):
    """(the cases file, the JSON rows `estimate --cases FILE --json` prints for it)."""
    path = tmp_path / "cases.csv"
    path.write_text(text)
    done = run("--cases", str(path), "--json")
    assert done.returncode == 0, done.stderr
    return path, json.loads(done.stdout)


def test_cases_csv_keeps_row_order_and_reports_misfits(tmp_path):
    path, rows = estimate_file(
        tmp_path,
        "model,gpu,precision,tp,pp,isl,osl,concurrency,engine,kv_precision\n"
        "Qwen3-32B,H100-SXM,bf16,2,1,1024,128,16,sglang,fp16\n"
        "Llama-3.1-70B-Instruct,L4,fp16,1,1,1024,128,4,vllm,\n"
        "Llama-3.1-70B-Instruct,A100-80GB,fp8,4,1,1024,128,4,vllm,fp8\n")
    assert [r["model"] for r in rows] == ["Qwen3-32B", "Llama-3.1-70B-Instruct", "Llama-3.1-70B-Instruct"]
    assert rows[0]["fits"] and rows[0]["ttft_s"] > 0
    assert not rows[1]["fits"] and rows[1]["ttft_s"] is None and "memory" in rows[1]["reason"]
    assert rows[1]["kv_precision"] == "fp16"
    # FP8 on A100: weight-only fallback, flagged.
    assert rows[2]["fits"] and rows[2]["native_precision"] is False
    text = run("--cases", str(path))
    assert text.returncode == 0 and "does not fit" in text.stdout


def test_a_tp_no_engine_runs_is_a_misfit_row_not_a_bad_file(tmp_path):
    """TP beyond the node and TP that breaks a head get null numbers and the reason; the
    other rows of the file are still estimated (exit 0)."""
    _, rows = estimate_file(
        tmp_path,
        "model,gpu,precision,tp,pp,isl,osl,concurrency,engine\n"
        "Qwen3-32B,H100-SXM,bf16,16,1,1024,128,8,vllm\n"
        "Qwen3-32B,H100-SXM,bf16,3,1,1024,128,8,vllm\n"
        "Qwen2.5-7B-Instruct,H100-SXM,bf16,8,1,1024,128,8,trtllm\n"
        "Qwen3-32B,H100-SXM,bf16,4,1,1024,128,8,vllm\n")
    reasons = [r["reason"] for r in rows]
    assert "exceeds the 8 GPUs" in reasons[0]
    assert "64 attention heads" in reasons[1] and "28 attention heads" in reasons[2]
    assert [r["fits"] for r in rows] == [False, False, False, True]
    assert all(r["ttft_s"] is None for r in rows[:3]) and rows[3]["ttft_s"] > 0
    flags = run("--model", "Qwen3-32B", "--gpu", "H100-SXM", "--tp", "3")
    assert flags.returncode == 0 and "does not fit" in flags.stdout, flags.stderr


@pytest.mark.parametrize("body, message", [
    ("model,gpu,precision,tp,pp,isl,osl,concurrency,engine\n"
     "Qwen3-32B,H100-SXM,bf16,2,1,1024,128,16,tgi\n", "row 1 column engine"),
    ("model,gpu,precision,tp,pp,isl,osl,concurrency,engine\n"
     "Qwen3-32B,H100-SXM,bf16,2,1,1024,128,16,vllm\n"
     "Qwen3-32B,H100-SXM,bf16,two,1,1024,128,16,vllm\n", "row 2 column tp"),
    ("model,gpu,precision,tp,pp,isl,osl,concurrency\n"
     "Qwen3-32B,H100-SXM,bf16,2,1,1024,128,16\n", "missing column(s) engine"),
])
def test_bad_rows_exit_2_naming_row_and_column(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    done = run("--cases", str(path), "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, flag", [
    (["--model", "Qwen3-32B", "--gpu", "H100-SXM", "--precision", "fp3"], "--precision"),
    (["--model", "Qwen3-32B"], "--gpu"),
    (["--model", "Qwen3-32B", "--gpu", "H100-SXM", "--max-num-seqs", "0"], "--max-num-seqs"),
])
def test_bad_flags_exit_2(args, flag):
    done = run(*args)
    assert done.returncode == 2 and flag in done.stderr and "Traceback" not in done.stderr


def test_profile_overrides_covered_rows_and_bad_profile_exits_2(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text("model,gpu,precision,tp,pp,isl,osl,concurrency,engine\n"
                    "Qwen3-32B,H100-SXM,fp8,2,1,1024,128,16,trtllm\n"
                    "Qwen3-32B,H100-SXM,fp8,2,1,16384,128,16,trtllm\n"
                    "Qwen3-32B,H200,fp8,2,1,1024,128,16,trtllm\n")
    done = run("--cases", str(path), "--profile", "tests/data/measured_serving_h100.csv", "--json")
    assert done.returncode == 0, done.stderr
    measured, outside, uncovered = json.loads(done.stdout)
    assert measured["source"] == "profile" and measured["ttft_s"] == pytest.approx(0.1873764)
    assert outside["source"] == "profile" and outside["ttft_s"] is None
    assert "no extrapolation" in outside["reason"]
    assert uncovered["source"] == "model" and uncovered["ttft_s"] > 0
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    done = run("--cases", str(path), "--profile", str(bad))
    assert done.returncode == 2 and "not a profile CSV" in done.stderr


@pytest.mark.parametrize("args, hint", [
    (["--model", "gpt-oss-120b", "--gpu", "H100-SXM"], "(did you mean 'GPT-OSS-120B'?)"),
    (["--model", "Qwen3-32B", "--gpu", "H100"], "(did you mean 'H100-PCIe' or 'H100-SXM'?)"),
    (["--model", "Qwen3-23B", "--gpu", "H100-SXM"], "(did you mean 'Qwen3-32B'?)"),
])
def test_unknown_names_exit_2_with_the_likely_name(args, hint):
    done = run(*args)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and hint in lines[0], done.stderr
    assert done.stdout == ""


def test_no_hint_when_nothing_is_close():
    from hetserve.instances.fields import did_you_mean

    assert did_you_mean("zzz", ["H100-SXM", "A100-80GB"]) == ""
    assert did_you_mean("a100-80gb", ["H100-SXM", "A100-80GB"]) == " (did you mean 'A100-80GB'?)"
