"""The reports are stored one table per UTC day of ``received_at``, so a purge drops whole days.

Why: a purge that deletes rows pays for every row in the table and in each of its indexes (and on
SQLite for zeroing them, ``secure_delete``), then VACUUM or the free-page reclaim pays again: 1M of 2M
reports took 55–65 s of deleting on PostgreSQL and 90–100 s on SQLite on a 2-core host beside
ingestion (docs/performance.md, Purge). A day whose reports are all past their cutoff is instead
uncounted from one scan (the same set-based statements as a batch, ``aggregates.uncount_staged``)
and dropped. What is not a whole expired day (the day the cutoff falls in, ``--group`` purges, an
app's purge on a day other apps share, ``reports_legacy``, ``reports_default``) is deleted row by row,
one day's table at a time.

PostgreSQL (migration 0007): ``reports`` is ``PARTITION BY RANGE (received_at)``; PostgreSQL routes
writes and prunes reads. SQLite (migration 0008) has no partitions: each day is a table of its own
with the same columns and indexes, and ``reports`` is a ``UNION ALL`` view over them, oldest first,
rebuilt whenever a day is created or dropped. Reads go through the view (SQLite pushes a query's
conditions, ``ORDER BY`` and ``LIMIT`` into each day's indexes, docs/performance.md); writes go to
the day's table: ``insert_report_rows`` and ``update_reports`` here, the purge's deletes in
``crashsvc.purge``. A view cannot be joined cheaply (SQLite materializes it): queries look reports
up with a correlated subquery instead.

Tables (both backends):

- ``reports_legacy``: every report stored before the migration (dropped at once if there were
  none). PostgreSQL: ``MINVALUE`` up to the end of the migration's day. It is dropped whole once all
  of it is past the cutoff, row by row until then.
- ``reports_pYYYYMMDD``: one per UTC day, created ahead (``PARTITION_DAYS_AHEAD``) by
  ``crashsvc db upgrade`` and by every purge run, including the workers' daily retention purge.
  SQLite also creates a day's table when a report for it is stored and it does not exist.
- ``reports_default`` (PostgreSQL): a report for a day without a partition (the purges stopped for
  longer than the days ahead). Purged row by row; a day that has rows there gets no partition of
  its own later.

The id is unique across the days because the store checks for it before inserting
(``workers.store.claim_report_ids``; PostgreSQL's primary key is ``(id, received_at)``, as it
requires the partition key in every unique index, and each SQLite day has a key of its own).
``report_missing_symbols`` has no foreign key to the reports for the same reason: its rows go with
their report explicitly (``aggregates.delete_and_stage``, ``stage_partition``).

A later migration that changes the reports' columns changes ``Report`` (new days are created from
the model) and, on SQLite, every existing day's table, then calls ``rebuild_reports_view``.
"""

from __future__ import annotations

import functools
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Column, MetaData, Table, insert, select, text, update
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.visitors import replacement_traverse

from crashsvc.models.reports import Report

log = logging.getLogger("crashsvc.purge")

REPORTS = Report.__table__
PARENT = "reports"
LEGACY = "reports_legacy"
DEFAULT = "reports_default"
DAILY_PREFIX = "reports_p"
DAILY_NAME = re.compile(r"\Areports_p(\d{8})\Z")
# Why two weeks: partitions exist before their day comes even if the daily purge (which also
# creates them) stops for that long; past that, new reports fall into the default partition
# (PostgreSQL) or get their day's table when stored (SQLite).
PARTITION_DAYS_AHEAD = 14
# One number for every process that creates partitions (migrate, purges): they take turns.
_MAINTENANCE_LOCK = 0x63727368  # "crsh"
# How long a drop waits for the reports table's lock before giving up (and trying again later):
# every store and read of the reports that comes after it queues behind the waiting drop.
DROP_LOCK_TIMEOUT_MS = 2000
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout
_BOUNDS = re.compile(r"FROM \((?:MINVALUE|'([^']+)')\) TO \('([^']+)'\)")


def is_partition_name(name: str) -> bool:
    return name in (LEGACY, DEFAULT) or bool(DAILY_NAME.match(name))


def daily_name(day: date) -> str:
    return f"{DAILY_PREFIX}{day:%Y%m%d}"


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True, order=True)
class Partition:
    """One partition of the reports: every report in it was received before ``upper`` (None: default)."""

    upper: datetime
    name: str
    lower: datetime | None = None  # None: MINVALUE (the legacy partition)

    def covers(self, moment: datetime) -> bool:
        return (self.lower is None or self.lower <= moment) and moment < self.upper


