"""Suite-wide pytest configuration: how many pytest-xdist workers ``-n auto`` starts.

pyproject's ``addopts`` runs the suite with ``-n auto``. xdist's own count is the number of
*physical* cores when psutil is installed (1 on a 2-vCPU VM whose vCPUs are hyperthreads)
and otherwise the CPUs the process may run on, ignoring a container's CPU quota (a 2-CPU
container on a 64-core host would start 64 workers). The suite is CPU-bound, so the count
here is the usable logical CPUs: the affinity mask, capped by a cgroup quota when one is set.
``PYTEST_XDIST_AUTO_NUM_WORKERS`` still overrides it, as in xdist.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs allowed by a cgroup v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us`` limit, if any."""
    v2, v1 = root / "cpu.max", root / "cpu"
    try:
        if v2.is_file():
            quota, period = v2.read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        if (v1 / "cpu.cfs_quota_us").is_file():
            quota_us = int((v1 / "cpu.cfs_quota_us").read_text())
            return None if quota_us <= 0 else quota_us / int((v1 / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None  # an unreadable or odd cgroup file: no quota known
    return None


def affinity_cpus() -> int:
    """Logical CPUs in this process's affinity mask (all of them where there is none)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def usable_cpus(root: Path = Path("/sys/fs/cgroup")) -> int:
    """Logical CPUs this process may use: the affinity mask, capped by a CPU quota."""
    cpus = affinity_cpus()
    quota = cgroup_cpu_quota(root)
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    return usable_cpus()
