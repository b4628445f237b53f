"""PostgreSQL: the reports table is partitioned by UTC day of ``received_at``, so a purge drops whole days.

Why: a purge that deletes rows pays for every row in the table and in each of its indexes, and then
VACUUM pays again; 1M of 2M reports took 55–65 s of deleting on a 2-core host beside ingestion
(docs/performance.md, Purge). A day whose reports are all past their cutoff is instead uncounted
from one scan (the same set-based statements as a batch, ``aggregates.uncount_staged``) and dropped:
its files are unlinked, nothing is left for VACUUM. What is not a whole expired day (the day the
cutoff falls in, ``--group`` purges, an app's purge on a day other apps share, the partitions named
below) is deleted row by row as before. SQLite has no partitions and always deletes rows.

Layout (migration 0007):

- ``reports_legacy``: every report received before the day the migration ran ended (``MINVALUE`` up
  to that midnight), if there were any. It is dropped whole once all of it is past the cutoff, row
  by row until then.
- ``reports_pYYYYMMDD``: one per UTC day, created ahead (``PARTITION_DAYS_AHEAD``) by
  ``crashsvc db upgrade`` and by every purge run, including the workers' daily retention purge.
- ``reports_default``: a report for a day without a partition (the purges stopped for longer than
  the days ahead). Purged row by row; a day that has rows there gets no partition of its own later.

PostgreSQL requires the partition key in every unique index, so the primary key is
``(id, received_at)``; ids stay unique because the store checks for the id under an advisory lock
(``workers.store.claim_report_ids``). ``report_missing_symbols`` loses its foreign key for the same
reason: its rows go with their report explicitly (``aggregates.delete_and_stage``, and here).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

log = logging.getLogger("crashsvc.purge")

PARENT = "reports"
LEGACY = "reports_legacy"
DEFAULT = "reports_default"
DAILY_PREFIX = "reports_p"
DAILY_NAME = re.compile(r"\Areports_p(\d{8})\Z")
# Why two weeks: partitions exist before their day comes even if the daily purge (which also
# creates them) stops for that long; past that, new reports fall into the default partition.
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


@dataclass(frozen=True, order=True)
class Partition:
    """One partition of the reports: every report in it was received before ``upper`` (None: default)."""

    upper: datetime
    name: str
    lower: datetime | None = None  # None: MINVALUE (the legacy partition)

    def covers(self, moment: datetime) -> bool:
        return (self.lower is None or self.lower <= moment) and moment < self.upper


def is_partitioned(connection: Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    return bool(
        connection.scalar(
            text("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(:parent))"),
            {"parent": PARENT},
        )
    )


def range_partitions(connection: Connection) -> list[Partition]:
    """The partitions with an upper bound (every one but the default), oldest first."""
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


def ensure_report_partitions(
    connection: Connection, today: date | None = None, first_day: date | None = None
) -> list[str]:
    """Create the missing daily partitions up to ``PARTITION_DAYS_AHEAD`` days past today.

    From the newest partition's end (or today), or from ``first_day`` when given (a bench or a
    test that stores reports of past days). Returns the names created. A day another partition
    covers is left alone, and so is a day that already has reports in the default partition
    (PostgreSQL would refuse it; they are purged row by row). No-op on SQLite.
    """
    if not is_partitioned(connection):
        return []
    today = today or datetime.now(UTC).date()
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MAINTENANCE_LOCK})
    existing = range_partitions(connection)
    day = first_day or (existing[-1].upper.date() if existing else today)
    created = []
    while day <= today + timedelta(days=PARTITION_DAYS_AHEAD):
        lower = datetime(day.year, day.month, day.day, tzinfo=UTC)
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


def lock_timed_out(error: OperationalError) -> bool:
    """Whether PostgreSQL gave up waiting for a lock (``lock_timeout``), rather than failing otherwise."""
    return getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE


def partition_app_ids(session: Session, partition: Partition) -> set[int]:
    return set(session.scalars(text(f"SELECT DISTINCT app_id FROM {partition.name}")))


def lock_reports_for_drop(session: Session) -> None:
    """Take the lock a partition drop needs before any other: the reports table's, exclusively.

    Why first: dropping a partition locks its parent table exclusively. Asked for after the uncount
    has locked group rows, it would wait for a worker that inserted a report (holding the table)
    and now waits for one of those group rows: a deadlock. Taken first, the drop only waits for
    the transactions already running on the reports, and blocks new ones until it commits
    (the scan and the uncount of one day).
    """
    session.execute(text(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT_MS}ms'"))
    session.execute(text(f"LOCK TABLE {PARENT} IN ACCESS EXCLUSIVE MODE"))