def is_partitioned(connection: Connection) -> bool:
    """Whether the reports are stored by day: a partitioned table (PostgreSQL) or a view (SQLite)."""
    if connection.dialect.name == "sqlite":
        return bool(
            connection.scalar(
                text("SELECT count(*) FROM sqlite_master WHERE type = 'view' AND name = :parent"),
                {"parent": PARENT},
            )
        )
    return bool(
        connection.scalar(
            text("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(:parent))"),
            {"parent": PARENT},
        )
    )


def range_partitions(connection: Connection) -> list[Partition]:
    """The partitions with an upper bound (every one but PostgreSQL's default), oldest first."""
    if connection.dialect.name == "sqlite":
        return _sqlite_partitions(connection)
    rows = connection.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(:parent)"
        ),
        {"parent": PARENT},
    )
    partitions = []
    for name, bound in rows:
        match = _BOUNDS.search(bound or "")
        if match:  # the default partition's bound is DEFAULT
            lower = datetime.fromisoformat(match.group(1)).astimezone(UTC) if match.group(1) else None
            upper = datetime.fromisoformat(match.group(2)).astimezone(UTC)
            partitions.append(Partition(upper, name, lower))
    return sorted(partitions)


def _sqlite_table_names(connection: Connection) -> list[str]:
    """The days' tables, oldest first: the legacy table, then the days (their names sort by date)."""
    names = connection.scalars(
        text("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'reports\\_%' ESCAPE '\\'")
    )
    return sorted(
        (name for name in names if is_partition_name(name)), key=lambda name: (name != LEGACY, name)
    )


def _sqlite_partitions(connection: Connection) -> list[Partition]:
    partitions = []
    for name in _sqlite_table_names(connection):
        match = DAILY_NAME.match(name)
        if match:
            lower = _midnight(datetime.strptime(match.group(1), "%Y%m%d").date())
            partitions.append(Partition(lower + timedelta(days=1), name, lower))
        elif name == LEGACY:
            # No bound is declared anywhere: the legacy table ends where its newest report does
            # (it gets no new ones). Per app, so each look-up is one probe of (app_id, received_at).
            newest = connection.scalar(
                text(f"SELECT max((SELECT max(received_at) FROM {LEGACY} WHERE app_id = apps.id)) FROM apps")
            )
            upper = as_utc(newest) + timedelta(microseconds=1) if newest else datetime.min.replace(tzinfo=UTC)
            partitions.append(Partition(upper, name, None))
    return sorted(partitions)


