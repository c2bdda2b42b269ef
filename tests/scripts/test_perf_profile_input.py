"""An instance whose ``perf.profile`` names a missing or malformed file is bad input of every
command that reads it (exit 2, one line naming ``perf.profile``), not a traceback raised by
the first route-table build (regression: solve, stress and rolling crashed with exit 1)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hetserve.instances.bundled import bundled_path


def _instance(tmp_path: Path, profile: str) -> Path:
    doc = json.loads(bundled_path("tiny").read_text())
    doc["perf"] = {**doc.get("perf", {}), "model": "measured", "profile": profile}
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("profile,content", [("missing.csv", None), ("empty.csv", "x,y\n"),
                                             ("binary.csv", b"\xff\xfe")])
@pytest.mark.parametrize("command", [["solve", "--method", "gh"], ["stress", "--methods", "gh"]])
def test_bad_instance_profile_exits_2_naming_it(tmp_path: Path, profile: str, content,
                                                command: list[str]) -> None:
    if isinstance(content, str):
        (tmp_path / profile).write_text(content)
    elif content is not None:
        (tmp_path / profile).write_bytes(content)
    inst = _instance(tmp_path, str(tmp_path / profile))
    args = [command[0], str(inst), *command[1:]]
    if command[0] == "stress":
        args += ["--out", str(tmp_path / "out")]
    out = subprocess.run([sys.executable, "-m", "hetserve.cli", *args], capture_output=True,
                         text=True, timeout=120)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stderr
    assert len(lines) == 1 and "perf.profile" in lines[0] and lines[0].startswith("error: ")
    assert out.stdout == ""


def test_engine_with_the_roofline_exits_2() -> None:
    # Regression: `solve --engine sglang` on a roofline instance was silently ignored.
    out = subprocess.run([sys.executable, "-m", "hetserve.cli", "solve", "tiny", "--method",
                          "gh", "--engine", "sglang", "--json"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().startswith("error: --engine:") and len(out.stderr.splitlines()) == 1
    ok = subprocess.run([sys.executable, "-m", "hetserve.cli", "solve", "tiny", "--method", "gh",
                         "--perf-model", "serving", "--engine", "sglang", "--json"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["status"] == "feasible"
