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


# The per-report upserts as SQL text: SQLAlchemy does not cache compiled ``on_conflict_do_update``
# constructs, and compiling them on every report cost more than everything else together. The
# statement is the same on SQLite and PostgreSQL.
_UPSERT_INSTALL = text(
    "INSERT INTO group_installs (group_id, install_hash, count) VALUES (:group_id, :install_hash, 1) "
    "ON CONFLICT (group_id, install_hash) DO UPDATE SET count = group_installs.count + 1 RETURNING count"
)
_UPSERT_DAY = text(
    "INSERT INTO group_day_counts (group_id, day, count) VALUES (:group_id, :day, 1) "
    "ON CONFLICT (group_id, day) DO UPDATE SET count = group_day_counts.count + 1"
).bindparams(bindparam("day", type_=Date()))
_UPSERT_BREAKDOWNS = {
    rows: text(
        "INSERT INTO group_breakdowns (group_id, dimension, value, count) VALUES "
        + ", ".join(f"(:group_id, :dimension{n}, :value{n}, 1)" for n in range(rows))
        + " ON CONFLICT (group_id, dimension, value) DO UPDATE SET count = group_breakdowns.count + 1"
    )
    for rows in range(1, 4)
}
_COUNT_SET = (
    "UPDATE groups SET count = count + 1, affected_installs = affected_installs + :new_install, "
    "first_seen = CASE WHEN first_seen > :received THEN :received ELSE first_seen END, "
    "last_seen = CASE WHEN last_seen < :received THEN :received ELSE last_seen END, {versions}emptied_at = NULL "
    "WHERE id = :group_id RETURNING status, resolved_in_version, resolved_at"
)
_COUNT_VERSIONS = (
    "first_version = CASE WHEN first_seen > :received OR first_version IS NULL THEN :version "
    "ELSE first_version END, last_version = CASE WHEN last_seen <= :received THEN :version ELSE last_version END, "
)
# Two variants: a report without an app version leaves the versions alone.
_COUNT = {
    with_version: text(_COUNT_SET.format(versions=_COUNT_VERSIONS if with_version else ""))
    .bindparams(bindparam("received", type_=UtcDateTime()))
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


def count_report(session: Session, group_id: int, report: Report) -> Any:
    """Add a stored report to group ``group_id``'s aggregates; returns the group's ``status``,
    ``resolved_in_version`` and ``resolved_at`` (a row).

    The returned status is read by the same statement that counted (``UPDATE … RETURNING``), so
    the caller's regression check sees the status as it is now, not as it was when loaded.
    """
    new_install = 0
    if report.install_hash:
        installs = session.execute(_UPSERT_INSTALL, {"group_id": group_id, "install_hash": report.install_hash})
        new_install = int(installs.scalar_one() == 1)
    params: dict[str, Any] = {"group_id": group_id, "received": report.received_at, "new_install": new_install}
    if report.app_version:
        params["version"] = report.app_version[:100]
    counted = session.execute(_COUNT["version" in params], params).one()
    session.execute(_UPSERT_DAY, {"group_id": group_id, "day": report_day(report)})
    pairs = breakdown_values(report)
    if pairs:
        rows: dict[str, Any] = {"group_id": group_id}
        for n, (dimension, value) in enumerate(pairs):
            rows[f"dimension{n}"], rows[f"value{n}"] = dimension, value
        session.execute(_UPSERT_BREAKDOWNS[len(pairs)], rows)
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
