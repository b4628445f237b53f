"""Group aggregates: the one place that writes them, exact under concurrent workers.

Every per-report change is an atomic statement on the database, never read-modify-write in
Python: ``count = count + 1`` on the group row, and ``INSERT … ON CONFLICT DO UPDATE`` upserts
for per-day counts, breakdowns and installs (SQLite and PostgreSQL spell it the same way). Two
workers counting reports of the same group at once therefore never lose an update. Everything
runs in the caller's transaction, so a report counts exactly when its row is stored (the
report's primary key makes a second processing fail before anything is counted).

``recompute_group`` rebuilds one group's aggregates from its reports (merge, unmerge, repair).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
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


def _insert(session: Session, table: Any) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


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
    query = select(Group).where(Group.app_id == app_id, Group.algorithm == algorithm,
                                Group.signature_hash == signature_hash)
    group = session.scalars(query).first()
    if group is None:
        try:
            with session.begin_nested():
                group = Group(app_id=app_id, algorithm=algorithm, signature_hash=signature_hash,
                              signature=signature, count=0, affected_installs=0, first_seen=received_at,
                              last_seen=received_at, **fields)
                session.add(group)
        except IntegrityError:
            group = session.scalars(query).one()  # another worker created it first
    for _ in range(MAX_MERGE_HOPS):
        if group.merged_into_id is None:
            break
        group = session.get(Group, group.merged_into_id) or group
    return group


def count_report(session: Session, group_id: int, report: Report) -> Any:
    """Add a stored report to group ``group_id``'s aggregates; returns the group's ``status``,
    ``resolved_in_version`` and ``resolved_at`` (a row).

    The returned status is read by the same statement that counted (``UPDATE … RETURNING``), so
    the caller's regression check sees the status as it is now, not as it was when loaded.
    """
    new_install = 0
    if report.install_hash:
        upsert = _insert(session, INSTALLS).values(group_id=group_id, install_hash=report.install_hash, count=1)
        upsert = upsert.on_conflict_do_update(index_elements=["group_id", "install_hash"],
                                              set_={"count": INSTALLS.c.count + 1})
        new_install = int(session.execute(upsert.returning(INSTALLS.c.count)).scalar_one() == 1)
    received = literal(report.received_at, UtcDateTime())
    values: dict[str, Any] = {
        "count": GROUPS.c.count + 1,
        "affected_installs": GROUPS.c.affected_installs + new_install,
        "first_seen": case((GROUPS.c.first_seen > received, received), else_=GROUPS.c.first_seen),
        "last_seen": case((GROUPS.c.last_seen < received, received), else_=GROUPS.c.last_seen),
        "emptied_at": None,
    }
    if report.app_version:
        version = literal(report.app_version[:100])
        values["first_version"] = case(
            (or_(GROUPS.c.first_seen > received, GROUPS.c.first_version.is_(None)), version),
            else_=GROUPS.c.first_version)
        values["last_version"] = case((GROUPS.c.last_seen <= received, version), else_=GROUPS.c.last_version)
    counted = session.execute(
        update(GROUPS).where(GROUPS.c.id == group_id).values(values)
        .returning(GROUPS.c.status, GROUPS.c.resolved_in_version, GROUPS.c.resolved_at)
    ).one()
    day = _insert(session, DAYS).values(group_id=group_id, day=report_day(report), count=1)
    session.execute(day.on_conflict_do_update(index_elements=["group_id", "day"],
                                              set_={"count": DAYS.c.count + 1}))
    pairs = breakdown_values(report)
    if pairs:
        rows = [{"group_id": group_id, "dimension": dimension, "value": value, "count": 1}
                for dimension, value in pairs]
        upsert = _insert(session, BREAKDOWNS).values(rows)
        session.execute(upsert.on_conflict_do_update(index_elements=["group_id", "dimension", "value"],
                                                     set_={"count": BREAKDOWNS.c.count + 1}))
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
