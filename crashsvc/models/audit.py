"""The audit log: who purged or deleted what, when, in which scope and how many. Never report contents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crashsvc.models.base import Base, UtcDateTime, utcnow

ACTIONS = ("purge", "purge.dry_run", "report.delete", "symbols.purge", "groups.recount")


class AuditEvent(Base):
    """One purge, deletion or maintenance run; ``scope`` holds its filters, ``detail`` its outcome."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_app_at", "app_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    # "cli:<os user>", "worker:retention", "delete_token", "user:<id>": who or what acted.
    actor: Mapped[str] = mapped_column(String(200))
    # The app the event concerns; NULL for events across all apps. No FK: the log outlives apps.
    app_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    count: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
