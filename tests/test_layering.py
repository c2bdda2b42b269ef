"""milp/ and heuristics/ depend on instances/ only, never on each other (DEVELOPERS.md)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize(("package", "forbidden"), [
    ("instances", {"milp", "heuristics", "scripts", "queueing", "simulator"}),
    ("milp", {"heuristics", "scripts"}),
    ("heuristics", {"milp", "scripts"}),
])
def test_dependency_rule(package, forbidden):
    assert not (_imports(package) & forbidden)
