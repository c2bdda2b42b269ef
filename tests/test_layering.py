"""The layering rules between the installed packages (README, architecture), checked on
every import statement of every source file, including imports inside functions.

* ``instances`` imports none of the other packages;
* ``milp`` and ``heuristics`` never import each other (they meet in the CLI's method
  registry, ``scripts/methods.py``), nor ``queueing``, ``simulator`` or ``rolling``;
* ``queueing`` imports no MILP or heuristic planner and not the rolling driver;
* ``simulator`` imports no planner: none of the above, nor the analytic queueing model it
  validates (``queueing.planner``, ``.sizing``, ``.pools``, ``.verify``);
* ``rolling`` is solver-agnostic: its window solver is injected, so it imports neither
  ``milp`` nor ``heuristics``;
* nothing but ``scripts`` (installed as ``hetserve.cli``) imports the CLI, and no package
  imports the pre-namespace top-level names (``import instances``, ``from milp import``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "instances": {"hetserve.milp", "hetserve.heuristics", "hetserve.queueing",
                  "hetserve.simulator", "hetserve.rolling", "hetserve.cli"},
    "milp": {"hetserve.heuristics", "hetserve.queueing", "hetserve.simulator",
             "hetserve.rolling", "hetserve.cli"},
    "heuristics": {"hetserve.milp", "hetserve.queueing", "hetserve.simulator",
                   "hetserve.rolling", "hetserve.cli"},
    "queueing": {"hetserve.milp", "hetserve.heuristics", "hetserve.rolling", "hetserve.cli"},
    "simulator": {"hetserve.milp", "hetserve.heuristics", "hetserve.rolling", "hetserve.cli",
                  "hetserve.queueing.planner", "hetserve.queueing.sizing",
                  "hetserve.queueing.pools", "hetserve.queueing.verify"},
    "rolling": {"hetserve.milp", "hetserve.heuristics", "hetserve.cli"},
    "scripts": set(),
}
"""Per source folder: the modules (and their submodules) it must not import."""

OLD_TOP_LEVEL = {"instances", "milp", "heuristics", "queueing", "simulator", "rolling",
                 "scripts", "cli"}
"""Top-level names the packages had before they moved under ``hetserve``."""


def _installed_folders() -> dict[str, str]:
    """``{folder: import name}`` from pyproject's ``[tool.setuptools.package-dir]``."""
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[tool.setuptools.package-dir]", 1)[1].split("\n[", 1)[0]
    return {folder: name for name, folder in re.findall(r'"([\w.]+)"\s*=\s*"(\w+)"', section)}


def _imports(folder: str) -> tuple[int, set[str]]:
    """(number of source files, absolute modules imported anywhere in them)."""
    files = sorted((ROOT / folder).rglob("*.py"))
    found: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
                if node.module == "hetserve":  # from hetserve import milp
                    found |= {f"hetserve.{a.name}" for a in node.names}
    return len(files), found


def _violations(imported: set[str], forbidden: set[str]) -> list[str]:
    bad = [m for m in imported if any(m == f or m.startswith(f + ".") for f in forbidden)]
    bad += [m for m in imported if m.split(".")[0] in OLD_TOP_LEVEL]
    return sorted(bad)


def test_every_installed_folder_has_rules():
    folders = _installed_folders()
    assert set(folders) == set(FORBIDDEN), "add the new package's rules to FORBIDDEN"
    assert folders["scripts"] == "hetserve.cli"


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_dependency_rule(folder):
    n_files, imported = _imports(folder)
    # Guard against checking nothing (a moved folder, a changed namespace).
    assert n_files > 0, f"{folder}/ has no source files"
    assert any(m.startswith("hetserve.") for m in imported), \
        f"{folder}/ imports nothing from hetserve: the rule would pass vacuously"
    assert not _violations(imported, FORBIDDEN[folder])


def test_rules_catch_a_forbidden_import():
    assert _violations({"hetserve.milp.solve"}, FORBIDDEN["heuristics"]) == ["hetserve.milp.solve"]
    assert _violations({"hetserve.queueing.planner"}, FORBIDDEN["simulator"])
    assert not _violations({"hetserve.queueing.profiles"}, FORBIDDEN["simulator"])
    assert _violations({"instances.model"}, set()) == ["instances.model"]
