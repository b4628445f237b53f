"""Group aggregates: the one place that writes them, exact under concurrent workers.

Every change is an atomic statement on the database, never read-modify-write in Python:
``count = count + :n`` on the group row, and ``INSERT … ON CONFLICT DO UPDATE`` upserts adding
``:n`` for per-day counts, breakdowns and installs (SQLite and PostgreSQL spell it the same way).
Two workers counting reports of the same group at once therefore never lose an update. A worker
counts a whole batch at once (``count_reports``: one upsert per table, one update per group).
Everything runs in the caller's transaction, so a report counts exactly when its row is stored
(the report's primary key makes a second processing fail before anything is counted).

``recompute_group`` rebuilds one group's aggregates from its reports (merge, unmerge, repair).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, String, and_, bindparam, case, delete, literal, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crashsvc.models import Group, GroupBreakdown, GroupDayCount, GroupInstall, Report
from crashsvc.models.base import UtcDateTime, utcnow

GROUPS = Group.__table__
DAYS = GroupDayCount.__table__
BREAKDOWNS = GroupBreakdown.__table__
INSTALLS = GroupInstall.__table__
BREAKDOWN_LIMIT = 200  # GroupBreakdown.value's length
MAX_MERGE_HOPS = 8  # a merged group's target is never itself merged; this only guards bad data


# The counting statements as SQL text: SQLAlchemy does not cache compiled ``on_conflict_do_update``
# constructs, and compiling them on every report cost more than everything else together. Each is
# the same on SQLite and PostgreSQL, built once per row count and kept. A batch of reports counts
# with one multi-row upsert per aggregate table and one ``UPDATE`` per group; rows are sorted by
# key so concurrent workers lock them in the same order.
_UPSERT = {
    "installs": ("group_installs", ("group_id", "install_hash"), "RETURNING group_id, install_hash, count"),
    "days": ("group_day_counts", ("group_id", "day"), ""),
    "breakdowns": ("group_breakdowns", ("group_id", "dimension", "value"), ""),
}
_UPSERT_CHUNK = 500  # rows per statement: far below SQLite's and PostgreSQL's bound-parameter limits
_upserts: dict[tuple[str, int], Any] = {}


def _upsert_statement(kind: str, rows: int) -> Any:
    """``INSERT … VALUES (…) × rows ON CONFLICT DO UPDATE SET count = count + excluded.count``."""
    statement = _upserts.get((kind, rows))
    if statement is None:
        table, key, returning = _UPSERT[kind]
        columns = (*key, "count")
        values = ", ".join("(" + ", ".join(f":{column}{n}" for column in columns) + ")" for n in range(rows))
        statement = text(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} ON CONFLICT ({', '.join(key)}) "
            f"DO UPDATE SET count = {table}.count + excluded.count {returning}"
        )
        if kind == "days":
            statement = statement.bindparams(*(bindparam(f"day{n}", type_=Date()) for n in range(rows)))
        _upserts[(kind, rows)] = statement
    return statement


def _upsert(session: Session, kind: str, counts: dict[tuple[Any, ...], int]) -> list[Any]:
    """Add ``counts`` (key → n) to an aggregate table; returns the RETURNING rows, if any."""
    key_columns = _UPSERT[kind][1]
    items = sorted(counts.items())
    returned: list[Any] = []
    for first in range(0, len(items), _UPSERT_CHUNK):
        chunk = items[first : first + _UPSERT_CHUNK]
        params: dict[str, Any] = {}
        for n, (key, count) in enumerate(chunk):
            for column, value in zip(key_columns, key, strict=True):
                params[f"{column}{n}"] = value
            params[f"count{n}"] = count
        result = session.execute(_upsert_statement(kind, len(chunk)), params)
        if result.returns_rows:
            returned.extend(result.all())
    return returned


_COUNT_SET = (
    "UPDATE groups SET count = count + :n, affected_installs = affected_installs + :new_installs, "
    "first_seen = CASE WHEN first_seen > :first_seen THEN :first_seen ELSE first_seen END, "
    "last_seen = CASE WHEN last_seen < :last_seen THEN :last_seen ELSE last_seen END, {versions}emptied_at = NULL "
    "WHERE id = :group_id RETURNING status, resolved_in_version, resolved_at"
)
# The earliest and the latest report that has an app version name the first and last version,
# compared with first/last seen as they were before this count (as ``recompute_group`` orders them).
_COUNT_VERSIONS = (
    "first_version = CASE WHEN first_seen > :first_version_at OR first_version IS NULL THEN :first_version "
    "ELSE first_version END, "
    "last_version = CASE WHEN last_seen <= :last_version_at THEN :last_version ELSE last_version END, "
)
# Two variants: reports without an app version leave the versions alone.
_COUNT_MOMENTS = {True: ("first_seen", "last_seen", "first_version_at", "last_version_at"),
                  False: ("first_seen", "last_seen")}
_COUNT = {
    with_version: text(_COUNT_SET.format(versions=_COUNT_VERSIONS if with_version else ""))
    .bindparams(*(bindparam(name, type_=UtcDateTime()) for name in _COUNT_MOMENTS[with_version]))
    .columns(status=String(), resolved_in_version=String(), resolved_at=UtcDateTime())
    for with_version in (True, False)
}
_FIND_GROUP = select(Group).where(Group.app_id == bindparam("app_id"), Group.algorithm == bindparam("algorithm"),
                                  Group.signature_hash == bindparam("signature_hash"))


def report_day(report: Report) -> date:
    return report.received_at.date()  # UtcDateTime: always UTC


def breakdown_values(report: Report) -> list[tuple[str, str]]:
    """(dimension, value) pairs a report counts under; unknown values are not counted."""
    pairs = [("app_version", report.app_version), ("os_version", report.os_version),
             ("device_model", report.device_model)]
    return [(dimension, value[:BREAKDOWN_LIMIT]) for dimension, value in pairs if value]


def group_for_signature(session: Session, app_id: int, algorithm: str, signature_hash: str, *,
                        signature: str, received_at: datetime, **fields: Any) -> Group:
    """The group for a signature, created if new (safe against a concurrent create).

    A merged group hands over to the group it was merged into, so later reports with its
    signature join the merge target.
    """
    key = {"app_id": app_id, "algorithm": algorithm, "signature_hash": signature_hash}
    group = session.scalars(_FIND_GROUP, key).first()
    if group is None:
        try:
            with session.begin_nested():
                group = Group(app_id=app_id, algorithm=algorithm, signature_hash=signature_hash,
                              signature=signature, count=0, affected_installs=0, first_seen=received_at,
                              last_seen=received_at, **fields)
                session.add(group)
        except IntegrityError:
            group = session.scalars(_FIND_GROUP, key).one()  # another worker created it first
    for _ in range(MAX_MERGE_HOPS):
        if group.merged_into_id is None:
            break
        group = session.get(Group, group.merged_into_id) or group
    return group


def existing_groups(session: Session, app_id: int, algorithm: str, signature_hashes: list[str]) -> dict[str, Group]:
    """The groups of an app's signatures that exist (one query), merged ones handing over to their target."""
    found = {}
    query = select(Group).where(Group.app_id == app_id, Group.algorithm == algorithm,
                                Group.signature_hash.in_(sorted(set(signature_hashes))))
    for group in session.scalars(query):
        signature_hash = group.signature_hash
        for _ in range(MAX_MERGE_HOPS):
            if group.merged_into_id is None:
                break
            group = session.get(Group, group.merged_into_id) or group
        found[signature_hash] = group
    return found


