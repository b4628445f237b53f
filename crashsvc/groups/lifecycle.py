"""A group's triage lifecycle: status with history, automatic regressions, notes, merge and unmerge.

Every function works in the caller's transaction and never commits. Every status change and
every merge or unmerge leaves a ``group_history`` row: who (``user_id``, NULL when the system
did it), what (``action``), from which status to which, and a small ``detail`` dict.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from crashsvc.errors import ApiError
from crashsvc.groups.counters import recompute_group
from crashsvc.groups.versions import is_version_after
from crashsvc.models import Group, GroupHistory, GroupNote, Report, User
from crashsvc.models.base import utcnow
from crashsvc.models.groups import STATUSES
from crashsvc.models.partitions import update_reports

__all__ = [
    "STATUSES",
    "add_note",
    "merge_groups",
    "record_history",
    "regress_if_resolved",
    "set_status",
    "unmerge_group",
]

NOTE_MAX_CHARS = 10_000


def record_history(
    session: Session,
    group_id: int,
    action: str,
    *,
    user: User | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    detail: dict[str, Any] | None = None,
) -> GroupHistory:
    entry = GroupHistory(
        group_id=group_id,
        at=utcnow(),
        user_id=user.id if user is not None else None,
        action=action,
        from_status=from_status,
        to_status=to_status,
        detail=detail or {},
    )
    session.add(entry)
    return entry


def _not_merged(group: Group) -> None:
    if group.merged_into_id is not None:
        raise ApiError(
            f"Group {group.id} was merged into group {group.merged_into_id}.", code="group_merged", status=409
        )


def set_status(
    session: Session,
    group: Group,
    status: str,
    *,
    user: User | None = None,
    resolved_in_version: str | None = None,
    via: str = "ui",
) -> None:
    """Change a group's status and record it; ``resolved_in_version`` only with ``resolved``.

    Setting the status a group already has (and the same version) changes and records nothing.
    """
    if status not in STATUSES:
        raise ApiError(f"status must be one of {', '.join(STATUSES)}.", code="invalid_status", status=400)
    version = (resolved_in_version or "").strip()[:100] or None
    if version is not None and status != "resolved":
        raise ApiError(
            "resolved_in_version only goes with status 'resolved'.", code="invalid_status", status=400
        )
    _not_merged(group)
    if group.status == status and group.resolved_in_version == version:
        return
    previous = group.status
    group.status = status
    group.resolved_in_version = version
    group.resolved_at = utcnow() if status == "resolved" else None
    detail: dict[str, Any] = {"via": via}
    if version is not None:
        detail["resolved_in_version"] = version
    record_history(
        session, group.id, status, user=user, from_status=previous, to_status=status, detail=detail
    )
    session.flush()


def regress_if_resolved(session: Session, group_id: int, counted: Any, report: Report) -> bool:
    """Mark a resolved group ``regressed`` because ``report`` arrived; True if this call did it.

    ``counted`` is the group's ``status``, ``resolved_in_version`` and ``resolved_at`` as the
    counting statement saw them. Only a report received after the resolution regresses (an older
    one moved in by reprocessing does not); resolved "in version X", only one from a version after
    X. The update is conditional on the status, so two workers seeing it record it once.
    """
    if counted.status != "resolved":
        return False
    if counted.resolved_at is not None and report.received_at <= counted.resolved_at:
        return False
    resolved_in_version = counted.resolved_in_version
    if resolved_in_version is not None and not is_version_after(report.app_version, resolved_in_version):
        return False
    changed = session.execute(
        update(Group.__table__)
        .where(Group.__table__.c.id == group_id, Group.__table__.c.status == "resolved")
        .values(status="regressed")
    ).rowcount
    if not changed:
        return False
    detail: dict[str, Any] = {"report_id": report.id}
    if report.app_version:
        detail["app_version"] = report.app_version
    if resolved_in_version:
        detail["resolved_in_version"] = resolved_in_version
    record_history(
        session, group_id, "regressed", from_status="resolved", to_status="regressed", detail=detail
    )
    return True


def add_note(session: Session, group: Group, *, user: User | None, text: str) -> GroupNote:
    text = (text or "").strip()
    if not text:
        raise ApiError("A note needs text.", code="invalid_note", status=400)
    if len(text) > NOTE_MAX_CHARS:
        raise ApiError(f"A note holds at most {NOTE_MAX_CHARS} characters.", code="invalid_note", status=400)
    note = GroupNote(
        group_id=group.id, user_id=user.id if user is not None else None, created_at=utcnow(), text=text
    )
    session.add(note)
    session.flush()
    return note


def _lock(session: Session, group_ids: list[int]) -> None:
    """Hold the groups' rows for the rest of the transaction: counting workers wait (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Group.id).where(Group.id.in_(group_ids)).order_by(Group.id).with_for_update())


