"""``hetserve fluid`` as a real subprocess: one JSON document, exit 2 on bad class files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hetserve.instances.errors import InstanceError
from hetserve.queueing.fluid import problem_from_dict, solve_fluid

PAPER = {"iteration": {"alpha": 0.0174, "beta": 6.2e-5, "gamma": 45.45},
         "batch": 16, "chunk": 256, "pricing": "separate",
         "classes": [{"name": "code", "prompt_tokens": 300, "output_tokens": 1000,
                      "rate": 0.5, "abandonment": 0.1},
                     {"name": "summarise", "prompt_tokens": 3000, "output_tokens": 400,
                      "rate": 0.5, "abandonment": 0.1}]}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hetserve.cli", "fluid", *args],
                          capture_output=True, text=True, timeout=120)


def test_json_is_one_document_with_the_lp_answer(tmp_path: Path) -> None:
    path = tmp_path / "paper.json"
    path.write_text(json.dumps(PAPER))
    out = run(str(path), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["status"] == "optimal"
    assert doc["revenue_per_gpu_s"] == pytest.approx(298.5866, rel=1e-5)
    assert [c["name"] for c in doc["classes"]] == ["code", "summarise"]


def test_a_measured_profile_in_a_classes_file() -> None:
    chunks = [128, 256, 512]
    doc = {**PAPER, "iteration": {"chunks": chunks,
                                  "mixed_times_s": [0.0174 + 6.2e-5 * c for c in chunks],
                                  "solo_time_s": 1 / 45.45}}
    problem, _ = problem_from_dict(doc)
    assert problem.iteration.alpha == pytest.approx(0.0174)
    assert problem.iteration.gamma == pytest.approx(45.45)
    doc["iteration"]["mixed_times_s"] = ["slow"] * 3
    with pytest.raises(InstanceError, match=r"iteration\.mixed_times_s"):
        problem_from_dict(doc)


def test_fleet_rates_in_a_classes_file_are_per_gpu_in_the_problem() -> None:
    doc = {**PAPER, "gpus": 10, "classes": [{**c, "rate": 5.0} for c in PAPER["classes"]]}
    problem, gpus = problem_from_dict(doc)
    assert gpus == 10 and [c.rate for c in problem.classes] == [0.5, 0.5]
    assert solve_fluid(problem).mixed_gpus(10) == 3  # ⌈10 × 0.2144⌉


def test_sizing_subprocess(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    one = {**PAPER, "pricing": "bundled",
           "classes": [{"name": "code", "prompt_tokens": 300, "output_tokens": 1000,
                        "rate": 100.0}]}
    path.write_text(json.dumps(one))
    sized = json.loads(run(str(path), "--size", "--json").stdout)
    assert sized["gpus"] == 139  # two-pool-queueing note: n* ≈ 139 for this class


BAD = [
    (lambda d: d.pop("batch"), "batch"),
    (lambda d: d["classes"][1].update(prompt_tokens=-3), "prompt_tokens"),
    (lambda d: d["classes"][0].update(rate="fast"), "classes[0].rate"),
    (lambda d: d.update(colour="red"), "colour"),
    (lambda d: d["iteration"].update(alpha=0.5), "iteration.alpha"),
    (lambda d: d.update(pricing="auction"), "pricing"),
    (lambda d: d.update(classes=[]), "classes"),
    (lambda d: d.update(sli={"tpot_s": -1}), "sli.tpot_s"),
]


@pytest.mark.parametrize("mutate,field", BAD)
def test_bad_class_documents_name_the_field(mutate, field: str) -> None:
    doc = json.loads(json.dumps(PAPER))
    mutate(doc)
    with pytest.raises(InstanceError) as err:
        solve_fluid(problem_from_dict(doc)[0])
    assert field in str(err.value)


@pytest.mark.parametrize("mutate,field", [BAD[1], BAD[3]])
def test_bad_class_files_exit_2_naming_the_field(tmp_path: Path, mutate, field: str) -> None:
    doc = json.loads(json.dumps(PAPER))
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    out = run(str(path), "--json")
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], out.stderr


def test_not_json_and_instance_without_deployment_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    out = run(str(path))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    out = run("paper-base", "--gpus", "10")
    assert out.returncode == 2 and "--model" in out.stderr


def _one_line_exit_2(out: subprocess.CompletedProcess[str], field: str) -> None:
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}"), out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize("mutate,field", [
    # Beyond the instance format's limits HiGHS lost the LP ("infeasible", a wrong
    # diagnosis) or printed a banner on stdout and crashed on a NaN GPU count.
    (lambda d: d["classes"][0].__setitem__("rate", 1e12), "classes['code'].rate"),
    (lambda d: d.__setitem__("chunk", 10**12), "chunk"),
    # A zero TPOT cap was accepted and reported as an infeasible LP (the flag refuses it).
    (lambda d: d.__setitem__("sli", {"tpot_s": 0}), "sli.tpot_s"),
    # Unknown or mixed iteration keys were silently ignored.
    (lambda d: d["iteration"].__setitem__("alpah", 1), "iteration"),
    (lambda d: d["iteration"].__setitem__("c", 0.02), "iteration"),
])
def test_out_of_range_and_ambiguous_files_exit_2(tmp_path: Path, mutate, field: str) -> None:
    doc = json.loads(json.dumps(PAPER))
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    _one_line_exit_2(run(str(path)), field)
    if field == "classes['code'].rate":
        for c in doc["classes"]:
            c.pop("abandonment")
        path.write_text(json.dumps({k: v for k, v in doc.items() if k != "pricing"}))
        _one_line_exit_2(run(str(path), "--size", "--json"), field)


def test_gpus_flag_on_a_classes_file_and_a_missing_file_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "paper.json"
    path.write_text(json.dumps(PAPER))
    _one_line_exit_2(run(str(path), "--gpus", "5"), "--gpus")  # was silently ignored
    _one_line_exit_2(run(str(tmp_path / "missing.json")), str(tmp_path / "missing.json"))
    assert "cannot read" in run(str(tmp_path / "missing.json")).stderr


def test_sizing_json_has_no_negative_decode_counts() -> None:
    from hetserve.queueing.fluid import paper_problem, size_fluid

    p = paper_problem()
    classes = tuple(type(c)(c.name, c.prompt_tokens, c.output_tokens, 50.0) for c in p.classes)
    result = size_fluid(classes, p.iteration, batch=p.batch, chunk=p.chunk)
    assert result.status == "optimal"
    assert min(result.solo_decodes + result.mixed_decodes + result.prefill_gpus) >= 0.0
