"""The database-backed ``SymbolIndex``: each app finds only its own, ready symbol files.

``DatabaseSymbolIndex`` is per process (the worker's ``services.symbol_index``); the symbolication
stage asks it ``for_app(ctx.app_id)`` and gets an ``AppSymbolIndex`` that answers the protocol's
three questions from ``symbol_files`` rows. When two uploads answer the same question the newest
wins, as in ``InMemorySymbolIndex``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crashsvc.models import SymbolFile
from crashsvc.models.base import utcnow
from crashsvc.symbols.catalog import normal_debug_id
from crashsvc.symbols.index import ProguardKey, url_key
from crashsvc.symbols.store import SymbolStore


class DatabaseSymbolIndex:
    """Per-process entry point: bind to an app with ``for_app``."""

    def __init__(self, sessions: Callable[[], Session], root: Path):
        self.sessions = sessions
        self.root = Path(root)

    def for_app(self, app_id: int) -> AppSymbolIndex:
        return AppSymbolIndex(self.sessions, self.root, app_id)


class AppSymbolIndex:
    """A ``SymbolIndex`` over one app's rows with status ``ready``; records what it served."""

    def __init__(self, sessions: Callable[[], Session], root: Path, app_id: int):
        self.sessions = sessions
        self.root = Path(root)
        self.app_id = app_id

    def find_native(self, debug_id: str) -> Path | None:
        row = self._newest(SymbolFile.kind == "native", SymbolFile.debug_id == normal_debug_id(debug_id),
                           SymbolFile.symcache_path.is_not(None))
        if row is None:
            return None
        path = self.root / row.symcache_path
        return path if path.exists() else None

    def find_proguard(self, key: ProguardKey) -> Path | None:
        if isinstance(key, str):
            condition = SymbolFile.debug_id == normal_debug_id(key)
        else:
            condition = (SymbolFile.app_version == key[0]) & (SymbolFile.build == key[1])
        row = self._newest(SymbolFile.kind == "proguard", condition)
        return self.root / row.path if row else None

    def find_sourcemap(
        self, abs_path: str, release: str | None, debug_id: str | None = None
    ) -> tuple[Path, Path | None] | None:
        debug_id = normal_debug_id(debug_id)
        if debug_id:
            sourcemap = self._newest(SymbolFile.kind == "sourcemap", SymbolFile.debug_id == debug_id)
            if sourcemap is not None:
                minified = self._newest(SymbolFile.kind == "minified_source", SymbolFile.debug_id == debug_id)
                return self.root / sourcemap.path, self.root / minified.path if minified else None
        path = url_key(abs_path)
        minified = self._script("minified_source", path, release)
        candidates = [path + ".map"]
        if minified is not None and minified.source_map_url and not minified.source_map_url.startswith("data:"):
            candidates.insert(0, url_key(urljoin(path, minified.source_map_url)))
        for candidate in candidates:
            sourcemap = self._script("sourcemap", candidate, release)
            if sourcemap is not None:
                return self.root / sourcemap.path, self.root / minified.path if minified else None
        return None

    def _script(self, kind: str, lookup_key: str, release: str | None) -> SymbolFile | None:
        release_is = SymbolFile.release.is_(None) if release is None else SymbolFile.release == release
        return self._newest(SymbolFile.kind == kind, SymbolFile.lookup_key == lookup_key, release_is)

    def _newest(self, *conditions: Any) -> SymbolFile | None:
        query = (
            select(SymbolFile)
            .where(SymbolFile.app_id == self.app_id, SymbolFile.status == "ready", *conditions)
            .order_by(SymbolFile.uploaded_at.desc(), SymbolFile.id.desc())
            .limit(1)
        )
        with self.sessions() as session:
            row = session.scalars(query).first()
            if row is not None and _stale(row):
                # last_used_at tells operators which files are still needed; day precision is plenty.
                session.execute(update(SymbolFile).where(SymbolFile.id == row.id).values(last_used_at=utcnow()))
                session.commit()
        return row


def _stale(row: SymbolFile) -> bool:
    return row.last_used_at is None or (utcnow() - row.last_used_at).total_seconds() > 86400


def attach_symbol_services(services: Any) -> None:
    """``workers.runtime`` extension: the worker's symbol store (bounded LRU) and database index."""
    settings = services.settings
    services.symbol_store = SymbolStore(
        settings.symbols_path,
        max_open_handles=settings.symbols_max_open_handles,
        max_open_bytes=settings.symbols_max_open_bytes,
    )
    services.symbol_index = DatabaseSymbolIndex(services.db.sessions, settings.symbols_path)