def as_utc(value: Any) -> datetime:
    """A stored moment as an aware UTC datetime (SQLite's aggregates come back as text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def ensure_report_partitions(
    connection: Connection, today: date | None = None, first_day: date | None = None
) -> list[str]:
    """Create the missing daily partitions up to ``PARTITION_DAYS_AHEAD`` days past today.

    From the newest partition's end (or today), or from ``first_day`` when given (a bench or a
    test that stores reports of past days). Returns the names created. A day another partition
    covers is left alone, and so is (PostgreSQL) a day that already has reports in the default
    partition (PostgreSQL would refuse it; they are purged row by row).
    """
    if not is_partitioned(connection):
        return []
    today = today or datetime.now(UTC).date()
    if connection.dialect.name == "sqlite":
        return _ensure_sqlite_days(connection, today, first_day)
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MAINTENANCE_LOCK})
    existing = range_partitions(connection)
    day = first_day or (existing[-1].upper.date() if existing else today)
    created = []
    while day <= today + timedelta(days=PARTITION_DAYS_AHEAD):
        lower = _midnight(day)
        upper = lower + timedelta(days=1)
        day += timedelta(days=1)
        if any(
            partition.covers(lower) or partition.covers(upper - timedelta(microseconds=1))
            for partition in existing
        ):
            continue
        taken = connection.scalar(
            text(
                f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE received_at >= :lower AND received_at < :upper)"
            ),
            {"lower": lower, "upper": upper},
        )
        if taken:
            continue
        name = daily_name(lower.date())
        try:
            with connection.begin_nested():
                connection.execute(text(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT_MS}ms'"))
                connection.execute(
                    text(
                        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {PARENT} "
                        f"FOR VALUES FROM ('{lower.isoformat()}') TO ('{upper.isoformat()}')"
                    )
                )
        except OperationalError as error:
            # Creating a partition locks the reports table, and waiting for it behind a long read
            # would queue every store after it. The days ahead leave time: the next run creates it.
            if not lock_timed_out(error):
                raise
            log.warning("report_partition_postponed", extra={"partition": name})
            break
        created.append(name)
    return created


def _ensure_sqlite_days(connection: Connection, today: date, first_day: date | None) -> list[str]:
    """SQLite: a table for each missing day from ``first_day`` (or today) on."""
    existing = set(_sqlite_table_names(connection))
    day = first_day or today  # a past day gets its table when a report for it is stored
    created = []
    while day <= today + timedelta(days=PARTITION_DAYS_AHEAD):
        name = daily_name(day)
        if name not in existing:
            _create_sqlite_day(connection, name)
            created.append(name)
        day += timedelta(days=1)
    if created:
        rebuild_reports_view(connection)
    return created


def create_sqlite_layout(connection: Connection, today: date | None = None) -> None:
    """SQLite (migration 0008): turn a plain ``reports`` table into days behind a view.

    Its reports become ``reports_legacy`` (dropped if it has none); the days ahead are created and
    the view over them. Nothing is copied: an upgrade takes one rename.
    """
    has_rows = connection.scalar(text("SELECT EXISTS (SELECT 1 FROM reports)"))
    if has_rows:
        connection.execute(text(f"ALTER TABLE reports RENAME TO {LEGACY}"))
    else:
        connection.execute(text("DROP TABLE reports"))
    today = today or datetime.now(UTC).date()
    for offset in range(PARTITION_DAYS_AHEAD + 1):
        _create_sqlite_day(connection, daily_name(today + timedelta(days=offset)))
    rebuild_reports_view(connection)


def _create_sqlite_day(connection: Connection, name: str) -> None:
    """One day's table: the model's columns, keys and indexes under names of its own."""
    ddl = str(CreateTable(REPORTS).compile(dialect=sqlite_dialect.dialect()))
    ddl = ddl.replace("CREATE TABLE reports (", f"CREATE TABLE IF NOT EXISTS {name} (", 1)
    ddl = ddl.replace("CONSTRAINT pk_reports ", f"CONSTRAINT pk_{name} ")
    ddl = ddl.replace("CONSTRAINT fk_reports_", f"CONSTRAINT fk_{name}_")
    connection.execute(text(ddl))
    for index in REPORTS.indexes:
        columns = ", ".join(column.name for column in index.columns)
        index_name = index.name.replace("ix_reports_", f"ix_{name}_", 1)
        connection.execute(text(f"CREATE INDEX IF NOT EXISTS {index_name} ON {name} ({columns})"))


def rebuild_reports_view(connection: Connection) -> None:
    """SQLite: ``reports`` as every day's table, oldest first (explicit columns: the legacy table's
    order differs, 0006 appended ``os_name``)."""
    columns = ", ".join(column.name for column in REPORTS.c)
    tables = _sqlite_table_names(connection)
    if not tables:  # a purge with a cutoff in the future dropped every day: a view needs one
        tables = [daily_name(datetime.now(UTC).date())]
        _create_sqlite_day(connection, tables[0])
    connection.execute(text(f"DROP VIEW IF EXISTS {PARENT}"))
    connection.execute(
        text(
            f"CREATE VIEW {PARENT} AS "
            + " UNION ALL ".join(f"SELECT {columns} FROM {table}" for table in tables)
        )
    )


def drop_partition(session: Session, name: str) -> None:
    """Drop one day's reports (the caller uncounted them in the same transaction)."""
    connection = session.connection()
    connection.execute(text(f"DROP TABLE {name}"))
    if connection.dialect.name == "sqlite":
        rebuild_reports_view(connection)


@functools.lru_cache(maxsize=1024)
def partition_table(name: str) -> Table:
    """A partition of the reports as a table of its own (same columns and defaults), to write to or scan.

    One object per name and process: SQLAlchemy caches a statement's compiled form per table
    object, and compiling an insert anew for each stored batch cost the worker 2-4 ms a job.
    """
    return Table(
        name,
        MetaData(),
        *(
            Column(
                column.name,
                column.type,
                primary_key=column.primary_key,
                nullable=column.nullable,
                default=column.default.arg if column.default is not None else None,
            )
            for column in REPORTS.c
        ),
    )


