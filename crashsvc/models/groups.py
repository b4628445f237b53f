"""Groups: reports that share a signature (the same bug), with their triage status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crashsvc.models.base import Base, UtcDateTime, utcnow

STATUSES = ("unresolved", "resolved", "ignored", "regressed")


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("app_id", "algorithm", "signature_hash", name="uq_groups_signature"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    algorithm: Mapped[str] = mapped_column(String(20))
    signature_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
    exception_type: Mapped[str | None] = mapped_column(String(500), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="unresolved")
    count: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
