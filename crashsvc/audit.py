"""Recording and reading the audit log (``audit_events``): purges, deletions, recounts.

Callers pass counts, filters and outcomes only; report contents never reach this module.
"""

from __future__ import annotations

import getpass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crashsvc.models.audit import AuditEvent


def cli_actor() -> str:
    """``cli:<os user>`` for commands run by an operator."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli:unknown"


def record_audit_event(
    session: Session,
    action: str,
    actor: str,
    *,
    app_id: int | None = None,
    scope: dict[str, Any] | None = None,
    count: int = 0,
    detail: dict[str, Any] | None = None,
    user_id: int | None = None,
) -> AuditEvent:
    """Add one event to the caller's transaction (so it commits with the change it describes)."""
    event = AuditEvent(
        action=action,
        actor=actor[:200],
        app_id=app_id,
        scope=scope or {},
        count=count,
        detail=detail or {},
        user_id=user_id,
    )
    session.add(event)
    return event


def list_audit_events(session: Session, app_id: int | None = None, limit: int = 100) -> list[AuditEvent]:
    """Newest first; with ``app_id`` the events of that app plus those across all apps."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if app_id is not None:
        query = query.where((AuditEvent.app_id == app_id) | AuditEvent.app_id.is_(None))
    return list(session.scalars(query))


def audit_event_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat().replace("+00:00", "Z"),
        "action": event.action,
        "actor": event.actor,
        "app_id": event.app_id,
        "scope": event.scope,
        "count": event.count,
        "detail": event.detail,
        "user_id": event.user_id,
    }
