"""Where the CPU and the disk go during a ``bench/purge.py`` phase (alone, or during the purge).

A snapshot reads, from ``/proc``: each role's CPU seconds (this process, which runs the purge;
the web server and its workers; Valkey), the CPU time of reaped children (``wrk``: one per round),
the machine's CPU split (``/proc/stat``: busy, iowait, idle, steal) and the disk's counters
(``/proc/diskstats``: MiB written, time busy). The difference of two snapshots is shown in cores
(CPU seconds per second) and MiB/s, so a phase reads as "who had the two cores, and how busy the
disk was".
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # fields 14 and 15 of proc(5)


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _disk_name() -> str:
    """The block device the working directory is on (whole disk, as /proc/diskstats names it)."""
    device = os.stat(".").st_dev
    name = Path(f"/sys/dev/block/{os.major(device)}:{os.minor(device)}").resolve().name
    return name if Path(f"/sys/block/{name}").exists() else Path(f"/sys/class/block/{name}/..").resolve().name


@dataclass
class Snapshot:
    at: float
    roles: dict[str, float]
    machine: list[int]  # /proc/stat "cpu": user nice system idle iowait irq softirq steal
    disk: tuple[int, int]  # sectors written, ms busy
    main_thread: tuple[float, float]  # seconds on a CPU, seconds runnable but waiting for one


@dataclass
class UsageProbe:
    """Snapshots of the roles' CPU, the machine's CPU split and the disk; ``roles``: name -> pids."""

    roles: dict[str, Callable[[], list[int]]] = field(default_factory=dict)
    disk: str = field(default_factory=_disk_name)

    def snapshot(self) -> Snapshot:
        roles = {name: sum(process_cpu_seconds(pid) for pid in pids()) for name, pids in self.roles.items()}
        roles["bench"] = process_cpu_seconds(os.getpid())
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        roles["wrk"] = reaped.ru_utime + reaped.ru_stime  # the long-lived children are reaped only at the end
        machine = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
        disk = (0, 0)
        for line in Path("/proc/diskstats").read_text().splitlines():
            parts = line.split()
            if parts[2] == self.disk:
                disk = (int(parts[9]), int(parts[12]))
        # The main thread runs the purge (bench/purge.py): what it did not spend running or waiting
        # for a CPU, it spent blocked (I/O, fsync, the rests).
        pid = os.getpid()
        running, waiting = (
            int(v) / 1e9 for v in Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[:2]
        )
        return Snapshot(time.monotonic(), roles, machine, disk, (running, waiting))

    @staticmethod
    def describe(start: Snapshot, end: Snapshot) -> str:
        """The phase between two snapshots, in cores and MiB/s."""
        seconds = max(end.at - start.at, 1e-9)
        roles = " ".join(
            f"{name} {(end.roles[name] - start.roles[name]) / seconds:.2f}" for name in end.roles
        )
        delta = [(b - a) / TICK / seconds for a, b in zip(start.machine, end.machine, strict=True)]
        user, nice, system, idle, iowait, irq, softirq, steal = delta
        written = (end.disk[0] - start.disk[0]) * 512 / 1024**2 / seconds
        busy = (end.disk[1] - start.disk[1]) / 1000 / seconds
        running = end.main_thread[0] - start.main_thread[0]
        waiting = end.main_thread[1] - start.main_thread[1]
        return (
            f"main thread: {running:.1f} s running, {waiting:.1f} s waiting for a CPU, "
            f"{end.at - start.at - running - waiting:.1f} s blocked or asleep; "
            f"cores: {roles}; machine busy {user + nice + system + irq + softirq:.2f} "
            f"(user {user + nice:.2f}, system {system + irq + softirq:.2f}), iowait {iowait:.2f}, "
            f"idle {idle:.2f}, steal {steal:.2f}; disk {written:.0f} MiB/s written, busy {busy:.0%}"
        )
