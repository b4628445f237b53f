"""Purging symbol files nobody needs: not used for symbolication in N days, awaited by no report.

``last_used_at`` is refreshed (daily) whenever a worker symbolicates with a file, so a file unused
for longer than ``--symbols-unused-for`` helped no recent report; a file that a stored report
still waits for (``report_missing_symbols``) is kept whatever its age. The store is content-
addressed and shared between apps: bytes on disk go only when no remaining row points at them.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from crashsvc.audit import record_audit_event
from crashsvc.db import Database
from crashsvc.models import ReportMissingSymbol, SymbolFile
from crashsvc.symbols.catalog import keys_provided_by


def symbols_tables_exist(db: Database) -> bool:
    return inspect(db.engine).has_table("symbol_files")


def _unused(session: Session, cutoff: datetime, app_id: int | None) -> list[SymbolFile]:
    last_use = func.coalesce(SymbolFile.last_used_at, SymbolFile.uploaded_at)
    query = select(SymbolFile).where(last_use < cutoff).order_by(SymbolFile.id)
    if app_id is not None:
        query = query.where(SymbolFile.app_id == app_id)
    candidates = []
    for row in session.scalars(query):
        keys = keys_provided_by(row)
        waiting = keys and session.scalar(
            select(ReportMissingSymbol.report_id)
            .where(ReportMissingSymbol.app_id == row.app_id, ReportMissingSymbol.symbol_key.in_(keys))
            .limit(1)
        )
        if not waiting:
            candidates.append(row)
    return candidates


def plan_symbol_purge(db: Database, unused_days: int, app_id: int | None = None) -> dict[str, Any]:
    if not symbols_tables_exist(db):
        return {"files": 0, "bytes": 0}
    cutoff = datetime.now(UTC) - timedelta(days=unused_days)
    with db.sessions() as session:
        rows = _unused(session, cutoff, app_id)
        return {"files": len(rows), "bytes": sum(row.size for row in rows)}


def purge_unused_symbols(
    db: Database, root: Path, unused_days: int, *, actor: str, app_id: int | None = None
) -> dict[str, Any]:
    """Delete unneeded symbol file rows, then the stored bytes no remaining row refers to."""
    if not symbols_tables_exist(db):
        return {"files": 0, "bytes": 0}
    cutoff = datetime.now(UTC) - timedelta(days=unused_days)
    with db.transaction() as session:
        rows = _unused(session, cutoff, app_id)
        paths = {path for row in rows for path in (row.path, row.symcache_path) if path}
        size = sum(row.size for row in rows)
        for row in rows:
            session.delete(row)
        session.flush()
        still_used = set(session.scalars(select(SymbolFile.path).where(SymbolFile.path.in_(paths))))
        still_used |= set(
            session.scalars(select(SymbolFile.symcache_path).where(SymbolFile.symcache_path.in_(paths)))
        )
        if rows:
            record_audit_event(
                session,
                "symbols.purge",
                actor,
                app_id=app_id,
                count=len(rows),
                scope={"unused_days": unused_days},
                detail={"bytes": size},
            )
    for relative in sorted(paths - still_used):  # after the commit: a rollback never loses bytes
        with contextlib.suppress(FileNotFoundError):
            (root / relative).unlink()
    return {"files": len(rows), "bytes": size}
