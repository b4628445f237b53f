"""Regrouping stored reports under a signature algorithm: preview (``diff_signatures``) and do (``regroup_reports``).

Both recompute the signature of each stored (already anonymized) report's ``data``. The preview
writes nothing. Regrouping moves a report whose group changes with the counters' own
uncount / count, one transaction per batch, and a conditional update on the report's group so
that a second run (or a concurrent reprocess) moves nothing twice. A group that loses reports
gets a ``regrouped`` history entry; one left without reports is kept (its history, its links)
and marked ``emptied_at`` (by ``uncount_report``), which hides it from lists.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from crashsvc.groups.counters import count_report, group_for_signature, uncount_report
from crashsvc.groups.lifecycle import record_history
from crashsvc.models import Group, Report
from crashsvc.models.partitions import update_reports

BATCH = 500


def _generator(algorithm: str) -> Any:
    # Signature code lives with the worker's grouping stage; imported here, on use, like the CLI does.
    from workers.grouping import get_algorithm

    return get_algorithm(algorithm)


def _reports(session_factory: Callable[[], Session], app_id: int | None) -> Iterator[list[Report]]:
    """Stored reports in id order, a batch at a time (keyset pages: safe while rows move groups)."""
    after = ""
    while True:
        with session_factory() as session:
            query = select(Report).where(Report.id > after).order_by(Report.id).limit(BATCH)
            if app_id is not None:
                query = query.where(Report.app_id == app_id)
            batch = list(session.scalars(query))
        if not batch:
            return
        yield batch
        after = batch[-1].id


@dataclass
class SignatureDiff:
    """What regrouping under ``algorithm`` would do; ``moves`` maps (from group, to group) to reports."""

    algorithm: str
    examined: int = 0
    moving: int = 0
    # (from group id, to group id or None for a group that does not exist yet, new signature) → reports
    moves: Counter[tuple[int | None, int | None, str]] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "examined": self.examined,
            "moving": self.moving,
            "staying": self.examined - self.moving,
            "moves": [
                {"from_group_id": source, "to_group_id": target, "to_signature": signature, "reports": count}
                for (source, target, signature), count in self.moves.most_common()
            ],
        }


def diff_signatures(
    session_factory: Callable[[], Session], algorithm: str, app_id: int | None = None
) -> SignatureDiff:
    """How many stored reports would move to which groups under ``algorithm``; writes nothing."""
    generator = _generator(algorithm)
    diff = SignatureDiff(algorithm)
    known: dict[tuple[int, str], int | None] = {}
    for batch in _reports(session_factory, app_id):
        with session_factory() as session:
            for report in batch:
                diff.examined += 1
                result = generator.generate(report.data)
                key = (report.app_id, result.hash)
                if key not in known:
                    known[key] = session.scalar(
                        select(Group.id).where(
                            Group.app_id == report.app_id,
                            Group.algorithm == algorithm,
                            Group.signature_hash == result.hash,
                        )
                    )
                    # A merged group's reports would join the group it was merged into.
                    target = session.get(Group, known[key]) if known[key] is not None else None
                    if target is not None and target.merged_into_id is not None:
                        known[key] = target.merged_into_id
                target_id = known[key]
                if target_id != report.group_id:
                    diff.moving += 1
                    diff.moves[(report.group_id, target_id, result.signature)] += 1
    return diff


@dataclass
class RegroupSummary:
    algorithm: str
    examined: int = 0
    moved: int = 0
    groups_created: int = 0
    groups_emptied: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "examined": self.examined,
            "moved": self.moved,
            "groups_created": self.groups_created,
            "groups_emptied": self.groups_emptied,
        }


def regroup_reports(
    session_factory: Callable[[], Session], app_id: int | None = None, algorithm: str | None = None
) -> RegroupSummary:
    """Move stored reports to the groups ``algorithm`` (default: the current one) gives them; idempotent."""
    if algorithm is None:
        from workers.grouping import DEFAULT_ALGORITHM

        algorithm = DEFAULT_ALGORITHM
    generator = _generator(algorithm)
    summary = RegroupSummary(algorithm)
    left: Counter[int] = Counter()
    for batch in _reports(session_factory, app_id):
        with session_factory() as session, session.begin():
            for stale in batch:
                summary.examined += 1
                report = session.get(Report, stale.id)
                if report is None:
                    continue  # purged meanwhile
                result = generator.generate(report.data)
                old_group_id = report.group_id
                if _move(session, report, result, summary) and old_group_id is not None:
                    left[old_group_id] += 1
    with session_factory() as session, session.begin():
        for group_id, moved_out in sorted(left.items()):
            group = session.get(Group, group_id)
            if group is None:
                continue
            record_history(
                session,
                group_id,
                "regrouped",
                from_status=group.status,
                to_status=group.status,
                detail={"algorithm": algorithm, "moved_out": moved_out},
            )
            if group.count <= 0:  # uncount marked it emptied_at
                summary.groups_emptied.append(group_id)
    return summary


def _move(session: Session, report: Report, result: Any, summary: RegroupSummary) -> bool:
    """Give ``report`` its new signature, moving it between groups if needed; True if it moved."""
    created_before = session.scalar(
        select(Group.id).where(
            Group.app_id == report.app_id,
            Group.algorithm == result.algorithm,
            Group.signature_hash == result.hash,
        )
    )
    group = group_for_signature(
        session,
        report.app_id,
        result.algorithm,
        result.hash,
        signature=result.signature,
        received_at=report.received_at,
        exception_type=report.exception_type,
        exception_value=(report.exception_value or "")[:1000] or None,
        platform=report.platform,
        fingerprint=result.fingerprint,
    )
    if created_before is None:
        summary.groups_created += 1
    old_group_id = report.group_id
    moved = False
    if group.id != old_group_id:
        same_group = Report.group_id.is_(None) if old_group_id is None else Report.group_id == old_group_id
        changed = update_reports(
            session, and_(Report.id == report.id, same_group), {"group_id": group.id}, report.received_at
        )
        if changed == 1:
            if old_group_id is not None:
                uncount_report(session, old_group_id, report)
            count_report(session, group.id, report)  # an old report: it never regresses a group
            moved = True
            summary.moved += 1
    signature = {
        "signature": result.signature,
        "signature_hash": result.hash,
        "signature_algorithm": result.algorithm,
        "signature_explanation": result.explanation,
    }
    update_reports(session, Report.id == report.id, signature, report.received_at)
    for name, value in signature.items():  # the loaded copy says so too, without a flush of its own
        set_committed_value(report, name, value)
    return moved
