"""Reading groups for the API and the web UI: filtered lists, sparklines, breakdowns, an app overview.

Merged sources (``merged_into_id`` set) and groups that regrouping left empty are never listed:
their reports live in another group now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from crashsvc.errors import ApiError
from crashsvc.models import Group, GroupBreakdown, GroupDayCount, GroupHistory, GroupNote, Report
from crashsvc.models.groups import BREAKDOWN_DIMENSIONS, STATUSES

SORTS = {
    "count": Group.count.desc(),
    "affected_installs": Group.affected_installs.desc(),
    "last_seen": Group.last_seen.desc(),
    "first_seen": Group.first_seen.desc(),
}
OVERVIEW_LIST = 10


@dataclass
class GroupFilter:
    """What ``list_groups`` shows; ``None`` means "any". ``since``/``until`` select groups with reports
    on those (UTC) days; ``search`` matches signature, exception type and message (case-insensitive)."""

    status: str | None = None
    app_version: str | None = None
    os_name: str | None = None
    os_version: str | None = None
    platform: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None
    sort: str = "last_seen"  # count | affected_installs | last_seen | first_seen
    limit: int = 50
    offset: int = 0


def _listed(app_id: int) -> Any:
    return and_(
        Group.app_id == app_id,
        Group.merged_into_id.is_(None),
        or_(Group.emptied_at.is_(None), Group.count > 0),
    )


def _has_breakdown(dimension: str, value: str) -> Any:
    return exists().where(
        GroupBreakdown.group_id == Group.id,
        GroupBreakdown.dimension == dimension,
        GroupBreakdown.value == value,
        GroupBreakdown.count > 0,
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_groups(session: Session, app_id: int, flt: GroupFilter) -> tuple[list[Group], int]:
    """One page of an app's groups and how many match in all."""
    if flt.sort not in SORTS:
        raise ApiError(f"sort must be one of {', '.join(SORTS)}.", code="invalid_query", status=400)
    if flt.status is not None and flt.status not in STATUSES:
        raise ApiError(f"status must be one of {', '.join(STATUSES)}.", code="invalid_status", status=400)
    conditions = [_listed(app_id)]
    if flt.status:
        conditions.append(Group.status == flt.status)
    if flt.platform:
        conditions.append(Group.platform == flt.platform)
    if flt.app_version:
        conditions.append(_has_breakdown("app_version", flt.app_version))
    if flt.os_version:
        conditions.append(_has_breakdown("os_version", flt.os_version))
    if flt.os_name:
        conditions.append(_has_breakdown("os_name", flt.os_name))
    if flt.since or flt.until:
        days = [GroupDayCount.group_id == Group.id, GroupDayCount.count > 0]
        if flt.since:
            days.append(GroupDayCount.day >= _utc_day(flt.since))
        if flt.until:
            days.append(GroupDayCount.day <= _utc_day(flt.until))
        conditions.append(exists().where(*days))
    if flt.search and flt.search.strip():
        pattern = _like(flt.search.strip())
        conditions.append(
            or_(
                Group.signature.ilike(pattern, escape="\\"),
                Group.exception_type.ilike(pattern, escape="\\"),
                Group.exception_value.ilike(pattern, escape="\\"),
            )
        )
    total = session.scalar(select(func.count(Group.id)).where(*conditions)) or 0
    query = (
        select(Group)
        .where(*conditions)
        .order_by(SORTS[flt.sort], Group.id.desc())
        .limit(max(flt.limit, 0))
        .offset(max(flt.offset, 0))
    )
    return list(session.scalars(query)), total


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def _window(days: int, today: date) -> list[date]:
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def daily_counts(session: Session, group_ids: list[int], days: int, today: date) -> dict[int, list[int]]:
    """Reports per day for each group over the ``days`` days ending ``today``, oldest first, zeros filled."""
    window = _window(days, today)
    index = {day: position for position, day in enumerate(window)}
    result = {group_id: [0] * days for group_id in group_ids}
    if not group_ids or days <= 0:
        return result
    rows = session.execute(
        select(GroupDayCount.group_id, GroupDayCount.day, GroupDayCount.count).where(
            GroupDayCount.group_id.in_(group_ids), GroupDayCount.day >= window[0], GroupDayCount.day <= today
        )
    )
    for group_id, day, count in rows:
        result[group_id][index[day]] += count
    return result


