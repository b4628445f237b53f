"""The database-backed ``SymbolIndex``: each app finds only its own, ready symbol files.

``DatabaseSymbolIndex`` is per process (the worker's ``services.symbol_index``); the symbolication
stage asks it ``for_app(ctx.app_id)`` and gets an ``AppSymbolIndex`` that answers the protocol's
three questions from ``symbol_files`` rows. When two uploads answer the same question the newest
wins, as in ``InMemorySymbolIndex``.

Look-ups are cached per process, found or not (a report's images repeat across reports of a
release, and most have no symbols: system libraries), for ``SYMBOLS_LOOKUP_CACHE_SECONDS``. Late
symbols still apply at once: a finished SymCache build bumps a Redis generation number
(``bump_symbols_generation``) and every worker compares it once per batch (``refresh``), dropping
its cache when it moved. A cached file that left the disk (a symbol purge) is looked up again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crashsvc.models import SymbolFile
from crashsvc.models.base import utcnow
from crashsvc.symbols.catalog import normal_debug_id
from crashsvc.symbols.index import ProguardKey, url_key
from crashsvc.symbols.store import SymbolStore

log = logging.getLogger("crashsvc.symbols")

GENERATION_KEY = "crashsvc:symbols:generation"
CACHE_MAX_ENTRIES = 65_536  # look-ups, found or not; the oldest go first


def bump_symbols_generation(redis: Any) -> None:
    """Tell every worker that symbol files became ready: their cached look-ups are stale."""
    redis.incr(GENERATION_KEY)


class LookupCache:
    """Per-process memo of ``_newest`` answers (a detached row or None), with a TTL and a size bound."""

    def __init__(self, ttl: float, redis: Any = None, max_entries: int = CACHE_MAX_ENTRIES):
        self.ttl = ttl
        self.redis = redis
        self.max_entries = max_entries
        self.generation: bytes | None = None
        self._entries: dict[tuple[Any, ...], tuple[float, SymbolFile | None]] = {}

    def get(self, key: tuple[Any, ...]) -> tuple[bool, SymbolFile | None]:
        """(hit, row): a miss when absent or older than the TTL."""
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, key: tuple[Any, ...], row: SymbolFile | None) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (time.monotonic() + self.ttl, row)

    def drop(self, key: tuple[Any, ...]) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def refresh(self) -> None:
        """One round trip: forget everything if a SymCache build finished since the last call."""
        if self.redis is None or self.ttl <= 0:
            return
        try:
            generation = self.redis.get(GENERATION_KEY)
        except RedisError as error:  # the TTL still bounds how stale a look-up gets
            log.warning("symbols_generation_unreadable", extra={"error_type": type(error).__name__})
            return
        if generation != self.generation:
            self.clear()
            self.generation = generation


class DatabaseSymbolIndex:
    """Per-process entry point: bind to an app with ``for_app``; ``refresh`` once per batch."""

    def __init__(
        self, sessions: Callable[[], Session], root: Path, *, cache_seconds: float = 0, redis: Any = None
    ):
        self.sessions = sessions
        self.root = Path(root)
        self.cache = LookupCache(cache_seconds, redis)

    def for_app(self, app_id: int) -> AppSymbolIndex:
        return AppSymbolIndex(self.sessions, self.root, app_id, self.cache)

    def refresh(self) -> None:
        """Drop cached look-ups if symbol files became ready anywhere since the last call."""
        self.cache.refresh()

    def invalidate(self) -> None:
        """Drop every cached look-up of this process."""
        self.cache.clear()


class AppSymbolIndex:
    """A ``SymbolIndex`` over one app's rows with status ``ready``; records what it served."""

    def __init__(
        self, sessions: Callable[[], Session], root: Path, app_id: int, cache: LookupCache | None = None
    ):
        self.sessions = sessions
        self.root = Path(root)
        self.app_id = app_id
        self.cache = cache or LookupCache(0)

    def find_native(self, debug_id: str) -> Path | None:
        debug_id = normal_debug_id(debug_id)
        row = self._newest(
            ("native", debug_id),
            SymbolFile.kind == "native",
            SymbolFile.debug_id == debug_id,
            SymbolFile.symcache_path.is_not(None),
        )
        if row is None:
            return None
        path = self.root / row.symcache_path
        return path if path.exists() else None

    def find_proguard(self, key: ProguardKey) -> Path | None:
        if isinstance(key, str):
            debug_id = normal_debug_id(key)
            cache_key: tuple[Any, ...] = ("proguard", debug_id)
            condition = SymbolFile.debug_id == debug_id
        else:
            cache_key = ("proguard", key[0], key[1])
            condition = (SymbolFile.app_version == key[0]) & (SymbolFile.build == key[1])
        row = self._newest(cache_key, SymbolFile.kind == "proguard", condition)
        return self.root / row.path if row else None

    def find_sourcemap(
        self, abs_path: str, release: str | None, debug_id: str | None = None
    ) -> tuple[Path, Path | None] | None:
        debug_id = normal_debug_id(debug_id)
        if debug_id:
            sourcemap = self._newest(
                ("sourcemap", debug_id), SymbolFile.kind == "sourcemap", SymbolFile.debug_id == debug_id
            )
            if sourcemap is not None:
                minified = self._newest(
                    ("minified_source", debug_id),
                    SymbolFile.kind == "minified_source",
                    SymbolFile.debug_id == debug_id,
                )
                return self.root / sourcemap.path, self.root / minified.path if minified else None
        path = url_key(abs_path)
        minified = self._script("minified_source", path, release)
        candidates = [path + ".map"]
        if (
            minified is not None
            and minified.source_map_url
            and not minified.source_map_url.startswith("data:")
        ):
            candidates.insert(0, url_key(urljoin(path, minified.source_map_url)))
        for candidate in candidates:
            sourcemap = self._script("sourcemap", candidate, release)
            if sourcemap is not None:
                return self.root / sourcemap.path, self.root / minified.path if minified else None
        return None

    def _script(self, kind: str, lookup_key: str, release: str | None) -> SymbolFile | None:
        release_is = SymbolFile.release.is_(None) if release is None else SymbolFile.release == release
        return self._newest(
            (kind, "script", lookup_key, release),
            SymbolFile.kind == kind,
            SymbolFile.lookup_key == lookup_key,
            release_is,
        )

    def _newest(self, key: tuple[Any, ...], *conditions: Any) -> SymbolFile | None:
        """The newest ready row matching ``conditions``; ``key`` names the question in the cache."""
        key = (self.app_id, *key)
        hit, row = self.cache.get(key)
        if hit and (row is None or (self.root / row.path).exists()):
            if row is not None and _stale(row):
                self._mark_used(row)
            return row
        row = self._query(*conditions)
        self.cache.put(key, row)
        return row

    def _mark_used(self, row: SymbolFile) -> None:
        with self.sessions() as session:
            session.execute(update(SymbolFile).where(SymbolFile.id == row.id).values(last_used_at=utcnow()))
            session.commit()
        row.last_used_at = utcnow()

    def _query(self, *conditions: Any) -> SymbolFile | None:
        query = (
            select(SymbolFile)
            .where(SymbolFile.app_id == self.app_id, SymbolFile.status == "ready", *conditions)
            .order_by(SymbolFile.uploaded_at.desc(), SymbolFile.id.desc())
            .limit(1)
        )
        with self.sessions() as session:
            row = session.scalars(query).first()
            if row is not None:
                session.expunge(row)  # kept by the cache: detached, its loaded columns stay readable
        if row is not None and _stale(row):
            # last_used_at tells operators which files are still needed; day precision is plenty.
            self._mark_used(row)
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
    services.symbol_index = DatabaseSymbolIndex(
        services.db.sessions,
        settings.symbols_path,
        cache_seconds=settings.symbols_lookup_cache_seconds,
        redis=services.redis,
    )
