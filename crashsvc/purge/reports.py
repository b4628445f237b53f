"""Purging stored reports: what a purge would remove (the plan), and removing it in short batches.

Each batch is one transaction: delete the oldest matching reports (at most ``batch_size``),
staging exactly the rows removed, uncount them with one statement per aggregate table
(``aggregates.delete_and_stage`` / ``uncount_staged``),
drop groups left empty, and add the batch to the run's audit event. A purge stopped at any point
(Ctrl-C, a kill, a crash) therefore leaves every counter equal to what remains, and the audit log
says how many went; running it again finishes the job. Short transactions keep ingestion and the
UI working: the write lock is held for one batch at a time.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from crashsvc.audit import record_audit_event
from crashsvc.db import WRITE_OPTION, Database
from crashsvc.models import App
from crashsvc.models.audit import AuditEvent
from crashsvc.models.partitions import DEFAULT as DEFAULT_PARTITION
from crashsvc.models.partitions import (
    Partition,
    as_utc,
    drop_partition,
    ensure_report_partitions,
    is_partitioned,
    lock_reports_for_drop,
    lock_timed_out,
    partition_app_ids,
    range_partitions,
)
from crashsvc.purge.aggregates import (
    REPORTS,
    clear_staged,
    delete_and_stage,
    remove_empty_groups,
    stage_partition,
    staged_app_ids,
    staged_counts_per_app,
    uncount_staged,
)
from crashsvc.purge.space import (
    SQLITE_RECLAIM_BUDGET_SECONDS,
    SpaceReport,
    database_size,
    reclaim_space,
    sqlite_free_pages,
)

# Statements per batch are fixed (set-based uncount), so larger batches cost less per report.
# PostgreSQL: 20,000 (measured there). SQLite: every batch deletes its reports' keys from the random
# UUID primary-key index and so dirties most of its leaf pages (about 33,000 for 2M reports), each
# written twice (WAL, then checkpoint). At 20,000 a 1M purge rewrote that index 50 times (8 GB of
# writes, 31-34 s of CPU alone on 2 cores, bench/purge.py); at 100,000, 10 times (3.5 GB, 18-20 s);
# 200,000 gained nothing more (19.6 s). A batch then holds SQLite's write lock for about 2 s alone and
# 4-5 s beside a busy ingest: that long a worker's store (or a deletion on request) waits, well within
# the 30 s busy timeout. docs/performance.md, Purge.
POSTGRES_BATCH_SIZE = 20_000
SQLITE_BATCH_SIZE = 100_000
# After each batch the purge may rest for this fraction of the batch's own duration.
# PostgreSQL's deletes block no insert, but the purge's backend keeps a core busy: on a machine where
# the database shares the CPUs with the workers (2 cores, bench/purge.py, 1M of 2M time-ordered) a
# writer kept 63% of its store rate without rests and 88% with ratio 1, for 18 -> 28 s of purge.
# On SQLite the purge's own thread does the work and, on a small machine, everything beside it loses
# about the CPU it takes. With 100,000-report batches (bench/purge.py, 1M of 2M, HTTP ingestion on the
# same 2 cores) ratio 0 took 49-55 s with ingestion at 72-77% of its rate alone; ratio 0.2 gave
# 70-87% (79% on average over 5 runs) but 55-73 s, past the 60 s aimed for in 4 of them, and
# ratio 0.1 62 s at 77%. So SQLite does not rest by default; ``pause_ratio`` (``crashsvc purge
# --pause-ratio``) brings rests back where ingestion or the worker's stores during the purge matter
# more than its length. docs/performance.md, Purge.
SQLITE_PAUSE_RATIO = 0.0
POSTGRES_PAUSE_RATIO = 1.0
# What a rest is measured against. On SQLite a step's wall time: resting also hands the write lock
# to the other writers. On PostgreSQL deletes block no insert, so a rest only gives back CPU, and
# it is measured against the CPU the step used: the purge's own thread and, when the database runs
# on this machine, its backend (``backend_cpu_clock``). Against the wall time, which beside a
# saturating ingest is mostly waiting for a CPU, the rests were 5x what the step took: 1M of 2M
# purged in 54.7-59.5 s with ingestion at 92-95 %, against 34.7-45.8 s at 87-92 % by CPU
# (bench/purge.py, docs/performance.md, Purge, eighth session). A database on another machine
# falls back to wall time (its CPU is not the one the ingest here shares).
# The purge's own SQLite connection gets a large page cache: a batch dirties pages all over the
# report indexes (the random UUID key above all), and with the default 2 MiB cache they spill to
# the WAL mid-batch and are read back again and again. Bounded, and freed when the purge ends (the
# connection is closed, not returned to the pool). The WAL checkpoint interval stays SQLite's 1,000
# pages: with a longer one on this connection the WAL grew to hundreds of MB and the other writers'
# commits (still at 1,000) did the checkpointing, at 13% of their rate instead of 54% (bench/purge.py).
SQLITE_PURGE_CACHE_MIB = 256
# PostgreSQL: a day's drop waits at most ``partitions.DROP_LOCK_TIMEOUT_MS`` for the reports table's lock,
# this many times; then the day is left to the batches. Why short waits: while the drop waits for
# the lock, every later store and read of the reports queues behind it.
DROP_LOCK_ATTEMPTS = 5


@dataclass(frozen=True)
class PurgeScope:
    """Which reports a purge removes: older than ``older_than``, or past each app's own retention."""

    older_than: timedelta | None = None  # None: each app's retention_days (or the default)
    app_id: int | None = None
    group_id: int | None = None

    def describe(self) -> dict[str, Any]:
        scope: dict[str, Any] = {"mode": "older_than" if self.older_than else "retention"}
        if self.older_than:
            scope["older_than_seconds"] = int(self.older_than.total_seconds())
        if self.app_id is not None:
            scope["app_id"] = self.app_id
        if self.group_id is not None:
            scope["group_id"] = self.group_id
        return scope


