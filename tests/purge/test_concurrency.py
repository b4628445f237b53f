"""A purge while the service is busy, and a purge killed half-way: nothing lost, counters exact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crashsvc.audit import list_audit_events
from crashsvc.migrate import upgrade_database
from crashsvc.models import Report
from crashsvc.models.partitions import ensure_report_partitions
from crashsvc.purge.reports import PurgeScope, ReportPurger
from tests.foundation.test_migrations import _migrate
from tests.purge.helpers import assert_consistent, bulk_reports, post_reports, report_count
from workers.batch import process_reports


@pytest.fixture(params=["rows", "days"])
def layout(request, factory) -> str:
    """ "days": the old reports lie in daily partitions a purge drops whole. "rows": in one table it
    deletes from row by row (PostgreSQL's default partition, SQLite's legacy table: ``fill``)."""
    db = factory.services.db
    if request.param == "days":
        with db.engine.begin() as connection:
            ensure_report_partitions(connection, first_day=datetime.now(UTC).date() - timedelta(days=32))
    return request.param


def fill(factory, layout: str, app_id: int, count: int, days: int) -> None:
    """``bulk_reports`` in the layout's table(s). SQLite gives a stored report its day's table, so
    the "rows" layout stores them before 0008 and upgrades: they become ``reports_legacy``."""
    db = factory.services.db
    if layout == "rows" and db.is_sqlite:
        url = factory.services.settings.database_url_resolved
        _migrate(url, "downgrade", "0007_report_partitions")
        bulk_reports(db, app_id, count, days=days)
        upgrade_database(url)
    else:
        bulk_reports(db, app_id, count, days=days)


def test_ingestion_and_processing_during_a_purge_lose_nothing(app, factory, layout):
    db = factory.services.db
    app_row = factory.app_row()
    fill(factory, layout, app_row.id, 2000, days=30)  # i % 30 days old: the 67 with i % 30 == 0 stay
    posted: list[str] = []
    errors: list[BaseException] = []
    retried: list[int] = []
    purge_running = threading.Event()

    def ingest() -> None:
        client = app.test_client()
        try:
            purge_running.wait(10)
            while purge_running.is_set() or len(posted) < 10:
                answers = post_reports(client, factory, app_row, 3)
                ids = [answer["id"] for answer in answers]
                posted.extend(ids)
                # Stored while the purge deletes. On SQLite a store whose read snapshot is older than a
                # purge commit fails with "database is locked" and is retried, as RQ retries it.
                for _attempt in range(50):
                    outcomes = process_reports(factory.services, ids)
                    if all(outcome.error is None for outcome in outcomes.values()):
                        break
                    retried.append(len(ids))
                    time.sleep(0.02)
                assert {outcome.result for outcome in outcomes.values()} <= {"stored", "already_stored"}, (
                    outcomes
                )
        except BaseException as error:  # reported to the main thread
            errors.append(error)

    thread = threading.Thread(target=ingest)
    thread.start()
    purger = ReportPurger(db, actor="test", batch_size=50)
    purge_running.set()
    try:
        result = purger.run(PurgeScope(older_than=timedelta(days=1)), 90)
    finally:
        purge_running.clear()
        thread.join(60)
    assert not errors, errors
    assert result.total == 2000 - 67
    assert (result.days_dropped > 0) == (layout == "days")
    with db.sessions() as session:
        stored = set(session.scalars(select(Report.id).where(Report.id.in_(posted))))
    assert stored == set(posted) and len(posted) >= 10
    assert report_count(db, app_id=app_row.id) == 67 + len(posted)
    assert_consistent(db)


def _cli_env(factory) -> dict[str, str]:
    settings = factory.services.settings
    return os.environ | {
        "CRASHSVC_DATABASE_URL": settings.database_url_resolved,
        "CRASHSVC_DATA_DIR": str(settings.data_dir),
        "CRASHSVC_REDIS_URL": settings.redis_url,
    }


@pytest.mark.fault
def test_a_purge_killed_half_way_is_consistent_and_a_rerun_finishes(factory, layout):
    db = factory.services.db
    app_row = factory.app_row()
    fill(factory, layout, app_row.id, 3000, days=30)  # 2900 older than a day
    command = [
        sys.executable,
        "-m",
        "crashsvc.cli",
        "purge",
        "--older-than",
        "1d",
        "--batch-size",
        "5",
        "--yes",
    ]
    process = subprocess.Popen(
        command, env=_cli_env(factory), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while report_count(db) > 3000 - 300:  # at least 60 batches committed
            assert process.poll() is None, "the purge ended before it was killed"
            assert time.monotonic() < deadline, "the purge made no progress"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(10)
    assert process.returncode == -signal.SIGKILL
    remaining = report_count(db)
    assert 100 < remaining < 3000 - 300 + 1
    assert_consistent(db)
    with db.sessions() as session:
        [event] = list_audit_events(session, app_id=app_row.id)
    assert event.count == 3000 - remaining and event.detail["status"] == "running"

    rerun = subprocess.run(command, env=_cli_env(factory), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert report_count(db) == 100
    assert_consistent(db)
    with db.sessions() as session:
        events = list_audit_events(session, app_id=app_row.id)
    assert sum(event.count for event in events) == 2900


def test_a_group_removed_by_a_purge_while_a_report_joins_it_gets_the_report_in_a_new_group(
    client, factory, monkeypatch
):
    """The race a purge's removal of empty groups has with a store (PostgreSQL: SQLite's writers
    take turns): the worker found the group, the purge removed it before the worker's insert, and
    the insert fails its foreign key. The worker then resolves the report's group again, in a
    savepoint of its own, and stores it in a new group: no dead letter, counters exact."""
    from sqlalchemy import text

    from workers import store

    db = factory.services.db
    if db.is_sqlite:
        pytest.skip(
            "SQLite: a store holds the write lock from its first read, so no purge commits in between"
        )
    app_row = factory.app_row()
    [first] = post_reports(client, factory, app_row, 1, kinds=1)
    factory.process_queue()
    with db.sessions() as session:
        old_group = session.scalar(select(Report.group_id).where(Report.id == first["id"]))
    ReportPurger(db, actor="test", keep_empty_groups=True).run(
        PurgeScope(older_than=timedelta(seconds=-60)), 90
    )
    assert report_count(db) == 0  # the group stays, empty, for the race below

    resolve = store.find_or_create_groups
    raced: list[int] = []

    def resolve_then_lose_the_group(session, contexts, groups):
        resolve(session, contexts, groups)
        if not raced:  # the purge commits between the worker's look-up and its insert
            with db.engine.connect() as purge:
                raced.append(
                    purge.execute(
                        text("DELETE FROM groups WHERE id = :id AND count <= 0"), {"id": old_group}
                    ).rowcount
                )
                purge.commit()

    monkeypatch.setattr(store, "find_or_create_groups", resolve_then_lose_the_group)
    [second] = post_reports(client, factory, app_row, 1, kinds=1)
    outcomes = process_reports(factory.services, [second["id"]])
    assert raced == [1], "the group was not removed between look-up and insert: no race was tested"
    assert {outcome.result for outcome in outcomes.values()} == {"stored"}, outcomes
    with db.sessions() as session:
        new_group = session.scalar(select(Report.group_id).where(Report.id == second["id"]))
    assert new_group is not None and new_group != old_group
    assert_consistent(db)
