"""Walk an upload safely: a single file, a folder (``.dSYM`` bundles included) or a zip file.

Every entry name is checked before anything is written: absolute names, ``..`` components and links
that leave the upload raise ``unsafe_archive``; the total size and file count are bounded so a zip
bomb fails with ``upload_too_large`` instead of filling the disk.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from crashsvc.symbols.errors import UNSAFE_ARCHIVE, UPLOAD_TOO_LARGE, SymbolFileError

COPY_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class UploadLimits:
    """Bounds on one upload, counted over every file it contains (after decompression)."""

    max_total_bytes: int = 2 * 1024**3
    max_files: int = 10_000


@dataclass(frozen=True)
class UploadEntry:
    """One regular file of an upload: its name inside the upload and where to read it."""

    name: str
    path: Path


def walk_upload(source: Path, scratch: Path, limits: UploadLimits | None = None) -> Iterator[UploadEntry]:
    """Yield the regular files of ``source``; zip members are extracted under ``scratch`` first."""
    limits = limits or UploadLimits()
    if source.is_symlink():
        raise SymbolFileError(UNSAFE_ARCHIVE, f"{source.name}: the upload itself is a link")
    if source.is_dir():
        yield from _walk_folder(source, limits)
    elif zipfile.is_zipfile(source):
        yield from _extract_zip(source, scratch, limits)
    else:
        _check_bounds(1, source.stat().st_size, limits)
        yield UploadEntry(source.name, source)


def safe_member_name(raw: str) -> str:
    """Return the normalised relative name of an archive member, or raise ``unsafe_archive``."""
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise SymbolFileError(UNSAFE_ARCHIVE, f"archive entry {raw!r} has an absolute path")
    parts = [part for part in PurePosixPath(name).parts if part not in ("", ".")]
    if ".." in parts:
        raise SymbolFileError(UNSAFE_ARCHIVE, f"archive entry {raw!r} leaves the archive")
    return "/".join(parts)


def _check_bounds(files: int, total: int, limits: UploadLimits) -> None:
    if files > limits.max_files:
        raise SymbolFileError(
            UPLOAD_TOO_LARGE, f"the upload holds more than {limits.max_files} files", status=413
        )
    if total > limits.max_total_bytes:
        raise SymbolFileError(
            UPLOAD_TOO_LARGE, f"the upload is larger than {limits.max_total_bytes} bytes", status=413
        )


def _walk_folder(root: Path, limits: UploadLimits) -> Iterator[UploadEntry]:
    real_root = root.resolve()
    entries: list[UploadEntry] = []
    total = 0
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames) + [d for d in dirnames if (Path(directory) / d).is_symlink()]:
            path = Path(directory) / name
            relative = path.relative_to(root).as_posix()
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(real_root):
                    raise SymbolFileError(UNSAFE_ARCHIVE, f"{relative!r} links outside the upload")
                continue  # a link inside the upload reaches content the walk visits anyway
            if not path.is_file():
                continue
            total += path.stat().st_size
            entries.append(UploadEntry(relative, path))
            _check_bounds(len(entries), total, limits)
    yield from entries


def _extract_zip(source: Path, scratch: Path, limits: UploadLimits) -> Iterator[UploadEntry]:
    with zipfile.ZipFile(source) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        names = []
        for info in members:
            names.append(safe_member_name(info.filename))
            if stat.S_ISLNK(info.external_attr >> 16):
                raise SymbolFileError(UNSAFE_ARCHIVE, f"archive entry {info.filename!r} is a link")
        # Declared sizes first (cheap), then actual bytes while copying (headers can lie).
        _check_bounds(len(members), sum(info.file_size for info in members), limits)
        scratch.mkdir(parents=True, exist_ok=True)
        written = 0
        entries = []
        for info, name in zip(members, names, strict=True):
            target = scratch / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, target.open("wb") as dst:
                while chunk := src.read(COPY_CHUNK):
                    written += len(chunk)
                    _check_bounds(len(entries) + 1, written, limits)
                    dst.write(chunk)
            entries.append(UploadEntry(name, target))
    yield from entries


def remove_scratch(scratch: Path) -> None:
    """Delete a scratch directory made by ``walk_upload``."""
    shutil.rmtree(scratch, ignore_errors=True)
