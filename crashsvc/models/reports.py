"""Stored (anonymized) reports. Nothing here was ever raw: the worker anonymizes before writing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crashsvc.models.base import Base, UtcDateTime, utcnow


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_app_received", "app_id", "received_at"),
        Index("ix_reports_group_received", "group_id", "received_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    occurred_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    platform: Mapped[str] = mapped_column(String(20), default="other")
    app_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    app_build: Mapped[str | None] = mapped_column(String(100), nullable=True)
    os_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    os_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    device_model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    exception_type: Mapped[str | None] = mapped_column(String(500), nullable=True)
    exception_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    install_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    signature: Mapped[str | None] = mapped_column(Text, nullable=True)
    signature_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    signature_algorithm: Mapped[str | None] = mapped_column(String(20), nullable=True)
    scrub_version: Mapped[str | None] = mapped_column(String(20), nullable=True)
    symbolicated: Mapped[bool] = mapped_column(default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    notes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    missing_symbols: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    signature_explanation: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    consent: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    processing_attempts: Mapped[int] = mapped_column(Integer, default=1)