def count_report(session: Session, group_id: int, report: Report) -> Any:
    """Add a stored report to group ``group_id``'s aggregates; returns the group's ``status``,
    ``resolved_in_version`` and ``resolved_at`` (a row). ``count_reports`` for one report."""
    return count_reports(session, [(group_id, report)])[group_id]


def count_reports(session: Session, reports: list[tuple[int, Report]]) -> dict[int, Any]:
    """Add stored reports, as (group id, report) pairs, to their groups' aggregates in a few statements.

    Returns, per group, its ``status``, ``resolved_in_version`` and ``resolved_at`` as read by the
    same statement that counted (``UPDATE … RETURNING``), so the caller's regression check sees the
    status as it is now, not as it was when loaded. The same result as counting the reports one by
    one in the order of their ``received_at``.
    """
    installs: Counter[tuple[int, str]] = Counter()
    days: Counter[tuple[int, date]] = Counter()
    breakdowns: Counter[tuple[int, str, str]] = Counter()
    by_group: dict[int, list[Report]] = {}
    for group_id, report in reports:
        by_group.setdefault(group_id, []).append(report)
        if report.install_hash:
            installs[(group_id, report.install_hash)] += 1
        days[(group_id, report_day(report))] += 1
        breakdowns.update((group_id, dimension, value) for dimension, value in breakdown_values(report))
    new_installs: Counter[int] = Counter()
    for row in _upsert(session, "installs", installs):
        if row.count == installs[(row.group_id, row.install_hash)]:  # the row did not exist before
            new_installs[row.group_id] += 1
    counted = {}
    for group_id in sorted(by_group):
        members = by_group[group_id]
        received = [report.received_at for report in members]
        params: dict[str, Any] = {"group_id": group_id, "n": len(members), "new_installs": new_installs[group_id],
                                  "first_seen": min(received), "last_seen": max(received)}
        versioned = [(report.received_at, n, report.app_version[:100])
                     for n, report in enumerate(members) if report.app_version]
        if versioned:  # ties: the first in the batch names the first version, the last the last one
            params["first_version_at"], _, params["first_version"] = min(versioned)
            params["last_version_at"], _, params["last_version"] = max(versioned)
        counted[group_id] = session.execute(_COUNT[bool(versioned)], params).one()
    _upsert(session, "days", days)
    if breakdowns:
        _upsert(session, "breakdowns", breakdowns)
    return counted


