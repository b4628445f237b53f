"""Giving the space of deleted rows back: SQLite incremental vacuum, PostgreSQL plain VACUUM.

On SQLite a deleted row's pages go to the file's free list at once: new reports reuse them, the
file does not grow. Returning them to the file system is a second, costly step: databases are
created with ``auto_vacuum=INCREMENTAL`` (``crashsvc/db.py``) and ``PRAGMA incremental_vacuum(N)``
shrinks the file by N pages, moving every page still in use from the end of the file into a free
slot first. On time-ordered data the freed pages are at the front and the newest reports at the end,
so that moves every surviving page (12-46 s for 1M of 2M reports, beside a writer), and the next
days' reports would refill the space anyway. So it runs in short write transactions (2,048 pages
each) within a time budget per purge (``SQLITE_RECLAIM_BUDGET_SECONDS``); what is left stays free
and reusable inside the file, and the next purge (the daily retention run) or ``budget=None``
(``crashsvc purge --reclaim full``) returns it. A full ``VACUUM`` would copy the whole database while
holding the write lock. On PostgreSQL a plain ``VACUUM`` (never ``FULL``, which locks the table)
marks the space reusable; it runs outside a transaction and returns to the operating system only
empty pages at the end of a table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

VACUUM_STEP_PAGES = 2048  # 8 MiB of 4 KiB pages per write transaction
# Wall time (steps and the rests between them) one purge spends returning free pages to the file
# system on SQLite; a step already started finishes, so a run may overrun by one step (up to ~1 s
# beside a busy writer: 11.2 s in bench/purge.py).
SQLITE_RECLAIM_BUDGET_SECONDS = 10.0
PURGED_TABLES = (
    "reports",
    "report_missing_symbols",
    "groups",
    "group_day_counts",
    "group_breakdowns",
    "group_installs",
    "symbol_files",
)


@dataclass
class SpaceReport:
    """Database size before and after a purge, in bytes; ``note`` explains what the numbers mean.

    ``reclaimed`` is what went back to the file system. On SQLite ``free_before_reclaim`` is the
    free space inside the file once the reports were deleted (reusable by new reports at once) and
    ``free_after`` what is still free there for a later run to return; None on PostgreSQL.
    """

    before: int
    after: int = 0
    note: str = ""
    free_before_reclaim: int | None = None
    free_after: int | None = None

    @property
    def reclaimed(self) -> int:
        return max(self.before - self.after, 0)

    def as_dict(self) -> dict[str, int | str | None]:
        return {
            "before_bytes": self.before,
            "after_bytes": self.after,
            "reclaimed_bytes": self.reclaimed,
            "free_before_reclaim_bytes": self.free_before_reclaim,
            "free_after_bytes": self.free_after,
            "note": self.note,
        }


def sqlite_auto_vacuum(engine: Engine) -> int:
    """0 none, 1 full, 2 incremental."""
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA auto_vacuum").scalar() or 0)


def database_size(engine: Engine) -> int:
    """SQLite: page_count * page_size; PostgreSQL: ``pg_total_relation_size`` of the purged tables.

    A partitioned table (the reports on PostgreSQL) has no storage of its own: its partitions are summed.
    """
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar() or 0
            size = connection.exec_driver_sql("PRAGMA page_size").scalar() or 0
            return int(pages) * int(size)
        total = 0
        for table in PURGED_TABLES:
            total += int(
                connection.execute(
                    text(
                        "SELECT COALESCE(sum(pg_total_relation_size(relid)), 0) "
                        "FROM pg_partition_tree(to_regclass(:t))"
                    ),
                    {"t": table},
                ).scalar()
                or 0
            )
        return total


def sqlite_free_pages(engine: Engine) -> int:
    """Pages on the SQLite file's free list: space inside the file that new rows reuse."""
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)


def reclaim_space(
    engine: Engine,
    before: int,
    connection: Connection | None = None,
    *,
    budget_seconds: float | None = SQLITE_RECLAIM_BUDGET_SECONDS,
    pause_ratio: float = 0.0,
    report_tables: list[str] | None = None,
) -> SpaceReport:
    """Return freed space to the file system (SQLite) or make it reusable (PostgreSQL).

    On SQLite ``connection`` (the purge's own, with its large page cache) does the work if given,
    for at most ``budget_seconds`` (None: until the free list is empty), resting ``pause_ratio``
    times each step's duration after it. PostgreSQL ignores both: its VACUUM runs to the end, on
    ``report_tables`` instead of all the reports when given (the partitions rows were deleted from;
    a dropped day leaves nothing to vacuum, and the days after the cutoff lost nothing).
    """
    if engine.dialect.name == "sqlite":
        return _sqlite_reclaim(engine, before, connection, budget_seconds, pause_ratio)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        tables = PURGED_TABLES if report_tables is None else [*report_tables, *PURGED_TABLES[1:]]
        for table in tables:
            exists = connection.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": table}).scalar()
            if exists:
                connection.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')
    return SpaceReport(
        before,
        database_size(engine),
        "PostgreSQL VACUUM: freed space is reusable by new reports; only trailing empty "
        "pages go back to the OS",
    )


def _sqlite_reclaim(
    engine: Engine,
    before: int,
    connection: Connection | None,
    budget_seconds: float | None,
    pause_ratio: float,
) -> SpaceReport:
    with engine.connect() as own:
        raw = (connection or own).connection.driver_connection
        page_size = raw.execute("PRAGMA page_size").fetchone()[0]
        free_before = raw.execute("PRAGMA freelist_count").fetchone()[0] * page_size
        if sqlite_auto_vacuum(engine) != 2:
            return SpaceReport(
                before,
                database_size(engine),
                "auto_vacuum is not INCREMENTAL on this database (created before it was set): "
                "freed pages are reused but the file does not shrink; run VACUUM once offline",
                free_before,
                free_before,
            )
        started = time.monotonic()
        while True:
            free = raw.execute("PRAGMA freelist_count").fetchone()[0]
            if not free or (budget_seconds is not None and time.monotonic() - started >= budget_seconds):
                break
            step_started = time.monotonic()
            # Each call is its own short write transaction; fetchall() steps the pragma to the end.
            raw.execute(f"PRAGMA incremental_vacuum({min(free, VACUUM_STEP_PAGES)})").fetchall()
            raw.commit()
            if pause_ratio:
                time.sleep(pause_ratio * (time.monotonic() - step_started))
        free_after = free * page_size
        # Shrink the WAL as well; while readers hold it, the checkpoint gives up without waiting.
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    if free_after:
        note = (
            "SQLite: the file shrank by the reclaimed bytes within this run's time budget; the rest of "
            "the freed space stays free inside the file, reused by new reports, and the next purge "
            "(or --reclaim full) returns it"
        )
    else:
        note = "SQLite incremental vacuum: all freed space went back to the file system"
    return SpaceReport(before, database_size(engine), note, free_before, free_after)
