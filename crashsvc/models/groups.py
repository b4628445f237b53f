"""Groups: reports that share a signature (the same bug), their aggregates and their triage lifecycle.

The aggregate columns and tables (``count``, ``affected_installs``, first/last seen and version,
``group_day_counts``, ``group_breakdowns``, ``group_installs``) are written only by
``crashsvc.groups.counters`` (atomic increments, upserts, recompute); the lifecycle tables
(``group_history``, ``group_notes``) only by ``crashsvc.groups.lifecycle``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crashsvc.models.base import Base, UtcDateTime, utcnow

STATUSES = ("unresolved", "resolved", "ignored", "regressed")
# Each is a report column of the same name; ``os_name`` also serves the group list's OS filter.
BREAKDOWN_DIMENSIONS = ("app_version", "os_name", "os_version", "device_model")


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (
        UniqueConstraint("app_id", "algorithm", "signature_hash", name="uq_groups_signature"),
        Index("ix_groups_app_last_seen", "app_id", "last_seen"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    algorithm: Mapped[str] = mapped_column(String(20))
    signature_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
    exception_type: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The first report's exception message (searchable; the group's reports hold the others).
    exception_value: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    platform: Mapped[str | None] = mapped_column(String(20), nullable=True)
    fingerprint: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="unresolved")
    resolved_in_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # When it was last resolved: only reports received later regress it (a late move of an older
    # report by reprocessing or regrouping does not).
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    affected_installs: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # App versions of the earliest and the latest report (by time received).
    first_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Set on a merge source: its reports (and later ones with its signature) belong to this group.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # Set when its last report left (regrouping, reprocessing, purge); kept (history, links), not listed.
    emptied_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class GroupDayCount(Base):
    """Reports per group per UTC day (received), for charts and sparklines."""

    __tablename__ = "group_day_counts"

    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class GroupBreakdown(Base):
    """Reports per group per value of one dimension (``BREAKDOWN_DIMENSIONS``)."""

    __tablename__ = "group_breakdowns"

    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class GroupInstall(Base):
    """Reports per group per install (keyed hash): a row exists while the install has a report there.

    ``Group.affected_installs`` counts these rows; keeping the per-install count makes it exact
    when reports are purged or moved.
    """

    __tablename__ = "group_installs"

    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    install_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class GroupHistory(Base):
    """One status change or structural event (merge, unmerge, regroup); ``user_id`` NULL when automatic."""

    __tablename__ = "group_history"
    __table_args__ = (Index("ix_group_history_group_at", "group_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class GroupNote(Base):
    __tablename__ = "group_notes"
    __table_args__ = (Index("ix_group_notes_group_created", "group_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)