def uncount_report(session: Session, group_id: int, report: Report) -> None:
    """Remove a report from group ``group_id``'s aggregates (purge, deletion, a move to another group).

    First and last seen stay as they were: the bug *was* seen then. Installs stay exact: an
    install leaves the group with its last report there. A group whose last report leaves is
    marked ``emptied_at`` (hidden from lists; counting a report again clears it).
    """
    gone_install = 0
    if report.install_hash:
        left = session.execute(
            update(INSTALLS).where(INSTALLS.c.group_id == group_id, INSTALLS.c.install_hash == report.install_hash)
            .values(count=INSTALLS.c.count - 1).returning(INSTALLS.c.count)
        ).scalar_one_or_none()
        if left is not None and left <= 0:
            session.execute(delete(INSTALLS).where(INSTALLS.c.group_id == group_id,
                                                   INSTALLS.c.install_hash == report.install_hash))
            gone_install = 1
    session.execute(update(GROUPS).where(GROUPS.c.id == group_id).values(
        count=GROUPS.c.count - 1, affected_installs=GROUPS.c.affected_installs - gone_install,
        emptied_at=case((GROUPS.c.count <= 1, literal(utcnow(), UtcDateTime())), else_=GROUPS.c.emptied_at)))
    session.execute(update(DAYS).where(DAYS.c.group_id == group_id, DAYS.c.day == report_day(report))
                    .values(count=DAYS.c.count - 1))
    pairs = breakdown_values(report)
    if pairs:
        matches = or_(*(and_(BREAKDOWNS.c.dimension == dimension, BREAKDOWNS.c.value == value)
                        for dimension, value in pairs))
        session.execute(update(BREAKDOWNS).where(BREAKDOWNS.c.group_id == group_id, matches)
                        .values(count=BREAKDOWNS.c.count - 1))


def recompute_group(session: Session, group_id: int) -> None:
    """Rebuild a group's aggregates from the reports that belong to it now (merge, unmerge, repair).

    The caller holds the group (merge and unmerge lock it): counting workers wait for the group row.
    """
    rows = session.execute(
        select(Report.received_at, Report.app_version, Report.os_version, Report.device_model,
               Report.install_hash).where(Report.group_id == group_id).order_by(Report.received_at)
    ).all()
    for table in (DAYS, BREAKDOWNS, INSTALLS):
        session.execute(delete(table).where(table.c.group_id == group_id))
    values: dict[str, Any] = {"count": len(rows), "affected_installs": 0, "emptied_at": None}
    if rows:
        days = Counter(row.received_at.date() for row in rows)
        breakdowns: Counter[tuple[str, str]] = Counter()
        for row in rows:
            breakdowns.update(breakdown_values(row))
        installs = Counter(row.install_hash for row in rows if row.install_hash)
        session.execute(DAYS.insert(), [{"group_id": group_id, "day": day, "count": n} for day, n in days.items()])
        if breakdowns:
            session.execute(BREAKDOWNS.insert(), [{"group_id": group_id, "dimension": d, "value": v, "count": n}
                                                  for (d, v), n in breakdowns.items()])
        if installs:
            session.execute(INSTALLS.insert(), [{"group_id": group_id, "install_hash": h, "count": n}
                                                for h, n in installs.items()])
        versions = [row.app_version[:100] for row in rows if row.app_version]
        values.update(affected_installs=len(installs), first_seen=rows[0].received_at,
                      last_seen=rows[-1].received_at, first_version=versions[0] if versions else None,
                      last_version=versions[-1] if versions else None)
    session.execute(update(GROUPS).where(GROUPS.c.id == group_id).values(values))
