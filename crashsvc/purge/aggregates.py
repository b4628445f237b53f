"""Removing many reports from their groups' aggregates at once, and checking aggregates against reports.

``crashsvc.groups.counters.uncount_report`` removes one report with five statements; a purge of a
million reports cannot afford five million, nor a round trip per key. A batch is therefore staged
in a temporary table (``PURGE_BATCH``: the counted columns of the reports being deleted, already
reduced to their keys — UTC day, truncated breakdown values) and uncounted with one set-based
statement per aggregate table: ``UPDATE … FROM (SELECT key, count(*) … GROUP BY key)``, then one
``DELETE`` of the keys this batch brought to zero. Only a per-group summary (a few hundred rows at
most) comes back to Python. The semantics are those of ``uncount_report``: first/last seen and
versions stay (the bug *was* seen then), an install leaves a group with its last report there, and a
group whose last report left is marked ``emptied_at``. Unlike it, rows that reach zero are
deleted, so what remains equals ``recompute_group``'s rebuild (``aggregate_drift``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    exists,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import Session

from crashsvc.groups.counters import BREAKDOWN_LIMIT, breakdown_values, recompute_group
from crashsvc.models import Group, GroupBreakdown, GroupDayCount, GroupInstall, Report, ReportMissingSymbol
from crashsvc.models.base import UtcDateTime, utcnow
from crashsvc.models.groups import BREAKDOWN_DIMENSIONS
from crashsvc.models.partitions import on_table, partition_table, writable_report_tables

GROUPS = Group.__table__
DAYS = GroupDayCount.__table__
BREAKDOWNS = GroupBreakdown.__table__
INSTALLS = GroupInstall.__table__
REPORTS = Report.__table__
MISSING_SYMBOLS = ReportMissingSymbol.__table__

# The report columns uncounting needs, nothing of the contents (drift checks read the same).
COUNTED_COLUMNS = (
    REPORTS.c.id,
    REPORTS.c.app_id,
    REPORTS.c.group_id,
    REPORTS.c.received_at,
    REPORTS.c.app_version,
    REPORTS.c.os_name,
    REPORTS.c.os_version,
    REPORTS.c.device_model,
    REPORTS.c.install_hash,
)
KEY_CHUNK = 2000  # keys per IN (...): well under SQLite's bound-parameter limit

# One batch of reports being deleted, per connection: ``rid`` is SQLite's rowid (the delete then
# needs no lookup by the text primary key; unused on PostgreSQL, where the delete fills the table).
PURGE_BATCH = Table(
    "purge_batch",
    MetaData(),
    Column("rid", Integer),
    Column("app_id", Integer),
    Column("group_id", Integer),
    Column("day", Date),
    Column("app_version", String),
    Column("os_name", String),
    Column("os_version", String),
    Column("device_model", String),
    Column("install_hash", String),
    prefixes=["TEMPORARY"],
)
_CREATE_BATCH = {
    # ON COMMIT DELETE ROWS: PostgreSQL empties it at every commit; SQLite is emptied by hand.
    "postgresql": "CREATE TEMPORARY TABLE IF NOT EXISTS purge_batch (rid bigint, app_id integer, "
    "group_id integer, day date, app_version text, os_name text, os_version text, device_model text, "
    "install_hash text) ON COMMIT DELETE ROWS",
    "sqlite": "CREATE TEMPORARY TABLE IF NOT EXISTS purge_batch (rid INTEGER, app_id INTEGER, "
    "group_id INTEGER, day TEXT, app_version TEXT, os_name TEXT, os_version TEXT, device_model TEXT, "
    "install_hash TEXT)",
}
# SQLite: one aggregate table's per-key amounts of the staged batch (``_decrement_sql``); a key is
# (group_id, key1) or (group_id, key1, key2), the columns untyped so each compares as its table's.
_CREATE_AMOUNTS = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS purge_amounts (group_id INTEGER, key1, key2, n INTEGER)"
)

# Per-key decrements of the staged batch: reports without a group, install or value count nowhere
# (``breakdown_values``: empty values are not counted).
_INSTALL_KEYS = (
    "SELECT group_id, install_hash, count(*) AS n FROM purge_batch "
    "WHERE group_id IS NOT NULL AND install_hash <> '' GROUP BY group_id, install_hash"
)
_DAY_KEYS = (
    "SELECT group_id, day, count(*) AS n FROM purge_batch WHERE group_id IS NOT NULL GROUP BY group_id, day"
)
_BREAKDOWN_KEYS = " UNION ALL ".join(
    f"SELECT group_id, '{dimension}' AS dimension, {dimension} AS value, count(*) AS n FROM purge_batch "
    f"WHERE group_id IS NOT NULL AND {dimension} <> '' GROUP BY group_id, {dimension}"
    for dimension in BREAKDOWN_DIMENSIONS
)
_DECREMENTS = [
    # (table, key columns, per-key decrements); ``count = count - n`` is atomic like the increments.
    ("group_installs", ("group_id", "install_hash"), _INSTALL_KEYS),
    ("group_day_counts", ("group_id", "day"), _DAY_KEYS),
    ("group_breakdowns", ("group_id", "dimension", "value"), _BREAKDOWN_KEYS),
]
_GROUP_TOTALS = text(
    "SELECT group_id, count(*) FROM purge_batch WHERE group_id IS NOT NULL GROUP BY group_id ORDER BY group_id"
)
_UNCOUNT_GROUP = text(
    "UPDATE groups SET count = count - :n, affected_installs = affected_installs - :gone, "
    "emptied_at = CASE WHEN count <= :n THEN :now ELSE emptied_at END WHERE id = :group_id"
).bindparams(bindparam("now", type_=UtcDateTime()))


def _decrement_sql(table: str, keys: tuple[str, ...], amounts: str) -> dict[str, tuple[Any, ...]]:
    """Per dialect: the statements subtracting the per-key amounts; the last deletes the keys left at zero.

    Both the update and the delete join the staged keys to the table's primary key (one probe per
    key, whatever the group's size). Only keys this batch decremented are deleted, so a row another
    writer brought back above zero meanwhile is untouched; the delete returns each removed row's group.
    """
    match = " AND ".join(f"{table}.{key} = b.{key}" for key in keys)
    # SQLite has no DELETE … USING; a row-value IN would probe the group only, not the key. The
    # amounts go to PURGE_AMOUNTS first: computed inside both statements they cost two sorts of the
    # whole batch (half of the uncount's time: 0.22 of 0.48 s per 100,000 reports).
    slots = ("group_id", "key1", "key2")[: len(keys)]
    by_slot = " AND ".join(f"{table}.{key} = a.{slot}" for key, slot in zip(keys, slots, strict=True))
    return {
        "postgresql": (
            text(f"UPDATE {table} SET count = {table}.count - b.n FROM ({amounts}) AS b WHERE {match}"),
            text(
                f"DELETE FROM {table} USING ({amounts}) AS b WHERE {match} AND {table}.count <= 0 "
                f"RETURNING {table}.group_id"
            ),
        ),
        "sqlite": (
            text("DELETE FROM purge_amounts"),
            text(f"INSERT INTO purge_amounts ({', '.join(slots)}, n) SELECT * FROM ({amounts})"),
            text(f"UPDATE {table} SET count = {table}.count - a.n FROM purge_amounts AS a WHERE {by_slot}"),
            text(
                f"DELETE FROM {table} WHERE rowid IN (SELECT {table}.rowid FROM purge_amounts AS a "
                f"JOIN {table} ON {by_slot} WHERE {table}.count <= 0) RETURNING group_id"
            ),
        ),
    }


_DECREMENT_SQL = [_decrement_sql(*spec) for spec in _DECREMENTS]


def _utc_day(moment: datetime) -> Any:
    return moment.date()  # UtcDateTime returns aware UTC datetimes on both backends


def _chunks(items: Sequence[Any], size: int = KEY_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _staged_columns(dialect: str, source: Any) -> list[Any]:
    """The batch columns computed from ``source`` (the reports table, or PostgreSQL's deleted rows)."""
    if dialect == "sqlite":
        # SQLite stores UtcDateTime as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): the day is its first ten.
        day = func.substr(source.c.received_at, 1, 10)
    else:
        day = func.date(func.timezone("UTC", source.c.received_at))
    values = [func.substr(source.c[name], 1, BREAKDOWN_LIMIT) for name in BREAKDOWN_DIMENSIONS]
    return [source.c.app_id, source.c.group_id, day, *values, source.c.install_hash]


def delete_and_stage(session: Session, condition: Any, limit: int | None = None) -> int:
    """Delete (the oldest ``limit``) reports matching ``condition`` and stage them in ``PURGE_BATCH``.

    Returns how many went. The caller's transaction must go on to ``uncount_staged``.
    """
    dialect = session.get_bind().dialect.name
    session.execute(text(_CREATE_BATCH[dialect]))
    if dialect == "sqlite":
        session.execute(text(_CREATE_AMOUNTS))
    session.execute(delete(PURGE_BATCH))  # empty unless this transaction staged a batch already
    staged = [c.name for c in PURGE_BATCH.c if c.name != "rid"]
    if dialect == "sqlite":
        return _delete_and_stage_sqlite(session, condition, limit, staged)
    # PostgreSQL: the reports are partitioned by day (``crashsvc.models.partitions``), and a batch is
    # taken from one partition, the one holding the oldest matching report. Deleted by ``ctid``, not by
    # the key: ``id IN (SELECT id … LIMIT n)`` is planned as a hash semi-join over a sequential scan of
    # the whole table, for every batch (1.3 s per 50,000 of 2M rows, vs 0.18 s for a TID scan); and
    # within one partition, because a ``ctid`` names a row of one table only. A row updated since the
    # select has a new ctid: the delete re-checks it, skips it, and the next batch takes it; what is
    # staged is what went. The report's missing-symbol rows go in the same statement (no foreign key
    # can point at a partitioned table's id alone).
    partition = session.scalar(
        select(literal_column("tableoid::regclass::text"))
        .select_from(REPORTS)
        .where(condition)
        .order_by(REPORTS.c.received_at)
        .limit(1)
    )
    if partition is None:
        return 0
    target = partition_table(partition)
    condition = on_table(condition, target)
    chosen = select(literal_column("ctid")).select_from(target).where(condition).correlate(None)
    if limit is not None:
        chosen = chosen.order_by(target.c.received_at).limit(limit)
    gone = (
        delete(target)
        .where(literal_column(f"{partition}.ctid") == func.any(func.array(chosen.scalar_subquery())))
        .returning(*(target.c[column.name] for column in COUNTED_COLUMNS))
        .cte("gone")
    )
    missing = (
        delete(MISSING_SYMBOLS).where(MISSING_SYMBOLS.c.report_id.in_(select(gone.c.id))).cte("gone_missing")
    )
    session.execute(
        PURGE_BATCH.insert().from_select(staged, select(*_staged_columns(dialect, gone))).add_cte(missing)
    )
    # psycopg reports no row count for an INSERT fed by a data-modifying WITH: count the stage.
    return session.scalar(select(func.count()).select_from(PURGE_BATCH)) or 0


def _delete_and_stage_sqlite(session: Session, condition: Any, limit: int | None, staged: list[str]) -> int:
    """SQLite: the same, one day's table at a time (a rowid names a row of one table only).

    With a ``limit``, from the oldest day that has a matching report (a batch ends where its day
    does); without one (deletion by id), from every day. The reports' missing-symbol rows go first.
    """
    removed = 0
    for target in writable_report_tables(session):
        target_condition = on_table(condition, target)
        chosen = select(literal_column(f"{target.name}.rowid"), *_staged_columns("sqlite", target)).where(
            target_condition
        )
        if limit is not None:
            chosen = chosen.order_by(target.c.received_at).limit(limit)
        if session.execute(PURGE_BATCH.insert().from_select(["rid", *staged], chosen)).rowcount == 0:
            continue
        in_batch = text("rowid IN (SELECT rid FROM purge_batch WHERE rid IS NOT NULL)")
        session.execute(
            delete(MISSING_SYMBOLS).where(
                MISSING_SYMBOLS.c.report_id.in_(select(target.c.id).where(in_batch))
            )
        )
        removed += session.execute(delete(target).where(in_batch)).rowcount
        session.execute(text("UPDATE purge_batch SET rid = NULL"))  # the next day's rowids are its own
        if limit is not None:
            break
    return removed


def stage_partition(session: Session, partition: str) -> int:
    """Stage every report of one partition in ``PURGE_BATCH`` and delete their missing-symbol rows.

    Before the partition is dropped, in the same transaction; returns how many were staged.
    """
    dialect = session.get_bind().dialect.name
    session.execute(text(_CREATE_BATCH[dialect]))
    if dialect == "sqlite":
        session.execute(text(_CREATE_AMOUNTS))
    session.execute(delete(PURGE_BATCH))
    target = partition_table(partition)
    staged = [c.name for c in PURGE_BATCH.c if c.name != "rid"]
    session.execute(PURGE_BATCH.insert().from_select(staged, select(*_staged_columns(dialect, target))))
    session.execute(delete(MISSING_SYMBOLS).where(MISSING_SYMBOLS.c.report_id.in_(select(target.c.id))))
    return session.scalar(select(func.count()).select_from(PURGE_BATCH)) or 0


def uncount_staged(session: Session) -> set[int]:
    """Remove the staged batch (``delete_and_stage``) from its groups' aggregates; the group ids touched.

    Runs in the transaction that deleted the reports: a batch is deleted and uncounted together or
    not at all.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # Temporary tables get no autovacuum statistics. A coarse sample is enough to plan the
        # GROUP BYs below: at the default target ANALYZE read 30,000 rows per batch, 0.1 s of a
        # day's 0.6 s (2 s of a 1M-report purge), at 10 it reads 3,000.
        session.execute(text("SET LOCAL default_statistics_target = 10"))
        session.execute(text("ANALYZE purge_batch"))
    # Tables are taken in the order the worker counts in (installs, groups, days, breakdowns;
    # crashsvc/groups/counters.py), so a purge and a worker on the same group cannot deadlock.
    installs_sql, *later_tables = _DECREMENT_SQL
    *update_sql, delete_sql = installs_sql[dialect]
    for statement in update_sql:
        session.execute(statement)
    gone_installs: Counter[int] = Counter(session.execute(delete_sql).scalars())  # installs that left a group
    totals = session.execute(_GROUP_TOTALS).all()
    if totals:
        now = utcnow()
        session.execute(
            _UNCOUNT_GROUP,
            [{"group_id": gid, "n": n, "gone": gone_installs[gid], "now": now} for gid, n in totals],
        )
    for statements in later_tables:
        *update_sql, delete_sql = statements[dialect]
        for statement in update_sql:
            session.execute(statement)
        session.execute(delete_sql).scalars().all()
    return {gid for gid, _n in totals}


def clear_staged(session: Session) -> None:
    """Empty the staged batch (PostgreSQL does at commit; SQLite keeps temporary rows until told)."""
    session.execute(delete(PURGE_BATCH))


def staged_app_ids(session: Session) -> list[int]:
    return list(session.scalars(select(PURGE_BATCH.c.app_id).distinct()))


def staged_counts_per_app(session: Session) -> dict[int, int]:
    query = (
        select(PURGE_BATCH.c.app_id, func.count())
        .group_by(PURGE_BATCH.c.app_id)
        .order_by(PURGE_BATCH.c.app_id)
    )
    return {app_id: count for app_id, count in session.execute(query)}


def remove_empty_groups(session: Session, group_ids: Iterable[int]) -> int:
    """Delete groups among ``group_ids`` with no report left; a group others were merged into stays."""
    ids = sorted(group_ids)
    removed = 0
    merged_into_it = select(GROUPS.c.id).where(GROUPS.c.merged_into_id.isnot(None)).scalar_subquery()
    for chunk in _chunks(ids, 500):
        has_reports = exists().where(REPORTS.c.group_id == GROUPS.c.id)
        removed += (
            session.execute(
                delete(GROUPS).where(
                    GROUPS.c.id.in_(chunk),
                    GROUPS.c.count <= 0,
                    ~has_reports,
                    GROUPS.c.id.not_in(merged_into_it),
                )
            ).rowcount
            or 0
        )
    return removed


def recount_group(session: Session, group_id: int) -> None:
    """Recompute every aggregate of a group from its remaining reports (``crashsvc groups recount``)."""
    session.execute(select(GROUPS.c.id).where(GROUPS.c.id == group_id).with_for_update())
    recompute_group(session, group_id)


def _stored(session: Session, group_id: int) -> dict[str, Any]:
    group = session.execute(
        select(GROUPS.c.count, GROUPS.c.affected_installs).where(GROUPS.c.id == group_id)
    ).one()
    return {
        "count": group.count,
        "affected_installs": group.affected_installs,
        "days": {
            str(day): n
            for day, n in session.execute(
                select(DAYS.c.day, DAYS.c.count).where(DAYS.c.group_id == group_id, DAYS.c.count != 0)
            )
        },
        "breakdowns": {
            f"{d}={v}": n
            for d, v, n in session.execute(
                select(BREAKDOWNS.c.dimension, BREAKDOWNS.c.value, BREAKDOWNS.c.count).where(
                    BREAKDOWNS.c.group_id == group_id, BREAKDOWNS.c.count != 0
                )
            )
        },
        "installs": {
            h: n
            for h, n in session.execute(
                select(INSTALLS.c.install_hash, INSTALLS.c.count).where(INSTALLS.c.group_id == group_id)
            )
        },
    }


def _expected(session: Session, group_id: int) -> dict[str, Any]:
    rows = session.execute(select(*COUNTED_COLUMNS).where(REPORTS.c.group_id == group_id)).all()
    breakdowns: Counter[str] = Counter()
    for row in rows:
        breakdowns.update(f"{d}={v}" for d, v in breakdown_values(row))
    installs = Counter(row.install_hash for row in rows if row.install_hash)
    return {
        "count": len(rows),
        "affected_installs": len(installs),
        "days": dict(Counter(str(_utc_day(row.received_at)) for row in rows)),
        "breakdowns": dict(breakdowns),
        "installs": dict(installs),
    }


def aggregate_drift(session: Session, group_id: int) -> dict[str, tuple[Any, Any]]:
    """Aggregates of a group that differ from a recount of its reports: ``{name: (stored, expected)}``.

    First/last seen and versions are not compared: they record history, which a purge keeps.
    """
    stored, expected = _stored(session, group_id), _expected(session, group_id)
    return {name: (stored[name], expected[name]) for name in stored if stored[name] != expected[name]}


def group_ids_of_app(session: Session, app_id: int | None) -> list[int]:
    query = select(GROUPS.c.id).order_by(GROUPS.c.id)
    if app_id is not None:
        query = query.where(GROUPS.c.app_id == app_id)
    return list(session.scalars(query))


def count_reports(session: Session, group_id: int) -> int:
    return (
        session.scalar(select(func.count()).select_from(REPORTS).where(REPORTS.c.group_id == group_id)) or 0
    )
