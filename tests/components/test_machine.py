"""What the machine gives a crawl (``c4scrapy.machine``): usable CPUs, a container's CPU
quota, how idle the CPUs were."""

from __future__ import annotations

import math
import os

import pytest

from c4scrapy import machine


@pytest.mark.parametrize(
    ("before", "after", "cpus", "idle"),
    [
        ((100, 400), (250, 600), 2, 1.5),  # 150 of 200 ticks idle
        ((100, 400), (100, 600), 2, 0.0),
        ((0, 0), (40, 40), 4, 4.0),
        ((100, 400), (100, 400), 2, None),  # no tick between: not known
        (None, (100, 400), 2, None),  # no /proc
    ],
)
def test_idle_cpus_between_two_samples(before, after, cpus, idle) -> None:
    assert machine.idle_cpus(before, after, cpus) == idle


@pytest.mark.parametrize(
    ("files", "quota"),
    [
        ({"cpu.max": "max 100000\n"}, None),  # cgroup v2, no limit
        ({"cpu.max": "150000 100000\n"}, 1.5),  # docker --cpus=1.5
        ({"cpu.max": "50000 100000\n"}, 0.5),
        ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2.0),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # v1
        ({"cpu.max": "garbage"}, None),
        ({}, None),  # no cgroup files
    ],
)
def test_a_containers_cpu_quota_is_read(tmp_path, files, quota) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert machine.cpu_quota(tmp_path) == quota
    cpus = machine.usable_cpus(tmp_path)
    affinity = len(os.sched_getaffinity(0))
    assert cpus == (affinity if quota is None else max(1, min(affinity, math.ceil(quota))))


def test_the_machine_is_sampled_on_linux() -> None:
    sample = machine.cpu_sample()
    assert sample is not None
    idle, total = sample
    assert 0 <= idle <= total
    assert total > 0
