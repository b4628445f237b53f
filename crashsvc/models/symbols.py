"""Uploaded debug files per app, and which stored reports still wait for one (late symbols)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crashsvc.models.base import Base, UtcDateTime, utcnow

STATUSES = ("pending", "ready", "failed")  # pending: recorded, SymCache job not run yet


class SymbolFile(Base):
    """One debug object an app uploaded; the bytes live in the symbol store under ``path``."""

    __tablename__ = "symbol_files"
    __table_args__ = (
        Index("ix_symbol_files_app_debug_id", "app_id", "debug_id"),
        Index("ix_symbol_files_app_lookup", "app_id", "kind", "lookup_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # native | proguard | sourcemap | minified_source
    debug_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    code_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    arch: Mapped[str | None] = mapped_column(String(40), nullable=True)
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    object_name: Mapped[str] = mapped_column(Text)
    # Scripts are found by URL path (``url_key`` of object_name); None for other kinds.
    lookup_key: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(Text)  # relative to the symbol store root
    symcache_path: Mapped[str | None] = mapped_column(Text, nullable=True)  # relative, native only
    status: Mapped[str] = mapped_column(String(20), default="pending")
    file_format: Mapped[str] = mapped_column(String(40), default="")
    release: Mapped[str | None] = mapped_column(String(250), nullable=True)
    app_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    build: Mapped[str | None] = mapped_column(String(100), nullable=True)
    source_map_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    uploaded_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ReportMissingSymbol(Base):
    """A stored report listed this debug file as missing: found by key when the file arrives.

    ``symbol_key`` is the normalized debug id, or ``script:<file name>`` for a script whose map is
    looked up by URL (those carry no debug id). Filled in the report's own store transaction.
    """

    __tablename__ = "report_missing_symbols"
    __table_args__ = (Index("ix_report_missing_symbols_app_key", "app_id", "symbol_key"),)

    # No foreign key: the reports are stored by day (crashsvc/models/partitions.py) and a
    # partitioned table's id, or a view, cannot be referenced; rows go with their report explicitly.
    report_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    symbol_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    image: Mapped[str | None] = mapped_column(String(300), nullable=True)
    type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The report's received_at, copied (0009): "what recent reports miss" reads these rows alone.
    # Joined to the reports it read the SQLite view over every day, 18 s for 50,000 rows.
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
