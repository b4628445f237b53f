"""How symbolication finds stored debug files: the ``SymbolIndex`` protocol and an in-memory index.

The database-backed index comes later; it implements the same three questions. ``InMemorySymbolIndex``
answers them from records (``add``) or from the store's own metadata (``from_store``), which is enough
for tests, the benchmark and a single-process deployment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from symbolic import normalize_debug_id
from symbolic.exceptions import SymbolicError

from crashsvc.symbols.store import StoredDebugFile, SymbolStore

ProguardKey = str | tuple[str, str]  # mapping UUID, or (app version, build)


class SymbolIndex(Protocol):
    """Look-ups the symbolication stage needs; every answer is a path in the symbol store or None."""

    def find_native(self, debug_id: str) -> Path | None:
        """The built SymCache for a native debug id."""

    def find_proguard(self, key: ProguardKey) -> Path | None:
        """The ProGuard/R8 mapping for a UUID or an (app version, build) pair."""

    def find_sourcemap(
        self, abs_path: str, release: str | None, debug_id: str | None = None
    ) -> tuple[Path, Path | None] | None:
        """The (source map, minified source or None) for a script URL in a release, or a debug id."""


def url_key(url: str) -> str:
    """Reduce a script URL or an uploaded name to the path it is matched on (``~/`` = any host)."""
    if url.startswith("~/"):
        return url[1:]
    parts = urlsplit(url)
    path = parts.path if parts.scheme or parts.netloc else url
    return path if path.startswith("/") else "/" + path


class InMemorySymbolIndex:
    """A ``SymbolIndex`` held in dictionaries; the newest record wins when two answer the same key."""

    def __init__(self) -> None:
        self._native: dict[str, StoredDebugFile] = {}
        self._proguard: dict[object, StoredDebugFile] = {}
        self._js_by_id: dict[tuple[str, str], StoredDebugFile] = {}
        self._js_by_url: dict[tuple[str, str, str | None], StoredDebugFile] = {}

    @classmethod
    def from_store(cls, store: SymbolStore) -> InMemorySymbolIndex:
        index = cls()
        for record in store.iter_stored():
            index.add(record)
        return index

    def add(self, record: StoredDebugFile) -> None:
        """Make one stored record findable."""
        if record.kind == "native":
            if record.debug_id and record.symcache_path is not None:
                self._native[record.debug_id] = record
        elif record.kind == "proguard":
            self._proguard[record.debug_id] = record
            if record.app_version and record.build:
                self._proguard[(record.app_version, record.build)] = record
        elif record.kind in ("sourcemap", "minified_source"):
            if record.debug_id:
                self._js_by_id[(record.kind, record.debug_id)] = record
            self._js_by_url[(record.kind, url_key(record.object_name), record.release)] = record

    def add_all(self, records: list[StoredDebugFile]) -> None:
        for record in records:
            self.add(record)

    def find_native(self, debug_id: str) -> Path | None:
        record = self._native.get(_normal_id(debug_id) or "")
        if record is None or record.symcache_path is None or not record.symcache_path.exists():
            return None
        return record.symcache_path

    def find_proguard(self, key: ProguardKey) -> Path | None:
        if isinstance(key, str):
            key = _normal_id(key) or key
        record = self._proguard.get(key)
        return record.path if record else None

    def find_sourcemap(
        self, abs_path: str, release: str | None, debug_id: str | None = None
    ) -> tuple[Path, Path | None] | None:
        debug_id = _normal_id(debug_id)
        if debug_id:
            sourcemap = self._js_by_id.get(("sourcemap", debug_id))
            if sourcemap is not None:
                minified = self._js_by_id.get(("minified_source", debug_id))
                return sourcemap.path, minified.path if minified else None
        path = url_key(abs_path)
        minified = self._js_by_url.get(("minified_source", path, release))
        candidates = [path + ".map"]
        if (
            minified is not None
            and minified.source_map_url
            and not minified.source_map_url.startswith("data:")
        ):
            candidates.insert(0, url_key(urljoin(path, minified.source_map_url)))
        for candidate in candidates:
            sourcemap = self._js_by_url.get(("sourcemap", candidate, release))
            if sourcemap is not None:
                return sourcemap.path, minified.path if minified else None
        return None


def _normal_id(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return normalize_debug_id(raw)
    except SymbolicError:
        return raw.lower()
