"""The database side of symbol files: record uploads, list them, and track reports that wait for them.

The store (``SymbolStore``) keeps bytes; this module keeps who uploaded what for which app, and the
``report_missing_symbols`` rows that let a late upload find the reports it can now symbolicate.
Plain functions over a session, so the API, the CLI, the worker and the web UI share them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session
from symbolic import normalize_debug_id
from symbolic.exceptions import SymbolicError

from crashsvc.models import Report, ReportMissingSymbol, SymbolFile
from crashsvc.models.base import utcnow
from crashsvc.symbols.index import url_key
from crashsvc.symbols.store import StoredDebugFile

SCRIPT_KINDS = ("sourcemap", "minified_source")
SCRIPT_KEY_PREFIX = "script:"  # missing script maps carry no debug id: keyed by the script's file name


def normal_debug_id(raw: str | None) -> str | None:
    """The canonical form of a debug id / ProGuard UUID (lower-case, dashed), or None."""
    if not raw:
        return None
    try:
        return normalize_debug_id(str(raw))
    except SymbolicError:
        return str(raw).lower()


# -- recording uploads ---------------------------------------------------------------------------
def record_stored_files(
    session: Session, app_id: int, root: Path, stored: Iterable[StoredDebugFile], uploaded_by: int | None
) -> list[SymbolFile]:
    """A row per stored debug object; the same object uploaded again for the app reuses its row."""
    rows = []
    for record in stored:
        row = session.scalars(
            select(SymbolFile).where(
                SymbolFile.app_id == app_id,
                SymbolFile.sha256 == record.sha256,
                SymbolFile.kind == record.kind,
                SymbolFile.object_name == record.object_name,
                _equal_or_null(SymbolFile.debug_id, record.debug_id),
                _equal_or_null(SymbolFile.arch, record.arch),
                _equal_or_null(SymbolFile.release, record.release),
                _equal_or_null(SymbolFile.app_version, record.app_version),
                _equal_or_null(SymbolFile.build, record.build),
            )
        ).first()
        if row is None:
            row = SymbolFile(
                app_id=app_id,
                kind=record.kind,
                debug_id=record.debug_id,
                code_id=record.code_id,
                arch=record.arch,
                features=list(record.features),
                object_name=record.object_name,
                lookup_key=url_key(record.object_name) if record.kind in SCRIPT_KINDS else None,
                sha256=record.sha256,
                size=record.size,
                path=_relative(record.path, root),
                symcache_path=_relative(record.symcache_path, root) if record.symcache_path else None,
                status="pending",
                file_format=record.file_format,
                release=record.release,
                app_version=record.app_version,
                build=record.build,
                source_map_url=record.source_map_url,
                uploaded_by=uploaded_by,
            )
            session.add(row)
        else:
            row.uploaded_at = utcnow()
            if row.status == "failed":
                row.status = "pending"  # a new upload of the same bytes retries the build
        rows.append(row)
    session.flush()
    return rows


def _equal_or_null(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def _relative(path: Path, root: Path) -> str:
    return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()


def stored_record(row: SymbolFile, root: Path) -> StoredDebugFile:
    """The store's view of a row (absolute paths under ``root``), e.g. for ``build_symcache``."""
    return StoredDebugFile(
        kind=row.kind,
        debug_id=row.debug_id,
        code_id=row.code_id,
        arch=row.arch,
        features=tuple(row.features or ()),
        object_name=row.object_name,
        sha256=row.sha256,
        size=row.size,
        path=Path(root) / row.path,
        symcache_path=Path(root) / row.symcache_path if row.symcache_path else None,
        file_format=row.file_format,
        release=row.release,
        app_version=row.app_version,
        build=row.build,
        source_map_url=row.source_map_url,
    )


def known_debug_ids(session: Session, app_id: int) -> set[str]:
    """Debug ids (native, ProGuard, script) the app already has, so a CLI upload can skip them."""
    ids = session.scalars(
        select(SymbolFile.debug_id).where(
            SymbolFile.app_id == app_id, SymbolFile.debug_id.is_not(None), SymbolFile.status != "failed"
        )
    )
    return {debug_id for debug_id in ids if debug_id}


# -- listing (API, CLI, web UI) ------------------------------------------------------------------
def list_symbol_files(session: Session, app_id: int, limit: int = 500, offset: int = 0) -> list[SymbolFile]:
    """The app's symbol files, newest upload first."""
    query = (
        select(SymbolFile)
        .where(SymbolFile.app_id == app_id)
        .order_by(SymbolFile.uploaded_at.desc(), SymbolFile.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query))


