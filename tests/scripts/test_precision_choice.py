"""The planner chooses FP8 where the error limit allows it (the 2026-12 precisions), through
the CLI as a subprocess and the one evaluator (docs/catalog.md §4)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CLI = [sys.executable, "-m", "hetserve.cli"]


def _instance(error_slo: float, gpu: str = "H100-SXM") -> dict:
    # Llama-3.1-70B's conversation error is 0.125 (catalog); fp8 multiplies it by 1.05.
    return {"name": "fp8-choice", "horizon_h": 1.0,
            "query_types": [{"name": "chat", "category": "conversation", "rate_per_s": 20.0,
                             "prompt_tokens": 2000, "output_tokens": 300, "delay_slo_s": 20.0,
                             "error_slo": error_slo, "max_unmet": 0.0, "unmet_penalty": 100.0,
                             "delay_penalty": 0.0}],
            "models": ["Llama-3.1-70B-Instruct"], "gpus": [gpu], "precisions": ["fp16", "fp8"],
            "tiers": [f"{gpu}/fp16", f"{gpu}/fp8"], "tp_degrees": [1, 2, 4, 8],
            "pp_degrees": [1]}


def _solve(tmp_path, doc, *args):
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc))
    done = subprocess.run([*CLI, "solve", str(path), "--json", *args], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("method", ["milp", "agh"])
def test_fp8_is_chosen_when_the_error_limit_allows_and_not_when_it_does_not(tmp_path, method):
    loose = _solve(tmp_path, _instance(0.5), "--method", method)
    assert loose["violations"] == [] and loose["deployments"]
    assert {d["precision"] for d in loose["deployments"]} == {"fp8"}
    # The limit bounds the traffic-weighted mean error (docs/semantics.md): with 0.1255,
    # fp16 at 0.125 and fp8 at 0.13125, at most (0.1255 - 0.125) / 0.00625 = 8 % of the
    # traffic may go to fp8; the rest needs the costlier fp16 replicas.
    tight = _solve(tmp_path, _instance(0.1255), "--method", method)
    assert tight["violations"] == [] and tight["deployments"]
    fp8_share = sum(r["fraction"] for r in tight["routing"] if r["precision"] == "fp8")
    assert fp8_share <= 0.08 + 1e-6
    assert any(d["precision"] == "fp16" for d in tight["deployments"])
    # Half the weight bytes and the FP8 peak: fewer GPU-hours for the same demand.
    assert loose["objective"] < tight["objective"]


def test_fp8_on_a_gpu_without_fp8_cores_still_plans(tmp_path):
    """A100 has no FP8 tensor cores: fp8 runs weight-only there (half the memory, the FP16
    peak); the plan is still checked by the evaluator."""
    doc = _instance(0.5, gpu="A100-80GB")
    doc["query_types"][0]["rate_per_s"] = 4.0
    plan = _solve(tmp_path, doc)
    assert plan["status"] == "optimal" and plan["violations"] == []
