"""Instances shared by the heuristic tests (built once per session)."""

from __future__ import annotations

import pytest

from hetserve.instances.generate import generate, paper_base


@pytest.fixture(scope="session")
def small_instances():
    """paper_base and three seeded 6x6x10 instances (one tight-budget)."""
    return [paper_base(), generate((6, 6, 10), 0), generate((6, 6, 10), 1),
            generate((6, 6, 10), 2, "tight-budget")]
