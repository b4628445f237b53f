"""Real processes for fault tests: an own Valkey per test, the app in-process, workers as subprocesses.

Every fault test ends with ``assert_exactly_once``: the reports answered 2xx are exactly the
reports stored, none twice, and the group counters add up to the same number.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crashsvc.valkey import EmbeddedValkey
from tests.factories import Factory

ROOT = Path(__file__).resolve().parents[2]

# Short intervals so faults are noticed within seconds (the defaults are minutes-safe values).
FAST_SETTINGS = {
    "RATE_LIMIT_PER_MINUTE": "0",
    "LOG_LEVEL": "WARNING",
    "WORKER_BATCH_SIZE": "10",
    "WORKER_HEARTBEAT_TTL": "2",
    "WORKER_MAINTENANCE_INTERVAL": "0.5",
    "JOB_RETRY_BACKOFF": "0",
    "SPOOL_MOVE_INTERVAL": "0.2",
    "DB_RETRY_MAX_DELAY": "1",
}


def wait_until(condition: Callable[[], object], timeout: float = 60.0, interval: float = 0.1) -> None:
    """Poll ``condition`` until it is true; fail the test (not hang) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s: {getattr(condition, '__name__', condition)}")


class Service:
    """The web app (in-process test client) and report workers (subprocesses) on one data dir."""

    def __init__(self, tmp_path: Path, valkey: EmbeddedValkey, database_url: str, **overrides: str):
        from crashsvc.app import create_app
        from crashsvc.migrate import upgrade_database

        upgrade_database(database_url)
        self.tmp_path = tmp_path
        self.valkey = valkey
        self.settings = {
            "DATA_DIR": str(tmp_path / "data"),
            "REDIS_URL": valkey.url,
            "DATABASE_URL": database_url,
            **FAST_SETTINGS,
            **overrides,
        }
        self.app = create_app(self.settings)
        self.client = self.app.test_client()
        self.services = self.app.extensions["crashsvc"]
        self.factory = Factory(self.app)
        self.key = self.factory.app_row().ingest_key
        self.accepted: set[str] = set()
        self.workers: list[subprocess.Popen] = []

    def post(self, marker: str = "") -> int:
        report = self.factory.report(report_id=str(uuid.uuid4()))
        if marker:
            report["exception"]["value"] = marker
        response = self.client.post(
            "/api/v1/reports",
            data=json.dumps(report),
            headers={"X-Crashsvc-Key": self.key, "Content-Type": "application/json"},
        )
        if response.status_code in (200, 202):
            self.accepted.add(response.get_json()["id"])
        return response.status_code

    def start_worker(self, database_url: str | None = None, **overrides: str) -> subprocess.Popen:
        env = dict(os.environ)
        env.update({f"CRASHSVC_{key}": value for key, value in self.settings.items()})
        env.update({f"CRASHSVC_{key}": value for key, value in overrides.items()})
        if database_url:
            env["CRASHSVC_DATABASE_URL"] = database_url
        log = open(self.tmp_path / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "crashsvc.cli", "worker", "--name", f"test-{uuid.uuid4().hex[:8]}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        log.close()
        self.workers.append(process)
        return process

    def stored_ids(self) -> list[str]:
        from crashsvc.models import Report

        with self.services.db.sessions() as session:
            return list(session.scalars(select(Report.id)))

    def group_total(self) -> int:
        from crashsvc.models import Group

        with self.services.db.sessions() as session:
            return int(session.scalar(select(func.coalesce(func.sum(Group.count), 0))))

    def all_stored(self) -> bool:
        return len(self.stored_ids()) >= len(self.accepted)

    def assert_exactly_once(self) -> None:
        stored = self.stored_ids()
        assert len(stored) == len(set(stored)), "a report was stored twice"
        assert set(stored) == self.accepted, (
            f"accepted {len(self.accepted)}, stored {len(stored)}, missing {len(self.accepted - set(stored))}"
        )
        assert self.group_total() == len(self.accepted), "group counters disagree with the stored reports"

    def close(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.services.close()


@pytest.fixture
def own_valkey(tmp_path) -> Iterator[EmbeddedValkey]:
    """A Valkey this test may stop, kill and restart (append-only, fsync always, like `crashsvc serve`)."""
    server = EmbeddedValkey(tmp_path / "valkey")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def service(tmp_path, own_valkey) -> Iterator[Callable[..., Service]]:
    built: list[Service] = []

    def build(database_url: str | None = None, **overrides: str) -> Service:
        from workers import runtime

        url = database_url or f"sqlite:///{tmp_path / 'crashsvc.sqlite3'}"
        runtime.reset()
        item = Service(tmp_path, own_valkey, url, **overrides)
        runtime.init(item.services.settings)
        built.append(item)
        return item

    yield build
    from workers import runtime

    runtime.reset()
    for item in built:
        item.close()
