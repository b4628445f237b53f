"""The disk spool: where an accepted report waits, sealed, while Redis/Valkey is unreachable.

A 2xx promises the report will be processed. When the queue cannot take it, the already-sealed
payload (AES-GCM, see ``ReportQueue.seal``) is written here instead: one file per report,
written to a temporary name, fsync'd, renamed, and the directory fsync'd, so a file either exists
whole or not at all. A file holds only the report id and the sealed blob, never plaintext.

The mover puts spooled reports back into the queue, oldest first, with ``ReportQueue.enqueue``
(idempotent on the report id), and deletes a file only after that transaction succeeded. It runs
in two places, one at a time thanks to an ``flock`` on ``.mover.lock``:

- in the web process that spooled (a daemon thread started on the first spooled report, and at
  start-up when files are waiting; it exits once the spool is empty), and
- in every report worker's maintenance loop (``workers/maintenance.py``), so a spool left by a
  web process that died is emptied too.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from redis.exceptions import RedisError

from crashsvc.queue import ReportQueue

log = logging.getLogger("crashsvc.spool")

MAGIC = b"crashsvc-spool:1"
SUFFIX = ".spool"
LOCK_NAME = ".mover.lock"
SIZE_CACHE_SECONDS = 1.0


class Spool:
    """Sealed reports on disk, oldest first, with a cap on their total size."""

    def __init__(self, directory: Path, max_bytes: int, queue: ReportQueue, move_interval: float = 1.0):
        self.directory = directory
        self.max_bytes = max_bytes
        self.queue = queue
        self.move_interval = move_interval
        self._size_lock = threading.Lock()
        self._size_checked_at = 0.0
        self._size = 0
        self._mover: threading.Thread | None = None
        self._mover_pid = 0
        self._stopping = threading.Event()

    # -- writing (the web side, while Redis is down) -----------------------------------------------
    def write(self, report_id: str, sealed: bytes, check_duplicate: bool) -> bool:
        """Keep a sealed report durably; False when the spool is full or the disk refuses it."""
        record = b"%s %s %d\n" % (MAGIC, report_id.encode(), 1 if check_duplicate else 0) + sealed
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            if any(path.name.endswith(f"-{report_id}{SUFFIX}") for path in self._files()):
                return True  # a resend of a report already waiting here
            with self._size_lock:
                if self._total_size() + len(record) > self.max_bytes:
                    log.warning("spool_full", extra={"report_id": report_id, "max_bytes": self.max_bytes})
                    return False
                self._size += len(record)
            self._write_file(f"{time.time_ns():020d}-{report_id}{SUFFIX}", record)
        except OSError as error:
            log.error(
                "spool_write_failed", extra={"report_id": report_id, "error_type": type(error).__name__}
            )
            return False
        log.warning("report_spooled", extra={"report_id": report_id})
        self.start_mover()
        return True

    def _write_file(self, name: str, record: bytes) -> None:
        tmp = self.directory / f".tmp-{uuid.uuid4().hex}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(record)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(tmp, self.directory / name)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self._fsync_directory()

    def _fsync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _total_size(self) -> int:
        now = time.monotonic()
        if now - self._size_checked_at > SIZE_CACHE_SECONDS:
            self._size = sum(size for _path, size in self._sizes())
            self._size_checked_at = now
        return self._size

    # -- reading --------------------------------------------------------------------------------
    def _files(self) -> list[Path]:
        """Spooled reports, oldest first (names start with the acceptance time in nanoseconds)."""
        try:
            names = sorted(name for name in os.listdir(self.directory) if name.endswith(SUFFIX))
        except FileNotFoundError:
            return []
        return [self.directory / name for name in names]

    def _sizes(self) -> Iterator[tuple[Path, int]]:
        for path in self._files():
            with contextlib.suppress(FileNotFoundError):
                yield path, path.stat().st_size

    def stats(self) -> tuple[int, int]:
        """(files, bytes) waiting in the spool."""
        sizes = [size for _path, size in self._sizes()]
        return len(sizes), sum(sizes)

    def gauges(self) -> dict[str, tuple[float, str]]:
        files, size = self.stats()
        return {
            "spool_reports": (files, "Reports waiting in the disk spool for the queue to come back."),
            "spool_bytes": (size, "Bytes held by the disk spool."),
        }

    @staticmethod
    def parse(record: bytes) -> tuple[str, bool, bytes]:
        header, _, sealed = record.partition(b"\n")
        magic, report_id, check_duplicate = header.split(b" ")
        if magic != MAGIC:
            raise ValueError("not a spool file")
        return report_id.decode(), check_duplicate == b"1", sealed

    # -- moving back into the queue ---------------------------------------------------------------
    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[bool]:
        """Hold the mover lock if no other process does; yields False when another mover runs."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def move_pending(self) -> int:
        """Enqueue every spooled report, oldest first; returns how many moved. Stops at a Redis error."""
        moved = 0
        if not self._files():
            return 0
        with self._exclusive() as owner:
            if not owner:
                return 0
            for path in self._files():
                try:
                    record = path.read_bytes()
                except FileNotFoundError:
                    continue
                try:
                    report_id, check_duplicate, sealed = self.parse(record)
                except ValueError:
                    log.error("spool_file_unreadable", extra={"file": path.name})
                    path.rename(path.with_suffix(".bad"))
                    continue
                try:
                    self.queue.enqueue(report_id, sealed, check_duplicate)
                except RedisError:
                    break  # still down: keep the rest, in order, for the next attempt
                path.unlink()  # only now: the report is in the queue's transaction
                moved += 1
                log.info("spooled_report_queued", extra={"report_id": report_id})
            if moved:
                self._fsync_directory()
                with self._size_lock:
                    self._size_checked_at = 0.0
        return moved

    def start_mover(self) -> None:
        """Start this process's mover thread unless it is running (safe after a fork)."""
        if self._mover is not None and self._mover.is_alive() and self._mover_pid == os.getpid():
            return
        self._stopping.clear()
        self._mover = threading.Thread(target=self._run_mover, name="crashsvc-spool-mover", daemon=True)
        self._mover_pid = os.getpid()
        self._mover.start()

    def _run_mover(self) -> None:
        delay = self.move_interval
        while not self._stopping.is_set():
            moved = 0
            try:
                moved = self.move_pending()
            except OSError as error:
                log.error("spool_move_failed", extra={"error_type": type(error).__name__})
            if not self._files():
                return
            # Back off while Redis stays down, but never past 30 s (or the configured interval).
            delay = self.move_interval if moved else min(delay * 2, max(self.move_interval, 30.0))
            self._stopping.wait(delay)

    def stop_mover(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._mover is not None and self._mover_pid == os.getpid():
            self._mover.join(timeout)