def app_daily_counts(session: Session, app_id: int, days: int, today: date) -> list[tuple[date, int]]:
    """Reports per day for the whole app over the ``days`` days ending ``today``, oldest first."""
    window = _window(days, today)
    if not window:
        return []
    rows = session.execute(
        select(GroupDayCount.day, func.sum(GroupDayCount.count))
        .join(Group, Group.id == GroupDayCount.group_id)
        .where(Group.app_id == app_id, GroupDayCount.day >= window[0], GroupDayCount.day <= today)
        .group_by(GroupDayCount.day)
    )
    counts = {day: int(total) for day, total in rows}
    return [(day, counts.get(day, 0)) for day in window]


def group_breakdowns(session: Session, group_id: int) -> dict[str, list[tuple[str, int]]]:
    """Reports per app version, OS, OS version and device model, most first."""
    result: dict[str, list[tuple[str, int]]] = {dimension: [] for dimension in BREAKDOWN_DIMENSIONS}
    rows = session.execute(
        select(GroupBreakdown.dimension, GroupBreakdown.value, GroupBreakdown.count)
        .where(GroupBreakdown.group_id == group_id, GroupBreakdown.count > 0)
        .order_by(GroupBreakdown.count.desc(), GroupBreakdown.value)
    )
    for dimension, value, count in rows:
        result.setdefault(dimension, []).append((value, count))
    return result


def group_history(session: Session, group_id: int) -> list[GroupHistory]:
    """Status changes and merges, oldest first."""
    query = (
        select(GroupHistory)
        .where(GroupHistory.group_id == group_id)
        .order_by(GroupHistory.at, GroupHistory.id)
    )
    return list(session.scalars(query))


def group_notes(session: Session, group_id: int) -> list[GroupNote]:
    """Notes, oldest first."""
    query = (
        select(GroupNote).where(GroupNote.group_id == group_id).order_by(GroupNote.created_at, GroupNote.id)
    )
    return list(session.scalars(query))


def sample_reports(session: Session, group_id: int, limit: int = 5) -> list[Report]:
    """The group's latest reports, newest first."""
    query = (
        select(Report)
        .where(Report.group_id == group_id)
        .order_by(Report.received_at.desc(), Report.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def latest_report(session: Session, group_id: int) -> Report | None:
    reports = sample_reports(session, group_id, 1)
    return reports[0] if reports else None


def app_overview(session: Session, app_id: int, today: date) -> dict[str, Any]:
    """The app's last 30 days at a glance.

    ``{"reports_30d", "affected_installs_30d", "daily": [(date, count)] * 30, "new_groups_7d": [Group],
    "regressed_groups_7d": [Group], "top_groups": [Group], "top_group_counts": {group_id: reports_30d}}``;
    lists hold at most 10 groups, newest (or most reports) first.
    """
    daily = app_daily_counts(session, app_id, 30, today)
    start_30 = datetime.combine(daily[0][0], time.min, UTC)
    start_7 = datetime.combine(today - timedelta(days=6), time.min, UTC)
    installs = session.scalar(
        select(func.count(func.distinct(Report.install_hash))).where(
            Report.app_id == app_id, Report.received_at >= start_30, Report.install_hash.is_not(None)
        )
    )
    new_groups = session.scalars(
        select(Group)
        .where(_listed(app_id), Group.first_seen >= start_7)
        .order_by(Group.first_seen.desc(), Group.id.desc())
        .limit(OVERVIEW_LIST)
    )
    regressed_ids = (
        select(GroupHistory.group_id)
        .where(GroupHistory.action == "regressed", GroupHistory.at >= start_7)
        .scalar_subquery()
    )
    regressed = session.scalars(
        select(Group)
        .where(_listed(app_id), Group.status == "regressed", Group.id.in_(regressed_ids))
        .order_by(Group.last_seen.desc(), Group.id.desc())
        .limit(OVERVIEW_LIST)
    )
    top = session.execute(
        select(Group, func.sum(GroupDayCount.count).label("recent"))
        .join(GroupDayCount, GroupDayCount.group_id == Group.id)
        .where(_listed(app_id), GroupDayCount.day >= daily[0][0], GroupDayCount.day <= today)
        .group_by(Group.id)
        .having(func.sum(GroupDayCount.count) > 0)
        .order_by(func.sum(GroupDayCount.count).desc(), Group.id.desc())
        .limit(OVERVIEW_LIST)
    ).all()
    return {
        "reports_30d": sum(count for _day, count in daily),
        "affected_installs_30d": installs or 0,
        "daily": daily,
        "new_groups_7d": list(new_groups),
        "regressed_groups_7d": list(regressed),
        "top_groups": [group for group, _recent in top],
        "top_group_counts": {group.id: int(recent) for group, recent in top},
    }
