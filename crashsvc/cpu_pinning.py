"""One CPU per web worker when the web workers fill the machine (``WEB_CPU_AFFINITY=auto``).

Why: on a 2-core host, Linux kept moving the two gunicorn workers' threads between the cores and
often ran both on one core while the other idled; a thread woken by Valkey's reply (every 2xx
waits for its fsync) also resumed on whichever core had woken it, with cold caches. Pinned one per
core, the workers kept both cores busy (1.97 against 1.70–1.82) and native ingestion served 15–25 %
more reports/s at the same echo rate (docs/performance.md, Ingest). Valkey and the report workers
stay free to run on any core.

Only when there are at least as many web workers as CPUs this process may use: on a larger host a
few pinned workers could not move away from a core something else keeps busy. A restarted worker
takes the CPU with the fewest live siblings, so one that died leaves its core to its replacement.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path


def choose_cpu(allowed: list[int], sibling_cpus: Iterable[int], age: int) -> int:
    """The allowed CPU with the fewest siblings pinned to it; ``age`` breaks ties, so two workers
    that start at once (each seeing no sibling pinned yet) still spread."""
    taken = Counter(cpu for cpu in sibling_cpus if cpu in allowed)
    fewest = min(taken[cpu] for cpu in allowed)
    candidates = [cpu for cpu in allowed if taken[cpu] == fewest]
    return candidates[age % len(candidates)]


def sibling_pins(parent_pid: int, own_pid: int) -> list[int]:
    """CPUs the parent's other children are pinned to (those pinned to exactly one)."""
    try:
        children = Path(f"/proc/{parent_pid}/task/{parent_pid}/children").read_text().split()
    except OSError:  # no /proc or no CONFIG_PROC_CHILDREN: age alone spreads them
        return []
    pins = []
    for pid in map(int, children):
        if pid == own_pid:
            continue
        try:
            cpus = os.sched_getaffinity(pid)
        except OSError:  # exited meanwhile
            continue
        if len(cpus) == 1:
            pins.extend(cpus)
    return pins


def pin_web_worker(mode: str, workers: int, age: int, parent_pid: int) -> int | None:
    """Pin the calling process to one CPU if ``mode`` and the worker count call for it; the CPU."""
    if mode == "off" or not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    if workers < len(allowed):
        return None
    cpu = choose_cpu(allowed, sibling_pins(parent_pid, os.getpid()), age)
    os.sched_setaffinity(0, {cpu})
    return cpu