def symbol_file_json(row: SymbolFile) -> dict[str, Any]:
    """The public description of a symbol file (no store paths)."""
    return {
        "id": row.id,
        "app_id": row.app_id,
        "kind": row.kind,
        "debug_id": row.debug_id,
        "code_id": row.code_id,
        "arch": row.arch,
        "features": list(row.features or ()),
        "object_name": row.object_name,
        "file_format": row.file_format,
        "sha256": row.sha256,
        "size": row.size,
        "status": row.status,
        "release": row.release,
        "app_version": row.app_version,
        "build": row.build,
        "uploaded_at": _iso(row.uploaded_at),
        "uploaded_by": row.uploaded_by,
        "last_used_at": _iso(row.last_used_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


# -- reports waiting for symbols -----------------------------------------------------------------
def missing_symbol_key(entry: dict[str, Any]) -> str | None:
    """The key a ``missing_symbols`` entry is found by when its file arrives."""
    debug_id = normal_debug_id(entry.get("debug_id"))
    if debug_id:
        return debug_id
    if entry.get("type") == "sourcemap" and entry.get("image"):
        return SCRIPT_KEY_PREFIX + str(entry["image"])[:280]
    return None


def keys_provided_by(row: SymbolFile) -> set[str]:
    """Which missing-symbol keys an uploaded file can satisfy."""
    keys = set()
    if row.debug_id:
        keys.add(row.debug_id)
    if row.kind in SCRIPT_KINDS:
        name = posixpath.basename(row.lookup_key or row.object_name)
        keys.add(SCRIPT_KEY_PREFIX + (name.removesuffix(".map") if row.kind == "sourcemap" else name))
    return keys


def replace_missing_symbols(session: Session, report: Report, missing: list[dict[str, Any]]) -> None:
    """Make the report's ``report_missing_symbols`` rows match ``missing`` (store and reprocess)."""
    session.execute(delete(ReportMissingSymbol).where(ReportMissingSymbol.report_id == report.id))
    rows = missing_symbol_rows(report.id, report.app_id, report.received_at, missing)
    if rows:  # executed now, so it belongs to the caller's savepoint like the report row
        session.execute(insert(ReportMissingSymbol), rows)


def missing_symbol_rows(
    report_id: str, app_id: int, received_at: datetime, missing: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The ``report_missing_symbols`` rows of a report (one per symbol key) for a new report's insert."""
    rows: dict[str, dict[str, Any]] = {}
    for entry in missing:
        key = missing_symbol_key(entry)
        if key is not None and key not in rows:
            rows[key] = {
                "report_id": report_id,
                "symbol_key": key,
                "app_id": app_id,
                "image": _short(entry.get("image"), 300),
                "type": _short(entry.get("type"), 40),
                "received_at": received_at,
            }
    return list(rows.values())


def _short(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if value else None


def reports_waiting_for(session: Session, app_id: int, keys: Iterable[str]) -> list[str]:
    """Ids of the app's stored reports that listed any of ``keys`` as missing."""
    keys = sorted(set(keys))
    if not keys:
        return []
    query = (
        select(ReportMissingSymbol.report_id)
        .where(ReportMissingSymbol.app_id == app_id, ReportMissingSymbol.symbol_key.in_(keys))
        .distinct()
        .order_by(ReportMissingSymbol.report_id)
    )
    return list(session.scalars(query))


def missing_symbol_summary(
    session: Session, app_id: int, *, days: int = 30, limit: int = 50
) -> list[dict[str, Any]]:
    """Files recent reports needed but the app has not uploaded, most-needed first, with the command."""
    since = utcnow() - timedelta(days=days)
    rows = session.execute(
        select(
            ReportMissingSymbol.symbol_key,
            func.max(ReportMissingSymbol.image),
            func.max(ReportMissingSymbol.type),
            func.count(),
            func.max(ReportMissingSymbol.received_at),
        )
        .where(ReportMissingSymbol.app_id == app_id, ReportMissingSymbol.received_at >= since)
        .group_by(ReportMissingSymbol.symbol_key)
        .order_by(func.count().desc(), ReportMissingSymbol.symbol_key)
        .limit(limit)
    ).all()
    summary = []
    for key, image, kind, reports, last_seen in rows:
        is_script = key.startswith(SCRIPT_KEY_PREFIX)
        summary.append(
            {
                "debug_id": None if is_script else key,
                "image": image,
                "type": kind,
                "reports": reports,
                "last_seen": _iso(last_seen),
                "upload_command": upload_command(app_id, image or "", kind or ""),
            }
        )
    return summary


def upload_command(app_id: int, image: str, kind: str) -> str:
    """The ``crashsvc symbols upload`` line that supplies a missing file of this kind."""
    if kind == "macho":
        what = f"path/to/{image}.dSYM"
    elif kind == "proguard":
        what = "app/build/outputs/mapping/release/mapping.txt"
    elif kind == "sourcemap":
        return f"crashsvc symbols upload --app {app_id} --release RELEASE path/to/{image}.map path/to/{image}"
    elif kind in ("pe", "pdb"):
        what = f"path/to/{posixpath.splitext(image)[0]}.pdb"
    else:
        what = f"path/to/{image}.debug (or the unstripped {image})"
    return f"crashsvc symbols upload --app {app_id} {what}"
