"""Giving the space of deleted rows back: SQLite incremental vacuum, PostgreSQL plain VACUUM.

SQLite databases are created with ``auto_vacuum=INCREMENTAL`` (``crashsvc/db.py``), so freed pages
can be returned to the file system a few thousand at a time (``PRAGMA incremental_vacuum(N)``),
each step a short write transaction that ingestion interleaves with. A full ``VACUUM`` would copy
the whole database while holding the write lock. On PostgreSQL a plain ``VACUUM`` (never ``FULL``,
which locks the table) marks the space reusable; it runs outside a transaction and returns to the
operating system only empty pages at the end of a table.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

VACUUM_STEP_PAGES = 2048  # 8 MiB of 4 KiB pages per write transaction
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
    """Database size before and after a purge, in bytes; ``note`` explains what the numbers mean."""

    before: int
    after: int = 0
    note: str = ""

    @property
    def reclaimed(self) -> int:
        return max(self.before - self.after, 0)

    def as_dict(self) -> dict[str, int | str]:
        return {
            "before_bytes": self.before,
            "after_bytes": self.after,
            "reclaimed_bytes": self.reclaimed,
            "note": self.note,
        }


def sqlite_auto_vacuum(engine: Engine) -> int:
    """0 none, 1 full, 2 incremental."""
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA auto_vacuum").scalar() or 0)


def database_size(engine: Engine) -> int:
    """SQLite: page_count * page_size; PostgreSQL: ``pg_total_relation_size`` of the purged tables."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar() or 0
            size = connection.exec_driver_sql("PRAGMA page_size").scalar() or 0
            return int(pages) * int(size)
        total = 0
        for table in PURGED_TABLES:
            total += int(
                connection.execute(
                    text("SELECT COALESCE(pg_total_relation_size(to_regclass(:t)), 0)"), {"t": table}
                ).scalar()
                or 0
            )
        return total


def reclaim_space(engine: Engine, before: int, connection: Connection | None = None) -> SpaceReport:
    """Return freed space to the file system (SQLite) or make it reusable (PostgreSQL).

    On SQLite ``connection`` (the purge's own, with its large page cache) does the work if given.
    """
    if engine.dialect.name == "sqlite":
        return _sqlite_reclaim(engine, before, connection)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in PURGED_TABLES:
            exists = connection.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": table}).scalar()
            if exists:
                connection.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')
    return SpaceReport(
        before,
        database_size(engine),
        "PostgreSQL VACUUM: freed space is reusable by new reports; only trailing empty "
        "pages go back to the OS",
    )


def _sqlite_reclaim(engine: Engine, before: int, connection: Connection | None) -> SpaceReport:
    if sqlite_auto_vacuum(engine) != 2:
        return SpaceReport(
            before,
            database_size(engine),
            "auto_vacuum is not INCREMENTAL on this database (created before it was set): "
            "freed pages are reused but the file does not shrink; run VACUUM once offline",
        )
    with engine.connect() as own:
        raw = (connection or own).connection.driver_connection
        while True:
            free = raw.execute("PRAGMA freelist_count").fetchone()[0]
            if not free:
                break
            # Each call is its own short write transaction; fetchall() steps the pragma to the end.
            raw.execute(f"PRAGMA incremental_vacuum({min(free, VACUUM_STEP_PAGES)})").fetchall()
            raw.commit()
        # Shrink the WAL as well; while readers hold it, the checkpoint gives up without waiting.
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return SpaceReport(
        before, database_size(engine), "SQLite incremental vacuum: the file shrank by this much"
    )
