"""What the machine gives a crawl: the CPUs it may use (its affinity, a container's CPU
quota) and how idle they have been (``/proc/stat``). Linux-first; elsewhere the answers are
``os.cpu_count()`` and "not known"."""

from __future__ import annotations

import math
import os
from pathlib import Path


def usable_cpus(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """The CPUs this process may run on, fewer under a container's CPU quota (``docker
    --cpus``, a Kubernetes CPU limit: 2.5 CPUs count as 3)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    quota = cpu_quota(cgroup)
    return cpus if quota is None else max(1, min(cpus, math.ceil(quota)))


def cpu_quota(cgroup: Path) -> float | None:
    """The CPUs a cgroup quota allows this process's container, from cgroup v2's
    ``cpu.max`` or v1's ``cpu.cfs_quota_us`` (where a container sees its own cgroup);
    None without a quota."""
    try:
        quota, _, period = (cgroup / "cpu.max").read_text().partition(" ")
    except OSError:
        try:
            v1 = cgroup / "cpu"
            quota = (v1 / "cpu.cfs_quota_us").read_text()
            period = (v1 / "cpu.cfs_period_us").read_text()
        except OSError:
            return None
    try:
        allowed, every = int(quota), int(period)
    except ValueError:  # "max": no quota
        return None
    return allowed / every if allowed > 0 and every > 0 else None


#: (idle, total) CPU time of the CPUs this process may run on, in clock ticks.
CpuSample = tuple[int, int]


def cpu_sample() -> CpuSample | None:
    """The machine's CPU time so far (``/proc/stat``), over this process's usable CPUs
    (idle counts idle and iowait); None where there is no ``/proc``."""
    try:
        usable = os.sched_getaffinity(0)
        with open("/proc/stat", "rb") as stat:
            lines = stat.read().splitlines()
    except (AttributeError, OSError):
        return None
    idle = total = 0
    for line in lines:
        name, _, rest = line.partition(b" ")
        if not name.startswith(b"cpu") or not name[3:].isdigit() or int(name[3:]) not in usable:
            continue
        ticks = [int(value) for value in rest.split()[:8]]  # guest time is in user already
        if len(ticks) < 5:  # not the layout Linux has had since 2.6
            return None
        idle += ticks[3] + ticks[4]
        total += sum(ticks)
    return (idle, total) if total else None


def idle_cpus(before: CpuSample | None, after: CpuSample | None, cpus: int) -> float | None:
    """How many of ``cpus`` were idle on average between two samples (None: not known)."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return cpus * (after[0] - before[0]) / (after[1] - before[1])
