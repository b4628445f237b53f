"""The last stage: write the anonymized report and count it in its group, in one transaction.

Exactly-once counting rests on the report's primary key: the insert and the counter update
commit together, so a report processed twice (a retried job, a resend) fails the insert and
its second count rolls back with it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crashsvc.groups.counters import count_report, group_for_signature, uncount_report
from crashsvc.groups.lifecycle import regress_if_resolved
from crashsvc.models import Group, Report
from crashsvc.symbols.catalog import replace_missing_symbols
from workers.context import ProcessingContext


def _occurred_at(report: dict[str, Any]) -> datetime | None:
    value = report.get("timestamp")
    try:
        if isinstance(value, int | float):
            moment = datetime.fromtimestamp(value, UTC)
        elif isinstance(value, str):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    return moment


def _text(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None


def find_or_create_group(session: Session, ctx: ProcessingContext, exception_type: str | None) -> Group:
    """The group for the context's signature, created if new; a merged group hands over to its target."""
    algorithm = ctx.signature_algorithm
    signature_hash = ctx.signature_hash
    if not algorithm or not signature_hash:
        raise ValueError("the group stage left no signature")
    data = ctx.report
    exception = data.get("exception") if isinstance(data.get("exception"), dict) else {}
    return group_for_signature(
        session, ctx.app_id, algorithm, signature_hash, signature=ctx.signature or "",
        received_at=ctx.received_at, exception_type=exception_type,
        exception_value=_text(exception.get("value"), 1000), platform=_text(data.get("platform"), 20),
        fingerprint=ctx.fingerprint,
    )


def store_report(ctx: ProcessingContext) -> None:
    with ctx.services.db.write_sessions() as session:
        try:
            with session.begin():
                group_id = add_report(session, ctx)
        except IntegrityError:
            if session.get(Report, ctx.report_id) is None:
                raise
            return  # stored by an earlier attempt: nothing to count again
    ctx.group_id = group_id


def add_report(session: Session, ctx: ProcessingContext) -> int:
    """Insert the report and count it in its group inside the caller's transaction; returns the group id.

    Raises ``IntegrityError`` when the report id is already stored (``workers/batch.py`` stores many
    reports in one transaction, each in its own savepoint).
    """
    data = ctx.report
    app = data.get("app") or {}
    os_info = data.get("os") or {}
    device = data.get("device") or {}
    exception = data.get("exception") or {}
    exception_type = _text(exception.get("type"), 500)
    group = find_or_create_group(session, ctx, exception_type)
    report = Report(
        id=ctx.report_id, app_id=ctx.app_id, group_id=group.id, received_at=ctx.received_at,
        occurred_at=_occurred_at(data), platform=data.get("platform") or "other",
        app_version=_text(app.get("version"), 100), app_build=_text(app.get("build"), 100),
        os_name=_text(os_info.get("name"), 100), os_version=_text(os_info.get("version"), 100),
        device_model=_text(device.get("model"), 200), exception_type=exception_type,
        exception_value=_text(exception.get("value"), 10000), install_hash=ctx.install_hash,
        signature=ctx.signature, signature_hash=ctx.signature_hash,
        signature_algorithm=ctx.signature_algorithm, scrub_version=ctx.scrub_version,
        symbolicated=not ctx.missing_symbols, data=data,
        notes=[note.as_dict() for note in ctx.notes], missing_symbols=ctx.missing_symbols,
        signature_explanation=ctx.signature_explanation, consent=data.get("consent"),
    )
    session.add(report)
    session.flush()  # the primary key decides "already stored" before any count moves
    replace_missing_symbols(session, report, ctx.missing_symbols)
    count_report_in_group(session, group, report)
    return group.id


def count_report_in_group(session: Session, group: Group, report: Report) -> None:
    """Add a stored report to its group's aggregates, and regress the group if it was resolved.

    Atomic statements only (``crashsvc.groups.counters``): safe with many workers on one group.
    """
    regress_if_resolved(session, group.id, count_report(session, group.id, report), report)


def uncount_report_from_group(session: Session, group_id: int, report: Report) -> None:
    """Remove a report from its group's aggregates (purge, deletion, regrouping)."""
    uncount_report(session, group_id, report)
