"""The content-addressed symbol store: uploaded files by sha256, their SymCaches and metadata.

Layout under ``root`` (see docs/symbols.md)::

    objects/ab/<sha256>                                  the uploaded file, byte for byte
    meta/ab/<sha256>.json                                list of StoredDebugFile records for it
    symcaches/ab/<sha256>.<debug_id>.<arch>.v<N>.symcache one SymCache per native object (N: format)
    tmp/                                                 staging for atomic writes and zip extraction

Every write goes to ``tmp/`` first and is renamed into place, so readers never see half a file.
SymCaches are built at upload time (``build_symcache``), never while a crash is processed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from symbolic import SYMCACHE_LATEST_VERSION, Archive, ProguardMapper, SourceMapCache, SymCache

from crashsvc.symbols.errors import INVALID_SYMBOL_FILE, SymbolFileError
from crashsvc.symbols.formats import IdentifiedFile, identify_file
from crashsvc.symbols.open_cache import OpenHandleCache
from crashsvc.symbols.upload import UploadLimits, remove_scratch, walk_upload

HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredDebugFile:
    """One debug object kept in the store, as the index and the symbolicator need to find it."""

    kind: str  # native | proguard | sourcemap | minified_source
    debug_id: str | None  # native debug id, ProGuard UUID, or JS debug id
    code_id: str | None
    arch: str | None
    features: tuple[str, ...]
    object_name: str  # name inside the upload; for JS the URL (``~/static/app.min.js``)
    sha256: str
    size: int
    path: Path
    symcache_path: Path | None = None  # native only: where build_symcache writes its SymCache
    file_format: str = ""
    release: str | None = None  # JS: the release the files belong to
    app_version: str | None = None  # ProGuard: app version + build identify the mapping too
    build: str | None = None
    source_map_url: str | None = None  # minified sources: the map their comment names

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["features"] = list(self.features)
        data["path"] = str(self.path)
        data["symcache_path"] = str(self.symcache_path) if self.symcache_path else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredDebugFile:
        values = dict(data)
        values["features"] = tuple(values.get("features") or ())
        values["path"] = Path(values["path"])
        values["symcache_path"] = Path(values["symcache_path"]) if values.get("symcache_path") else None
        return cls(**values)


@dataclass(frozen=True)
class UploadMetadata:
    """What the uploader tells us beyond the bytes: release for JS, version and build for ProGuard."""

    release: str | None = None
    app_version: str | None = None
    build: str | None = None
    url_prefix: str = field(default="~/")  # JS files are named ``url_prefix + path inside the upload``


class SymbolStore:
    """Store uploads by content hash and open their SymCaches / mappings through a bounded cache."""

    def __init__(self, root: Path, *, max_open_handles: int = 64, max_open_bytes: int = 512 * 1024**2):
        self.root = Path(root)
        self.handles = OpenHandleCache(max_open_handles, max_open_bytes)
        for sub in ("objects", "meta", "symcaches", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # -- storing ---------------------------------------------------------------------------------
    def add_upload(
        self,
        source: Path,
        metadata: UploadMetadata | None = None,
        *,
        limits: UploadLimits | None = None,
        build_symcaches: bool = True,
    ) -> list[StoredDebugFile]:
        """Store every usable file of an upload (file, folder or zip); raise if none is usable.

        Inside a folder or zip, files that are not symbols (``Info.plist``, READMEs) are skipped; a
        single file that is not a symbol file raises ``invalid_symbol_file``.
        """
        metadata = metadata or UploadMetadata()
        scratch = Path(tempfile.mkdtemp(dir=self.root / "tmp", prefix="upload-"))
        stored: list[StoredDebugFile] = []
        first_error: SymbolFileError | None = None
        try:
            entries = list(walk_upload(Path(source), scratch, limits))
            for entry in entries:
                try:
                    stored.extend(
                        self.add_file(entry.path, entry.name, metadata, build_symcaches=build_symcaches)
                    )
                except SymbolFileError as exc:
                    if len(entries) == 1 or exc.code != INVALID_SYMBOL_FILE:
                        raise
                    first_error = first_error or exc
        finally:
            remove_scratch(scratch)
        if not stored:
            raise first_error or SymbolFileError(INVALID_SYMBOL_FILE, "the upload holds no symbol files")
        return stored

    def add_file(
        self, path: Path, name: str, metadata: UploadMetadata | None = None, *, build_symcaches: bool = True
    ) -> list[StoredDebugFile]:
        """Identify, copy into the store (atomically) and describe one file."""
        metadata = metadata or UploadMetadata()
        identified = identify_file(Path(path), name)
        sha256, size = _hash_file(Path(path))
        target = self._object_path(sha256)
        if not target.exists():
            with self._atomic(target) as staging, Path(path).open("rb") as src:
                while chunk := src.read(HASH_CHUNK):
                    staging.write(chunk)
        records = [self._describe(item, name, sha256, size, target, metadata) for item in identified]
        self._remember(sha256, records)
        if build_symcaches:
            for record in records:
                if record.symcache_path is not None and not record.symcache_path.exists():
                    build_symcache(record)
        return records

    def _describe(
        self, item: IdentifiedFile, name: str, sha256: str, size: int, target: Path, metadata: UploadMetadata
    ) -> StoredDebugFile:
        is_js = item.kind in ("sourcemap", "minified_source")
        symcache_path = None
        if item.kind == "native" and {"debug", "symtab"} & set(item.features):
            symcache_path = (
                self.root
                / "symcaches"
                / sha256[:2]
                / f"{sha256}.{item.debug_id}.{item.arch}.v{SYMCACHE_LATEST_VERSION}.symcache"
            )
        return StoredDebugFile(
            kind=item.kind,
            debug_id=item.debug_id,
            code_id=item.code_id,
            arch=item.arch,
            features=item.features,
            object_name=(metadata.url_prefix + name.lstrip("/")) if is_js else name,
            sha256=sha256,
            size=size,
            path=target,
            symcache_path=symcache_path,
            file_format=item.file_format,
            release=metadata.release if is_js else None,
            app_version=metadata.app_version if item.kind == "proguard" else None,
            build=metadata.build if item.kind == "proguard" else None,
            source_map_url=item.source_map_url,
        )

    def _remember(self, sha256: str, records: list[StoredDebugFile]) -> None:
        meta_path = self.root / "meta" / sha256[:2] / f"{sha256}.json"
        known = (
            [StoredDebugFile.from_dict(d) for d in json.loads(meta_path.read_text())]
            if meta_path.exists()
            else []
        )
        merged = known + [record for record in records if record not in known]
        if merged != known:
            payload = json.dumps([record.as_dict() for record in merged], indent=1, sort_keys=True)
            with self._atomic(meta_path) as staging:
                staging.write(payload.encode())

    def iter_stored(self) -> Iterator[StoredDebugFile]:
        """Every record in the store (what a filesystem-backed index is rebuilt from)."""
        for meta_path in sorted((self.root / "meta").glob("*/*.json")):
            for data in json.loads(meta_path.read_text()):
                yield StoredDebugFile.from_dict(data)

    def _object_path(self, sha256: str) -> Path:
        return self.root / "objects" / sha256[:2] / sha256

    @contextmanager
    def _atomic(self, target: Path) -> Iterator[Any]:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = self.root / "tmp" / f"{target.name}.{uuid.uuid4().hex}.part"
        try:
            with staging.open("wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(staging, target)
        finally:
            staging.unlink(missing_ok=True)

    # -- opening (crash time) --------------------------------------------------------------------
    def open_symcache(self, path: Path) -> SymCache:
        """Open a built SymCache (memory-mapped) through the bounded handle cache."""
        return self.handles.get(
            ("symcache", str(path)), lambda: (SymCache.open(str(path)), Path(path).stat().st_size)
        )

    def open_proguard(self, path: Path) -> ProguardMapper:
        """Open a ProGuard/R8 mapping through the bounded handle cache."""
        return self.handles.get(
            ("proguard", str(path)), lambda: (ProguardMapper.open(str(path)), Path(path).stat().st_size * 2)
        )

    def open_sourcemap(self, map_path: Path, minified_path: Path | None) -> SourceMapCache:
        """Open a source map (with its minified file when known) through the bounded handle cache."""

        def opener() -> tuple[SourceMapCache, int]:
            source = Path(minified_path).read_bytes() if minified_path else b""
            sourcemap = Path(map_path).read_bytes()
            return SourceMapCache.from_bytes(source, sourcemap), len(source) + len(sourcemap)

        return self.handles.get(("sourcemap", str(map_path), str(minified_path)), opener)


def build_symcache(stored: StoredDebugFile) -> Path:
    """Write the SymCache of one stored native object to ``stored.symcache_path``; return that path.

    Safe to call from a job and to call twice: the file is written atomically and rebuilt identically.
    """
    if stored.symcache_path is None:
        raise SymbolFileError(INVALID_SYMBOL_FILE, f"{stored.object_name}: has no symbols to cache")
    archive = Archive.open(str(stored.path))
    obj = next(
        (o for o in archive.iter_objects() if o.debug_id == stored.debug_id and o.arch == stored.arch), None
    )
    if obj is None:
        raise SymbolFileError(INVALID_SYMBOL_FILE, f"{stored.object_name}: object {stored.debug_id} is gone")
    target = stored.symcache_path
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f"{target.name}.{uuid.uuid4().hex}.part")
    try:
        with staging.open("wb") as handle:
            obj.make_symcache().dump_into(handle)
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return target


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