@dataclass(frozen=True)
class AppCutoff:
    app_id: int
    app_name: str
    cutoff: datetime
    retention_days: int | None  # set in retention mode


@dataclass
class AppPlan:
    """What a purge would remove from one app (``--dry-run``)."""

    app_id: int
    app_name: str
    cutoff: datetime
    reports: int
    oldest: datetime | None
    newest: datetime | None
    estimated_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "app_id": self.app_id,
            "app": self.app_name,
            "cutoff": _iso(self.cutoff),
            "reports": self.reports,
            "oldest": _iso(self.oldest),
            "newest": _iso(self.newest),
            "estimated_bytes": self.estimated_bytes,
        }


@dataclass
class PurgeResult:
    run_id: str
    deleted: dict[int, int] = field(default_factory=dict)  # app id -> reports removed
    groups_removed: int = 0
    batches: int = 0
    days_dropped: int = 0  # whole days (a table each) dropped instead of deleted row by row
    seconds: float = 0.0  # the whole run: batches, rests and the space reclaim
    rest_seconds: float = 0.0  # SQLite: time left to other writers between batches
    reclaim_seconds: float = 0.0
    space: SpaceReport | None = None

    @property
    def total(self) -> int:
        return sum(self.deleted.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "deleted": self.total,
            "per_app": {str(k): v for k, v in self.deleted.items()},
            "groups_removed": self.groups_removed,
            "batches": self.batches,
            "days_dropped": self.days_dropped,
            "seconds": round(self.seconds, 2),
            "rest_seconds": round(self.rest_seconds, 2),
            "reclaim_seconds": round(self.reclaim_seconds, 2),
            "space": self.space.as_dict() if self.space else None,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def app_cutoffs(
    session: Session, scope: PurgeScope, default_retention_days: int, now: datetime | None = None
) -> list[AppCutoff]:
    """The apps in scope and the time before which their reports go."""
    now = now or datetime.now(UTC)
    query = select(App.id, App.name, App.retention_days).order_by(App.id)
    if scope.app_id is not None:
        query = query.where(App.id == scope.app_id)
    cutoffs = []
    for app_id, name, retention_days in session.execute(query):
        if scope.older_than is not None:
            cutoffs.append(AppCutoff(app_id, name, now - scope.older_than, None))
        else:
            days = retention_days or default_retention_days
            cutoffs.append(AppCutoff(app_id, name, now - timedelta(days=days), days))
    return cutoffs


def _matching(cutoff: AppCutoff, scope: PurgeScope) -> Any:
    condition = and_(REPORTS.c.app_id == cutoff.app_id, REPORTS.c.received_at < cutoff.cutoff)
    if scope.group_id is not None:
        condition = and_(condition, REPORTS.c.group_id == scope.group_id)
    return condition


def plan_purge(
    session: Session, scope: PurgeScope, default_retention_days: int, now: datetime | None = None
) -> list[AppPlan]:
    """Per app: how many reports would go, their date range and an estimate of their size. Reads only."""
    if session.get_bind().dialect.name == "postgresql":
        size = func.pg_column_size(REPORTS.c.data)
    else:
        size = func.length(REPORTS.c.data)
    plans = []
    for cutoff in app_cutoffs(session, scope, default_retention_days, now):
        count, oldest, newest, data_bytes = session.execute(
            select(
                func.count(),
                func.min(REPORTS.c.received_at),
                func.max(REPORTS.c.received_at),
                func.coalesce(func.sum(size), 0),
            ).where(_matching(cutoff, scope))
        ).one()
        # Aggregates come back untyped: SQLite gives its stored text for min/max.
        plans.append(
            AppPlan(
                cutoff.app_id,
                cutoff.app_name,
                cutoff.cutoff,
                int(count),
                _as_utc(oldest),
                _as_utc(newest),
                int(data_bytes) + 400 * int(count),
            )
        )  # + row and index overhead
    return plans


def _as_utc(value: Any) -> datetime | None:
    return None if value is None else as_utc(value)


def day_expired(partition: Partition, app_ids: set[int], cutoff_of: dict[int, AppCutoff]) -> bool:
    """Whether a purge may drop this partition: every report in it is of an app in scope, past its cutoff."""
    return all(app in cutoff_of and partition.upper <= cutoff_of[app].cutoff for app in app_ids)


def plan_dropped_days(
    session: Session, scope: PurgeScope, default_retention_days: int, now: datetime | None = None
) -> list[str] | None:
    """The days (partitions) a purge would drop whole; None where reports are not stored by day."""
    connection = session.connection()
    if not is_partitioned(connection):
        return None
    cutoffs = app_cutoffs(session, scope, default_retention_days, now)
    if scope.group_id is not None or not cutoffs:
        return []
    cutoff_of = {cutoff.app_id: cutoff for cutoff in cutoffs}
    latest = max(cutoff.cutoff for cutoff in cutoffs)
    return [
        partition.name
        for partition in range_partitions(connection)
        if partition.upper <= latest
        and day_expired(partition, partition_app_ids(session, partition), cutoff_of)
    ]


def _partitions_deleted_from(
    partitions: list[Partition] | None, cutoffs: list[AppCutoff], engine_is_sqlite: bool
) -> list[str] | None:
    """PostgreSQL: the partitions a row delete may have touched (None: the whole table; SQLite).

    Days dropped meanwhile are in the list too; the VACUUM skips tables that no longer exist.
    """
    if partitions is None or not cutoffs or engine_is_sqlite:
        return None
    latest = max(cutoff.cutoff for cutoff in cutoffs)
    return [p.name for p in partitions if p.lower is None or p.lower < latest] + [DEFAULT_PARTITION]


@dataclass(frozen=True)
class DeletedBatch:
    """What one ``delete_reports_where`` removed: how many reports, from which apps, and empty groups."""

    count: int
    app_ids: list[int]
    groups_removed: int


def delete_reports_where(
    session: Session, condition: Any, limit: int | None = None, keep_empty_groups: bool = False
) -> DeletedBatch:
    """Delete (the oldest ``limit``) matching reports and uncount them, in the caller's transaction.

    Set-based throughout (``aggregates.delete_and_stage`` / ``uncount_staged``): the statements
    sent do not grow with the batch, and no report row comes back to Python.
    """
    count = delete_and_stage(session, condition, limit)
    if not count:
        return DeletedBatch(0, [], 0)
    touched = uncount_staged(session)
    app_ids = staged_app_ids(session)
    clear_staged(session)
    removed = 0 if keep_empty_groups or not touched else remove_empty_groups(session, touched)
    return DeletedBatch(count, app_ids, removed)


ProgressCallback = Callable[[int, int], None]  # (app id, reports removed in this batch)


_LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "::1"}