def on_table(condition: Any, target: Table) -> Any:
    """``condition`` on the reports, rewritten to the same columns of ``target``."""

    def replace(element: Any) -> Any:
        if isinstance(element, Column) and element.table is REPORTS:
            return target.c[element.name]
        return None

    return replacement_traverse(condition, {}, replace)


def writable_report_tables(session: Session) -> list[Table]:
    """Where a write to the reports goes: PostgreSQL's parent (it routes), SQLite's every day."""
    connection = session.connection()
    names = _sqlite_table_names(connection) if connection.dialect.name == "sqlite" else []
    return [partition_table(name) for name in names] or [REPORTS]  # none: before 0008, one table


def insert_report_rows(session: Session | Connection, rows: list[dict[str, Any]]) -> None:
    """Insert report rows; on SQLite each into its day's table, created when missing."""
    connection = session.connection() if isinstance(session, Session) else session
    existing = set(_sqlite_table_names(connection)) if connection.dialect.name == "sqlite" else set()
    if not existing:  # PostgreSQL routes the rows itself; SQLite before 0008 has one table
        connection.execute(insert(REPORTS), rows)
        return
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_day[as_utc(row["received_at"]).astimezone(UTC).date()].append(row)
    tables = _table_for_days(connection, by_day, existing)
    for day, day_rows in sorted(by_day.items()):
        connection.execute(insert(tables[day]), day_rows)


def _table_for_days(connection: Connection, days: Iterable[date], existing: set[str]) -> dict[date, Table]:
    """SQLite: each day's table, created (and the view rebuilt) for a day that has none."""
    missing = [day for day in days if daily_name(day) not in existing]
    for day in missing:
        _create_sqlite_day(connection, daily_name(day))
    if missing:
        rebuild_reports_view(connection)
    return {day: partition_table(daily_name(day)) for day in days}


def update_reports(
    session: Session, condition: Any, values: dict[str, Any], received_at: datetime | None = None
) -> int:
    """``UPDATE reports SET values WHERE condition`` on either backend; how many reports changed.

    SQLite writes to each day's table (a view takes no writes); a new ``received_at`` moves the
    reports to their new day's table, as PostgreSQL moves rows between partitions. ``received_at``
    (of the one report the condition names) narrows SQLite's writes to its day's table and the
    legacy one: regrouping updates every stored report, one statement each, not one per day.
    """
    tables = writable_report_tables(session)
    if received_at is not None and tables != [REPORTS]:
        day = daily_name(as_utc(received_at).astimezone(UTC).date())
        tables = [table for table in tables if table.name in (day, LEGACY)]
    if tables == [REPORTS]:
        return session.execute(
            update(REPORTS).where(condition).values(**values).execution_options(synchronize_session=False)
        ).rowcount
    if "received_at" in values:
        moved = [
            dict(row._mapping) | values
            for table in tables
            for row in session.execute(select(*table.c).where(on_table(condition, table)))
        ]
        delete_reports(session, REPORTS.c.id.in_([row["id"] for row in moved]))
        insert_report_rows(session, moved)
        return len(moved)
    return sum(
        session.execute(update(table).where(on_table(condition, table)).values(**values)).rowcount
        for table in tables
    )


def delete_reports(session: Session, condition: Any) -> int:
    """``DELETE FROM reports WHERE condition`` on either backend, counting nothing (a purge uncounts:
    ``crashsvc.purge``); how many went."""
    return sum(
        session.execute(table.delete().where(on_table(condition, table))).rowcount
        for table in writable_report_tables(session)
    )


def lock_timed_out(error: OperationalError) -> bool:
    """Whether PostgreSQL gave up waiting for a lock (``lock_timeout``), rather than failing otherwise."""
    return getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE


def partition_app_ids(session: Session, partition: Partition) -> set[int]:
    return set(session.scalars(text(f"SELECT DISTINCT app_id FROM {partition.name}")))


def lock_reports_for_drop(session: Session) -> None:
    """PostgreSQL: take the lock a partition drop needs before any other: the reports table's, exclusively.

    Why first: dropping a partition locks its parent table exclusively. Asked for after the uncount
    has locked group rows, it would wait for a worker that inserted a report (holding the table)
    and now waits for one of those group rows: a deadlock. Taken first, the drop only waits for
    the transactions already running on the reports, and blocks new ones until it commits
    (the scan and the uncount of one day). SQLite's write transaction already holds its one lock.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT_MS}ms'"))
    session.execute(text(f"LOCK TABLE {PARENT} IN ACCESS EXCLUSIVE MODE"))
