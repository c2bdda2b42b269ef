"""tests/conftest.py: the xdist worker count follows a container's CPU quota."""

from __future__ import annotations

import pytest

from tests.conftest import affinity_cpus, cgroup_cpu_quota, usable_cpus


@pytest.mark.parametrize(("files", "quota"), [
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu.max": "150000 100000\n"}, 1.5),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 0.5),
    ({"cpu.max": "garbage"}, None),
    ({}, None),
])
def test_cgroup_quota_is_read_from_v1_and_v2_files(tmp_path, files, quota):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_cpu_quota(tmp_path) == quota


def test_workers_are_capped_by_the_quota_and_never_zero(tmp_path):
    assert usable_cpus(tmp_path) == affinity_cpus()  # no cgroup files: the affinity mask
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # half a CPU: one worker
    assert usable_cpus(tmp_path) == 1
    (tmp_path / "cpu.max").write_text(f"{(affinity_cpus() + 8) * 100000} 100000\n")
    assert usable_cpus(tmp_path) == affinity_cpus()  # a quota above the mask does not add CPUs