def backend_cpu_clock(connection: Connection) -> Callable[[], float] | None:
    """PostgreSQL on this machine: a clock of the CPU seconds this connection's backend and the calling
    thread have used; None when the backend is elsewhere or its ``/proc`` entry cannot be read.

    The backend is found by ``pg_backend_pid()``; its entry must name a postgres process and the
    connection must go to this host, so that another machine's pid is never read here.
    """
    if connection.engine.url.host not in _LOCAL_HOSTS:
        return None
    pid = connection.scalar(text("SELECT pg_backend_pid()"))
    connection.commit()  # the purge's batches begin their own transactions
    stat = Path(f"/proc/{pid}/stat")
    try:
        if not Path(f"/proc/{pid}/comm").read_text().startswith("postgres"):
            return None
        ticks = os.sysconf("SC_CLK_TCK")

        def clock() -> float:
            # utime and stime: fields 14 and 15, counted after the ")" that ends the command name.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks + time.thread_time()

        clock()
    except (OSError, ValueError, IndexError):
        return None
    return clock


class ReportPurger:
    """Runs a purge in batches, records it in the audit log and gives the space back."""

    def __init__(
        self,
        db: Database,
        *,
        actor: str,
        batch_size: int | None = None,
        keep_empty_groups: bool = False,
        reclaim: bool = True,
        reclaim_budget: float | None = SQLITE_RECLAIM_BUDGET_SECONDS,
        progress: ProgressCallback | None = None,
        pause_ratio: float | None = None,
    ):
        self.db = db
        self.actor = actor
        self.batch_size = batch_size or (SQLITE_BATCH_SIZE if db.is_sqlite else POSTGRES_BATCH_SIZE)
        self.keep_empty_groups = keep_empty_groups
        self.reclaim = reclaim
        self.reclaim_budget = reclaim_budget  # SQLite: seconds returning free pages; None: all of them
        self.progress = progress
        self.pause_ratio = (
            pause_ratio
            if pause_ratio is not None
            else (SQLITE_PAUSE_RATIO if db.is_sqlite else POSTGRES_PAUSE_RATIO)
        )
        self._cpu_clock: Callable[[], float] | None = None  # set per run (``_connection``)

    def run(
        self,
        scope: PurgeScope,
        default_retention_days: int,
        now: datetime | None = None,
        result: PurgeResult | None = None,
    ) -> PurgeResult:
        """Purge everything in scope; ``result`` (if given) is filled in as batches commit."""
        result = result or PurgeResult(run_id=uuid.uuid4().hex[:12])
        started = time.monotonic()
        before = database_size(self.db.engine)
        with self.db.engine.begin() as connection:
            ensure_report_partitions(connection)  # the days ahead, as migrate does
            partitions = range_partitions(connection) if is_partitioned(connection) else None
        with self.db.sessions() as session:
            cutoffs = app_cutoffs(session, scope, default_retention_days, now)
        events: dict[int, int] = {}
        with self._connection() as connection:
            self._drop_expired_days(connection, partitions or [], cutoffs, scope, result, events)
            self._delete_in_batches(connection, cutoffs, scope, result, events)
            if self._should_reclaim(result):
                reclaim_started = time.monotonic()
                result.space = reclaim_space(
                    self.db.engine,
                    before,
                    connection,
                    budget_seconds=self.reclaim_budget,
                    pause_ratio=self.pause_ratio,
                    report_tables=_partitions_deleted_from(partitions, cutoffs, self.db.is_sqlite),
                )
                result.reclaim_seconds = time.monotonic() - reclaim_started
        result.seconds = time.monotonic() - started
        self._finish_events(events, result)
        return result

    def _should_reclaim(self, result: PurgeResult) -> bool:
        """After deleting anything; on SQLite also to return free pages an earlier run left."""
        if not self.reclaim:
            return False
        return bool(result.total) or (self.db.is_sqlite and sqlite_free_pages(self.db.engine) > 0)

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """The connection every batch runs on; on SQLite with its own page cache, closed at the end."""
        connection = self.db.engine.connect().execution_options(**{WRITE_OPTION: True})
        try:
            if self.db.is_sqlite:
                raw = connection.connection.driver_connection
                raw.execute(f"PRAGMA cache_size=-{SQLITE_PURGE_CACHE_MIB * 1024}")
            else:
                self._cpu_clock = backend_cpu_clock(connection)
            yield connection
        finally:
            self._cpu_clock = None
            if self.db.is_sqlite:
                connection.invalidate()  # the cache goes with it instead of back into the pool
            connection.close()

    def _delete_in_batches(
        self,
        connection: Connection,
        cutoffs: list[AppCutoff],
        scope: PurgeScope,
        result: PurgeResult,
        events: dict[int, int],
    ) -> None:
        for cutoff in cutoffs:
            while True:
                step = self._step_started()
                removed = self._batch(connection, cutoff, scope, result, events)
                if self.progress and removed:
                    self.progress(cutoff.app_id, removed)
                # Not ``< batch_size``: on PostgreSQL a batch ends where its day's partition does.
                if not removed:
                    break
                self._rest(step, result)

    def _step_started(self) -> tuple[float, float | None]:
        """When a step (a batch, a dropped day) starts: wall time, and CPU time where it is measured."""
        return time.monotonic(), self._cpu_clock() if self._cpu_clock else None

    def _rest(self, step: tuple[float, float | None], result: PurgeResult) -> None:
        """Leave the CPU (and SQLite's write lock) to the others for ``pause_ratio`` times what the step took:
        the CPU it used where that is measured (PostgreSQL on this machine), else its wall time."""
        if self.pause_ratio:
            wall_started, cpu_started = step
            if cpu_started is not None and self._cpu_clock:
                used = self._cpu_clock() - cpu_started
            else:
                used = time.monotonic() - wall_started
            rest = self.pause_ratio * max(used, 0.0)
            time.sleep(rest)
            result.rest_seconds += rest

    def _batch(
        self,
        connection: Connection,
        cutoff: AppCutoff,
        scope: PurgeScope,
        result: PurgeResult,
        events: dict[int, int],
    ) -> int:
        with Session(bind=connection, expire_on_commit=False) as session, session.begin():
            deleted = delete_reports_where(
                session, _matching(cutoff, scope), self.batch_size, self.keep_empty_groups
            )
            if not deleted.count:
                return 0
            self._audit(session, cutoff, scope, deleted.count, result, events)
        # Counted only once committed: what the result says is what happened.
        result.deleted[cutoff.app_id] = result.deleted.get(cutoff.app_id, 0) + deleted.count
        result.groups_removed += deleted.groups_removed
        result.batches += 1
        return deleted.count

    def _audit(
        self,
        session: Session,
        cutoff: AppCutoff,
        scope: PurgeScope,
        count: int,
        result: PurgeResult,
        events: dict[int, int],
    ) -> None:
        """Add ``count`` reports of one app to this run's audit event (created by its first batch)."""
        event_id = events.get(cutoff.app_id)
        if event_id is None:
            scope_json = scope.describe() | {"cutoff": _iso(cutoff.cutoff)}
            if cutoff.retention_days is not None:
                scope_json["retention_days"] = cutoff.retention_days
            event = record_audit_event(
                session,
                "purge",
                self.actor,
                app_id=cutoff.app_id,
                scope=scope_json,
                count=count,
                detail={"run": result.run_id, "status": "running"},
            )
            session.flush()
            events[cutoff.app_id] = event.id
        else:
            session.execute(
                update(AuditEvent).where(AuditEvent.id == event_id).values(count=AuditEvent.count + count)
            )

    def _drop_expired_days(
        self,
        connection: Connection,
        partitions: list[Partition],
        cutoffs: list[AppCutoff],
        scope: PurgeScope,
        result: PurgeResult,
        events: dict[int, int],
    ) -> None:
        """Drop each day whose reports are all past their app's cutoff, one per transaction.

        Each is uncounted and dropped in one transaction (``crashsvc.models.partitions``), so a purge
        stopped at any point leaves every counter equal to what remains, as a batch does. Not for
        ``--group`` purges, nor for a day that holds reports of an app outside the purge's scope.
        """
        if scope.group_id is not None or not cutoffs:
            return
        cutoff_of = {cutoff.app_id: cutoff for cutoff in cutoffs}
        latest = max(cutoff.cutoff for cutoff in cutoffs)
        for partition in partitions:
            if partition.upper > latest:
                break
            step = self._step_started()
            dropped = self._drop_day(connection, partition, cutoff_of, scope, result, events)
            if dropped is None:
                continue  # left to the batches
            per_app, removed = dropped
            for app_id, count in per_app.items():
                result.deleted[app_id] = result.deleted.get(app_id, 0) + count
                if self.progress:
                    self.progress(app_id, count)
            result.groups_removed += removed
            result.batches += 1
            result.days_dropped += 1
            self._rest(step, result)

    def _drop_day(
        self,
        connection: Connection,
        partition: Partition,
        cutoff_of: dict[int, AppCutoff],
        scope: PurgeScope,
        result: PurgeResult,
        events: dict[int, int],
    ) -> tuple[dict[int, int], int] | None:
        """Uncount and drop one expired day in one transaction: (reports per app, groups removed).

        None when the day is not all expired, or the table lock was not had in ``DROP_LOCK_ATTEMPTS``.
        """
        for attempt in range(DROP_LOCK_ATTEMPTS):
            try:
                with Session(bind=connection, expire_on_commit=False) as session, session.begin():
                    if not day_expired(partition, partition_app_ids(session, partition), cutoff_of):
                        return None  # most days are decided here, before taking any lock
                    lock_reports_for_drop(session)
                    if not day_expired(partition, partition_app_ids(session, partition), cutoff_of):
                        return None  # a report of another app arrived for that day meanwhile
                    stage_partition(session, partition.name)
                    per_app = staged_counts_per_app(session)
                    touched = uncount_staged(session)
                    drop_partition(session, partition.name)
                    removed = 0
                    if touched and not self.keep_empty_groups:
                        removed = remove_empty_groups(session, touched)
                    for app_id, count in per_app.items():
                        self._audit(session, cutoff_of[app_id], scope, count, result, events)
                return per_app, removed
            except OperationalError as error:
                if not lock_timed_out(error):
                    raise
                time.sleep(min(2.0, 0.25 * 2**attempt))  # a long transaction on the reports: let it end
        return None

    def _finish_events(self, events: dict[int, int], result: PurgeResult) -> None:
        if not events:
            return
        detail: dict[str, Any] = {
            "run": result.run_id,
            "status": "finished",
            "seconds": round(result.seconds, 2),
            "groups_removed": result.groups_removed,
        }
        if result.space is not None:
            detail["reclaimed_bytes"] = result.space.reclaimed
        with self.db.transaction() as session:
            session.execute(
                update(AuditEvent).where(AuditEvent.id.in_(list(events.values()))).values(detail=detail)
            )
