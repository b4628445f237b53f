"""gunicorn's workers share persistent connections: a worker with no free thread leaves new ones to others."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.hostile.test_slow_clients import _free_port, _serve_web_command, _stall, _wait_until_healthy

THREADS = 4  # per gunicorn worker, as `crashsvc serve` runs it


def _accepted_per_worker(master_pid: int, port: int) -> list[int]:
    """Established connections to ``port`` each worker process holds (accepted ones only)."""
    established: set[str] = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            established.add(fields[9])
    workers = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout.split()
    counts = []
    for pid in workers:
        inodes = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        counts.append(len(inodes & established))
    return sorted(counts)


@pytest.mark.fault
def test_busy_workers_leave_new_connections_to_a_worker_with_free_threads(make_app, tmp_path):
    app = make_app()
    port = _free_port()
    command, env = _serve_web_command(app, port, 2, CLIENT_READ_TIMEOUT="20")
    assert command[command.index("--threads") + 1] == str(THREADS)
    with open(tmp_path / "gunicorn.log", "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        stalled: list[socket.socket] = []
        try:
            _wait_until_healthy(port, process)
            # Each stalled request holds a thread (for CLIENT_READ_TIMEOUT). Opened in a burst,
            # the workers race to accept them; without the free-thread rule either may take more
            # than its 4 threads can serve while the other has threads to spare.
            stalled = [
                _stall(port, b"GET /healthz HTTP/1.1\r\nHost: crashsvc\r\n") for _ in range(2 * THREADS)
            ]
            deadline = time.monotonic() + 10
            while sum(counts := _accepted_per_worker(process.pid, port)) < 2 * THREADS:
                assert time.monotonic() < deadline, f"only {counts} accepted"
                time.sleep(0.05)
            assert counts == [THREADS, THREADS]
        finally:
            for sock in stalled:
                sock.close()
            process.terminate()
            process.wait(20)


def _worker_cpus(master_pid: int, count: int, exclude: frozenset[int] = frozenset()) -> dict[int, set[int]]:
    """Each worker's allowed CPUs, once ``count`` workers (none of ``exclude``) have pinned themselves."""
    deadline = time.monotonic() + 20
    while True:
        pids = [
            int(pid)
            for pid in subprocess.run(
                ["pgrep", "-P", str(master_pid)], capture_output=True, text=True
            ).stdout.split()
            if int(pid) not in exclude
        ]
        try:
            cpus = {pid: os.sched_getaffinity(pid) for pid in pids}
        except OSError:  # one exited meanwhile
            cpus = {}
        if len(cpus) == count and all(len(allowed) == 1 for allowed in cpus.values()):
            return cpus
        assert time.monotonic() < deadline, f"workers' CPUs: {cpus}"
        time.sleep(0.1)


@pytest.mark.fault
def test_web_workers_that_fill_the_machine_take_a_cpu_each_and_a_replacement_takes_the_freed_one(
    make_app, tmp_path
):
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) > 8:
        pytest.skip("one web worker per CPU would be too many for a test")
    app = make_app()
    port = _free_port()
    command, env = _serve_web_command(app, port, len(allowed))
    with open(tmp_path / "gunicorn.log", "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        try:
            _wait_until_healthy(port, process)
            cpus = _worker_cpus(process.pid, len(allowed))
            assert sorted(cpu for pinned in cpus.values() for cpu in pinned) == allowed
            victim = next(iter(cpus))
            os.kill(victim, signal.SIGKILL)
            replaced = _worker_cpus(process.pid, len(allowed), exclude=frozenset({victim}))
            assert sorted(cpu for pinned in replaced.values() for cpu in pinned) == allowed
        finally:
            process.terminate()
            process.wait(20)


@pytest.mark.fault
def test_web_cpu_affinity_off_leaves_the_workers_free(make_app, tmp_path):
    app = make_app()
    port = _free_port()
    command, env = _serve_web_command(app, port, len(os.sched_getaffinity(0)), WEB_CPU_AFFINITY="off")
    with open(tmp_path / "gunicorn.log", "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        try:
            _wait_until_healthy(port, process)
            workers = subprocess.run(
                ["pgrep", "-P", str(process.pid)], capture_output=True, text=True
            ).stdout.split()
            assert workers and all(
                os.sched_getaffinity(int(pid)) == os.sched_getaffinity(0) for pid in workers
            )
        finally:
            process.terminate()
            process.wait(20)
