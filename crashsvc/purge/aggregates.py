"""Removing many reports from their groups' aggregates at once, and checking aggregates against reports.

``crashsvc.groups.counters.uncount_report`` removes one report with five statements; a purge of a
million reports cannot afford five million. ``uncount_reports`` takes the rows a batch ``DELETE …
RETURNING`` gave back, adds them up per key in Python (group; group and day; group, dimension and
value; group and install) and sends one atomic ``count = count - n`` per key, as an executemany.
The semantics are those of ``uncount_report``: first/last seen and versions stay (the bug *was*
seen then), and an install leaves a group with its last report there. Unlike it, rows that reach
zero are deleted, so what remains equals ``recompute_group``'s rebuild (``aggregate_drift``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, select, update
from sqlalchemy.orm import Session

from crashsvc.groups.counters import breakdown_values, recompute_group
from crashsvc.models import Group, GroupBreakdown, GroupDayCount, GroupInstall, Report

GROUPS = Group.__table__
DAYS = GroupDayCount.__table__
BREAKDOWNS = GroupBreakdown.__table__
INSTALLS = GroupInstall.__table__
REPORTS = Report.__table__

# The report columns a batch delete returns: everything uncounting needs, nothing of the contents.
COUNTED_COLUMNS = (
    REPORTS.c.id,
    REPORTS.c.app_id,
    REPORTS.c.group_id,
    REPORTS.c.received_at,
    REPORTS.c.app_version,
    REPORTS.c.os_version,
    REPORTS.c.device_model,
    REPORTS.c.install_hash,
)
KEY_CHUNK = 2000  # keys per tuple IN (...): well under SQLite's bound-parameter limit


def _chunks(items: Sequence[Any], size: int = KEY_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _utc_day(moment: datetime) -> Any:
    return moment.date()  # UtcDateTime returns aware UTC datetimes on both backends


def uncount_reports(session: Session, rows: Sequence[Any]) -> set[int]:
    """Remove deleted reports (rows with ``COUNTED_COLUMNS``) from their groups; returns the group ids touched.

    Runs in the caller's transaction, which must be the one that deleted the rows: a batch is
    deleted and uncounted together or not at all.
    """
    per_group: Counter[int] = Counter()
    per_day: Counter[tuple[int, Any]] = Counter()
    per_value: Counter[tuple[int, str, str]] = Counter()
    per_install: Counter[tuple[int, str]] = Counter()
    for row in rows:
        if row.group_id is None:
            continue
        per_group[row.group_id] += 1
        per_day[(row.group_id, _utc_day(row.received_at))] += 1
        for dimension, value in breakdown_values(row):
            per_value[(row.group_id, dimension, value)] += 1
        if row.install_hash:
            per_install[(row.group_id, row.install_hash)] += 1
    if not per_group:
        return set()

    gone_installs = _decrement(session, INSTALLS, (INSTALLS.c.group_id, INSTALLS.c.install_hash), per_install)
    _decrement(session, DAYS, (DAYS.c.group_id, DAYS.c.day), per_day)
    _decrement(
        session, BREAKDOWNS, (BREAKDOWNS.c.group_id, BREAKDOWNS.c.dimension, BREAKDOWNS.c.value), per_value
    )
    session.execute(
        update(GROUPS)
        .where(GROUPS.c.id == bindparam("g_id"))
        .values(
            count=GROUPS.c.count - bindparam("g_n"),
            affected_installs=GROUPS.c.affected_installs - bindparam("g_gone"),
        ),
        [
            {"g_id": group_id, "g_n": n, "g_gone": gone_installs[group_id]}
            for group_id, n in per_group.items()
        ],
    )
    return set(per_group)


def _decrement(
    session: Session, table: Any, key_columns: tuple[Any, ...], amounts: Counter[Any]
) -> Counter[int]:
    """``count = count - n`` per key (one executemany), then delete keys at zero; zeroed keys per group."""
    if not amounts:
        return Counter()
    names = [f"k_{column.name}" for column in key_columns]
    condition = [column == bindparam(name) for column, name in zip(key_columns, names, strict=True)]
    session.execute(
        update(table).where(*condition).values(count=table.c.count - bindparam("k_n")),
        [dict(zip(names, key, strict=True), k_n=n) for key, n in amounts.items()],
    )
    # Zeroed keys go, one DELETE per key prefix (group, or group and dimension) with the last key
    # column IN a list: both databases probe the primary key for that, where a row-value IN over
    # whole keys made SQLite scan the table. RETURNING gives exactly the rows this statement
    # removed, so a concurrent upsert that brought a key back to 1 is neither deleted nor miscounted.
    by_prefix: dict[tuple[Any, ...], list[Any]] = {}
    for key in amounts:
        by_prefix.setdefault(key[:-1], []).append(key[-1])
    gone: Counter[int] = Counter()
    *prefix_columns, last_column = key_columns
    for prefix, lasts in by_prefix.items():
        where = [column == value for column, value in zip(prefix_columns, prefix, strict=True)]
        for chunk in _chunks(lasts):
            removed = session.execute(
                delete(table)
                .where(*where, last_column.in_(chunk), table.c.count <= 0)
                .returning(key_columns[0])
            )
            gone.update(group_id for (group_id,) in removed)
    return gone


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
