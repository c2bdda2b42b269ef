"""Counts the fuzz cases of a run and reports them at the end of the test session."""

from __future__ import annotations

from collections import Counter

import pytest

TRIED: Counter[str] = Counter()
"""Fuzz cases tried in this session, by kind (instances, plans, csv, flags, subprocess)."""


@pytest.fixture
def tried() -> Counter[str]:
    return TRIED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if TRIED:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(TRIED.items()))
        terminalreporter.write_line(f"fuzz: {sum(TRIED.values())} cases tried ({parts})")