def merge_groups(session: Session, target: Group, sources: list[Group], *, user: User | None) -> None:
    """Merge ``sources`` into ``target``: their reports move, and later reports with their signatures follow.

    Each source keeps its row (signature, status, history) with ``merged_into_id`` set; groups
    merged into a source earlier now point at the target. Aggregates are recomputed for all.
    """
    sources = [source for source in sources if source.id != target.id]
    if not sources:
        raise ApiError("Name at least one other group to merge.", code="invalid_merge", status=400)
    if any(source.app_id != target.app_id for source in sources):
        raise ApiError("Only groups of the same app can be merged.", code="invalid_merge", status=400)
    for group in (target, *sources):
        _not_merged(group)
    source_ids = sorted({source.id for source in sources})
    _lock(session, [target.id, *source_ids])
    session.execute(
        update(Group)
        .where(Group.merged_into_id.in_(source_ids))
        .values(merged_into_id=target.id)
        .execution_options(synchronize_session=False)
    )
    update_reports(session, Report.group_id.in_(source_ids), {"group_id": target.id})
    for source in sources:
        source.merged_into_id = target.id
        record_history(
            session,
            source.id,
            "merged_into",
            user=user,
            from_status=source.status,
            to_status=source.status,
            detail={"target_id": target.id},
        )
    record_history(
        session,
        target.id,
        "merged",
        user=user,
        from_status=target.status,
        to_status=target.status,
        detail={"source_ids": source_ids},
    )
    session.flush()
    for group_id in (target.id, *source_ids):
        recompute_group(session, group_id)
    session.expire_all()  # the aggregates were rewritten by statements, not through these objects


def unmerge_group(session: Session, group: Group, *, user: User | None) -> list[Group]:
    """Undo every merge into ``group``: each source gets back the reports with its signature.

    Reports that arrived after the merge with a source's signature go back to that source too.
    Returns the restored groups (empty when nothing was merged into ``group``).
    """
    _not_merged(group)
    sources = list(session.scalars(select(Group).where(Group.merged_into_id == group.id).order_by(Group.id)))
    if not sources:
        return []
    _lock(session, [group.id, *(source.id for source in sources)])
    for source in sources:
        update_reports(
            session,
            and_(
                Report.group_id == group.id,
                Report.app_id == group.app_id,
                Report.signature_algorithm == source.algorithm,
                Report.signature_hash == source.signature_hash,
            ),
            {"group_id": source.id},
        )
        source.merged_into_id = None
        record_history(
            session,
            source.id,
            "unmerged",
            user=user,
            from_status=source.status,
            to_status=source.status,
            detail={"from_id": group.id},
        )
    restored_ids = [source.id for source in sources]
    record_history(
        session,
        group.id,
        "unmerged",
        user=user,
        from_status=group.status,
        to_status=group.status,
        detail={"restored_ids": restored_ids},
    )
    session.flush()
    for group_id in (group.id, *restored_ids):
        recompute_group(session, group_id)
    session.expire_all()
    return sources
