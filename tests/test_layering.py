"""milp/ and heuristics/ depend on instances/ only, never on each other (README, architecture)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {_package_of(a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(_package_of(node.module))
    return found


def _package_of(module: str) -> str:
    """``hetserve.milp.solve`` -> ``milp``; ``hetserve.cli`` is the scripts/ folder."""
    parts = module.split(".")
    if parts[0] != "hetserve" or len(parts) == 1:
        return parts[0]
    return "scripts" if parts[1] == "cli" else parts[1]


@pytest.mark.parametrize(("package", "forbidden"), [
    ("instances", {"milp", "heuristics", "scripts", "queueing", "simulator"}),
    ("milp", {"heuristics", "scripts"}),
    ("heuristics", {"milp", "scripts"}),
])
def test_dependency_rule(package, forbidden):
    assert not (_imports(package) & forbidden)
