"""Reports stored by day (PostgreSQL partitions, SQLite tables behind a view); a purge drops whole
expired days and stays exact around them."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from crashsvc.audit import list_audit_events
from crashsvc.db import Database
from crashsvc.migrate import upgrade_database
from crashsvc.models import App, Report, ReportMissingSymbol
from crashsvc.models.partitions import (
    DEFAULT,
    LEGACY,
    PARTITION_DAYS_AHEAD,
    daily_name,
    ensure_report_partitions,
    insert_report_rows,
    is_partition_name,
    range_partitions,
    update_reports,
)
from crashsvc.purge.reports import PurgeResult, PurgeScope, ReportPurger, backend_cpu_clock
from tests.conftest import _reset_postgres
from tests.factories import Factory
from tests.foundation.test_migrations import _migrate
from tests.purge.helpers import assert_consistent, bulk_reports, report_count


@pytest.fixture
def pg_url(postgres_database) -> str:
    _reset_postgres(postgres_database)
    return postgres_database


@pytest.fixture
def pg_factory(make_app, pg_url) -> Factory:
    return Factory(make_app(pg_url))


def _today():
    return datetime.now(UTC).date()


def _partitions(db) -> list[str]:
    with db.engine.connect() as connection:
        return [partition.name for partition in range_partitions(connection)]


def _with_past_days(db, days: int) -> None:
    """Partitions for the last ``days`` days, as a service that has run that long has them."""
    with db.engine.begin() as connection:
        ensure_report_partitions(connection, first_day=_today() - timedelta(days=days))


def _counts_by_partition(db) -> dict[str, int]:
    with db.engine.connect() as connection:
        if db.is_sqlite:
            names = connection.scalars(text("SELECT name FROM sqlite_master WHERE type = 'table'")).all()
            counts = {
                name: connection.scalar(text(f"SELECT count(*) FROM {name}"))
                for name in names
                if is_partition_name(name)
            }
            return {name: count for name, count in counts.items() if count}
        rows = connection.execute(text("SELECT tableoid::regclass::text, count(*) FROM reports GROUP BY 1"))
        return dict(rows.all())


def test_a_new_database_has_a_partition_per_day_ahead(database_url):
    upgrade_database(database_url)
    factory_db = Database(database_url)
    names = _partitions(factory_db)
    today = _today()
    assert names == [daily_name(today + timedelta(days=n)) for n in range(PARTITION_DAYS_AHEAD + 1)]
    with factory_db.engine.connect() as connection:
        if factory_db.is_sqlite:  # the days behind a view, and no legacy table
            kinds = dict(connection.execute(text("SELECT name, type FROM sqlite_master")).all())
            assert (kinds["reports"], LEGACY in kinds) == ("view", False)
        else:  # and PostgreSQL's default partition
            assert connection.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": DEFAULT})
            assert connection.scalar(text("SELECT to_regclass(:name) IS NULL"), {"name": LEGACY})
    upgrade_database(database_url)  # again: nothing more, nothing fails
    assert _partitions(factory_db) == names
    factory_db.dispose()


def test_upgrading_keeps_stored_reports_in_a_legacy_partition_that_a_purge_drops_once_expired(database_url):
    pg_url = database_url
    _migrate(pg_url, "upgrade", "0006_os_name_breakdown")
    db = Database(pg_url)
    with db.transaction() as session:
        app = App(name="before", ingest_key=uuid.uuid4().hex)
        session.add(app)
        session.flush()
        app_id = app.id
    bulk_reports(db, app_id, 40, days=20)
    upgrade_database(pg_url)
    assert _counts_by_partition(db) == {LEGACY: 40}
    result = ReportPurger(db, actor="test").run(PurgeScope(older_than=timedelta(days=5)), 90)
    assert result.days_dropped == 0  # the legacy partition still holds recent reports: row by row
    assert report_count(db) == sum(1 for index in range(40) if index % 20 < 5)
    assert_consistent(db)
    result = ReportPurger(db, actor="test").run(PurgeScope(older_than=timedelta(days=-2)), 90)
    assert LEGACY not in _partitions(db) and report_count(db) == 0
    assert_consistent(db)
    db.dispose()


def test_a_purge_drops_the_expired_days_and_deletes_the_rest_row_by_row(factory):
    db = factory.services.db
    _with_past_days(db, 40)
    app_row = factory.app_row()
    bulk_reports(db, app_row.id, 600, days=30)
    cutoff_age = timedelta(days=10, hours=12)  # the cutoff falls inside a day: that day goes row by row
    expected_left = {
        r.id
        for r in _all_reports(db)
        if r.received_at >= datetime.now(UTC) - cutoff_age + timedelta(seconds=30)
    }
    result = ReportPurger(db, actor="test").run(PurgeScope(older_than=cutoff_age), 90)
    left = {r.id for r in _all_reports(db)}
    assert expected_left <= left and len(left) == 600 - result.total
    cutoff = datetime.now(UTC) - cutoff_age
    assert all(r.received_at >= cutoff - timedelta(minutes=1) for r in _all_reports(db))
    assert result.days_dropped >= 29  # 40 past days, the cutoff's own and the later ones stay
    assert min(_upper(name) for name in _partitions(db)) > cutoff  # every day before the cutoff's went
    assert_consistent(db)
    with db.sessions() as session:
        [event] = [event for event in list_audit_events(session) if event.action == "purge"]
        assert event.count == result.total
    assert ReportPurger(db, actor="test").run(PurgeScope(older_than=cutoff_age), 90).total == 0


def test_a_day_shared_with_an_app_outside_the_scope_is_not_dropped(factory):
    db = factory.services.db
    _with_past_days(db, 20)
    purged, other = factory.app_row(), factory.app_row()
    bulk_reports(db, purged.id, 100, days=15)
    bulk_reports(db, other.id, 100, days=15)
    cutoff = datetime.now(UTC) - timedelta(days=3)
    held = _counts_by_partition(db)
    empty_and_expired = {
        name
        for name in _partitions(db)
        if name not in held and _upper(name) <= cutoff - timedelta(seconds=30)
    }
    before = _partitions(db)
    result = ReportPurger(db, actor="test").run(
        PurgeScope(older_than=timedelta(days=3), app_id=purged.id), 90
    )
    # Only days that held no report at all go: every other one holds reports of the other app too.
    assert (
        result.days_dropped == len(empty_and_expired)
        and set(_partitions(db)) == set(before) - empty_and_expired
    )
    assert report_count(db, app_id=other.id) == 100
    assert report_count(db, app_id=purged.id) == sum(1 for index in range(100) if index % 15 < 3)
    assert_consistent(db)


def test_each_app_keeps_its_own_retention_across_shared_days(factory):
    db = factory.services.db
    _with_past_days(db, 30)
    short, long = factory.app_row(retention_days=5), factory.app_row(retention_days=20)
    bulk_reports(db, short.id, 120, days=25)
    bulk_reports(db, long.id, 120, days=25)
    result = ReportPurger(db, actor="test").run(PurgeScope(), 90)
    assert result.days_dropped >= 5  # days 21-29: every app's cutoff is past them
    assert report_count(db, app_id=short.id) == sum(1 for index in range(120) if index % 25 < 5)
    assert report_count(db, app_id=long.id) == sum(1 for index in range(120) if index % 25 < 20)
    assert_consistent(db)


def test_missing_symbol_rows_go_with_their_reports_dropped_or_deleted(factory):
    db = factory.services.db
    _with_past_days(db, 20)
    app_row = factory.app_row()
    bulk_reports(db, app_row.id, 60, days=15)
    with db.transaction() as session:
        rows = session.execute(select(Report.id, Report.received_at)).all()
        session.execute(
            insert(ReportMissingSymbol),
            [
                {"report_id": rid, "app_id": app_row.id, "symbol_key": f"key-{rid}", "type": "macho"}
                for rid, _ in rows
            ],
        )
    result = ReportPurger(db, actor="test").run(PurgeScope(older_than=timedelta(days=4, hours=12)), 90)
    assert result.days_dropped and result.total
    with db.sessions() as session:
        remaining = set(session.scalars(select(Report.id)))
        waiting = set(session.scalars(select(ReportMissingSymbol.report_id)))
    assert waiting == remaining


def test_a_report_stored_again_with_a_new_received_at_is_not_counted_twice(factory):
    # No key spans the days: the store's own check keeps ids unique (claim_report_ids).
    factory = factory
    app_row = factory.app_row()
    report = factory.report()
    client = factory.app.test_client()
    headers = {"X-Crashsvc-Key": app_row.ingest_key}
    first = client.post("/api/v1/reports", json=report, headers=headers)
    factory.process_queue()
    factory.services.redis.delete(f"crashsvc:seen:{first.get_json()['id']}")  # IDEMPOTENCY_TTL ran out
    again = client.post("/api/v1/reports", json=report, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.get_json()["id"] == first.get_json()["id"]
    factory.process_queue()
    assert report_count(factory.services.db) == 1
    assert_consistent(factory.services.db)


def _upper(name: str) -> datetime:
    return datetime.strptime(name.removeprefix("reports_p"), "%Y%m%d").replace(tzinfo=UTC) + timedelta(days=1)


def _all_reports(db):
    with db.sessions() as session:
        return session.execute(select(Report.id, Report.received_at)).all()


@pytest.mark.postgres
def test_a_day_whose_lock_does_not_come_is_left_to_the_batches(pg_factory, monkeypatch):
    # A long transaction reading the reports holds the drop off; the purge must not queue every
    # store behind it for long, nor fail: it deletes that day's reports row by row instead.
    monkeypatch.setattr("crashsvc.purge.reports.DROP_LOCK_ATTEMPTS", 2)
    monkeypatch.setattr("crashsvc.models.partitions.DROP_LOCK_TIMEOUT_MS", 50)
    db = pg_factory.services.db
    _with_past_days(db, 10)
    app_row = pg_factory.app_row()
    bulk_reports(db, app_row.id, 90, days=9)
    with db.engine.connect() as reader:
        reader.execute(text("SELECT count(*) FROM reports"))  # holds the table (ACCESS SHARE) until rollback
        result = ReportPurger(db, actor="test").run(PurgeScope(older_than=timedelta(days=3)), 90)
        reader.rollback()
    assert result.days_dropped == 0
    assert report_count(db, app_id=app_row.id) == sum(1 for index in range(90) if index % 9 < 3)
    assert_consistent(db)


@pytest.mark.postgres
def test_a_partition_whose_lock_does_not_come_waits_for_the_next_run(pg_factory, monkeypatch):
    # Creating a partition locks the reports table; behind a long read it would make every store
    # queue. The days ahead leave time: it gives up quickly and the next run creates it.
    monkeypatch.setattr("crashsvc.models.partitions.DROP_LOCK_TIMEOUT_MS", 50)
    db = pg_factory.services.db
    today = _today()
    with db.engine.connect() as reader:
        reader.execute(text("SELECT count(*) FROM reports"))
        with db.engine.begin() as connection:
            assert ensure_report_partitions(connection, today=today + timedelta(days=3)) == []
        reader.rollback()
    with db.engine.begin() as connection:
        created = ensure_report_partitions(connection, today=today + timedelta(days=3))
    assert created == [daily_name(today + timedelta(days=PARTITION_DAYS_AHEAD + n)) for n in (1, 2, 3)]


def test_downgrading_puts_every_report_back_into_one_table(factory):
    db = factory.services.db
    _with_past_days(db, 5)
    app_row = factory.app_row()
    bulk_reports(db, app_row.id, 50, days=5)
    url = factory.services.settings.database_url_resolved
    _migrate(url, "downgrade", "0006_os_name_breakdown")
    with db.engine.connect() as connection:
        if db.is_sqlite:
            kind = connection.scalar(text("SELECT type FROM sqlite_master WHERE name = 'reports'"))
            assert kind == "table" and not [n for n in _counts_by_partition(db) if n != "reports"]
        else:
            assert not connection.scalar(text("SELECT count(*) FROM pg_partitioned_table"))
    assert report_count(db, app_id=app_row.id) == 50
    assert_consistent(db)
    upgrade_database(url)
    assert _counts_by_partition(db) == {LEGACY: 50}


def test_the_dry_run_says_how_many_days_would_go_whole_and_drops_none(factory):
    from tests.purge.test_purge import cli

    db = factory.services.db
    _with_past_days(db, 20)
    app_row = factory.app_row()
    bulk_reports(db, app_row.id, 150, days=15)
    before = _partitions(db)
    result = cli(factory, "purge", "--older-than", "6d", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert _partitions(db) == before and report_count(db) == 150
    text = cli(factory, "purge", "--older-than", "6d", "--dry-run").output
    assert f"{plan['days_dropped_whole']} whole days would be dropped" in text
    purged = cli(factory, "purge", "--older-than", "6d", "--yes", "--json")
    assert json.loads(purged.output)["days_dropped"] == plan["days_dropped_whole"] >= 13


def test_a_report_for_a_day_without_a_table_gets_one_and_reads_find_it(factory):
    # A worker that was down longer than the days ahead stores reports of a day nobody created.
    db = factory.services.db
    app_row = factory.app_row()
    long_ago = datetime.now(UTC) - timedelta(days=40)
    if db.is_sqlite:
        assert daily_name(long_ago.date()) not in _partitions(db)
    bulk_reports(db, app_row.id, 3, days=1)  # today's, into an existing day
    with db.transaction() as session:
        insert_report_rows(
            session,
            [
                {
                    "id": "0" * 8 + "-0000-8000-8000-" + "0" * 12,
                    "app_id": app_row.id,
                    "received_at": long_ago,
                    "platform": "cocoa",
                    "data": {},
                }
            ],
        )
    if db.is_sqlite:  # PostgreSQL: into reports_default
        assert daily_name(long_ago.date()) in _partitions(db)
    with db.sessions() as session:
        assert session.get(Report, "0" * 8 + "-0000-8000-8000-" + "0" * 12).received_at == long_ago
    assert report_count(db, app_id=app_row.id) == 4
    result = ReportPurger(db, actor="test").run(PurgeScope(older_than=timedelta(days=30)), 90)
    assert result.total == 1 and report_count(db, app_id=app_row.id) == 3
    assert daily_name(long_ago.date()) not in _partitions(db)


def test_a_dropped_day_cannot_be_read_back_from_the_sqlite_file(factory):
    # secure_delete (crashsvc/db.py) zeroes the pages DROP TABLE frees too, not only deleted cells.
    db = factory.services.db
    if not db.is_sqlite:
        pytest.skip("SQLite's file format; PostgreSQL unlinks a dropped partition's files")
    path = Path(factory.services.settings.database_url_resolved.split("///", 1)[1])
    marker = f"zz-dropped-day-{uuid.uuid4().hex}"
    app_row = factory.app_row()
    ten_days_ago = datetime.now(UTC) - timedelta(days=10)
    with db.transaction() as session:
        insert_report_rows(
            session,
            [
                {
                    "id": str(uuid.uuid4()),
                    "app_id": app_row.id,
                    "received_at": ten_days_ago,
                    "platform": "cocoa",
                    "data": {"breadcrumbs": [{"message": marker}], "n": index},
                }
                for index in range(200)
            ],
        )

    def file_bytes() -> bytes:
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        wal = path.with_name(path.name + "-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    assert marker.encode() in file_bytes(), "the stored reports should hold the marker"
    result = ReportPurger(db, actor="test", reclaim=False).run(PurgeScope(older_than=timedelta(days=5)), 90)
    assert (result.total, result.days_dropped) == (200, 1)
    assert marker.encode() not in file_bytes()


def test_a_purge_with_a_cutoff_past_every_day_leaves_a_working_store(factory):
    # Every day's table may go (the days ahead too); reads and stores must still find a table.
    db = factory.services.db
    app_row = factory.app_row()
    bulk_reports(db, app_row.id, 20, days=5)
    result = ReportPurger(db, actor="test").run(PurgeScope(older_than=timedelta(days=-30)), 90)
    assert result.total == 20 and report_count(db) == 0
    bulk_reports(db, app_row.id, 3, days=1)
    assert report_count(db) == 3
    assert_consistent(db)


def test_an_update_of_one_report_by_its_day_finds_it_in_its_day_or_the_legacy_table(factory):
    # Regrouping and reprocessing update one report at a time, told its received_at (SQLite: one
    # day's table and the legacy one instead of every day).
    db = factory.services.db
    app_row = factory.app_row()
    url = factory.services.settings.database_url_resolved
    if db.is_sqlite:
        _migrate(url, "downgrade", "0007_report_partitions")
    bulk_reports(db, app_row.id, 5, days=5)  # SQLite: stored before 0008, so into reports_legacy
    upgrade_database(url)
    bulk_reports(db, app_row.id, 5, days=5)  # into the days' tables
    rows = _all_reports(db)
    with db.transaction() as session:
        changed = [
            update_reports(session, Report.id == row.id, {"platform": "android"}, row.received_at)
            for row in rows
        ]
    assert changed == [1] * 10
    with db.sessions() as session:
        assert set(session.scalars(select(Report.platform))) == {"android"}


@pytest.mark.postgres
def test_the_purge_reads_its_local_backends_cpu(pg_factory):
    # PostgreSQL's rests follow the CPU a step used (backend + purging thread), not its wall time.
    db = pg_factory.services.db
    with db.engine.connect() as connection:
        clock = backend_cpu_clock(connection)
        assert clock is not None, "the test database runs on this machine"
        before = clock()
        connection.execute(text("SELECT count(*) FROM generate_series(1, 3000000)"))
        assert clock() > before


def test_a_rest_lasts_the_cpu_a_step_used_where_it_is_measured(factory):
    purger = ReportPurger(factory.services.db, actor="test", pause_ratio=2)
    readings = iter([10.0, 10.01])
    purger._cpu_clock = lambda: next(readings)  # a step that used 10 ms of CPU
    step = purger._step_started()
    result = PurgeResult(run_id="test")
    purger._rest((step[0] - 60, step[1]), result)  # however long it waited for a CPU
    assert result.rest_seconds == pytest.approx(0.02)
    purger._cpu_clock = None  # not measured (SQLite, a remote database): its wall time
    purger.pause_ratio = 0.001
    purger._rest((time.monotonic() - 5, None), result)
    assert result.rest_seconds == pytest.approx(0.025, abs=0.001)
