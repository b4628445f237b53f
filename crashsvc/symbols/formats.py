"""Recognise and validate one uploaded symbol file: what it is and which ids identify it.

Native debug files (Mach-O/dSYM, ELF, PE, PDB, Breakpad, WASM) are read with symbolic's ``Archive``;
ProGuard/R8 mappings are identified by the UUID symbolic derives from their content (the same UUID the
Sentry tooling uses); source maps and minified JavaScript are identified by name/URL and release, or by
the ``debugId`` that bundlers embed. Anything else is refused with ``invalid_symbol_file``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from symbolic import Archive, ProguardMapper, SourceMapView, normalize_debug_id
from symbolic.exceptions import SymbolicError

from crashsvc.symbols.errors import INVALID_SYMBOL_FILE, SymbolFileError

# File magics that mean "native object": try symbolic's Archive and treat its failure as a bad upload.
NATIVE_MAGICS: tuple[bytes, ...] = (
    b"\xfe\xed\xfa\xce",
    b"\xce\xfa\xed\xfe",  # Mach-O 32-bit
    b"\xfe\xed\xfa\xcf",
    b"\xcf\xfa\xed\xfe",  # Mach-O 64-bit
    b"\xca\xfe\xba\xbe",
    b"\xca\xfe\xba\xbf",  # Mach-O universal (fat)
    b"\x7fELF",
    b"MZ",  # PE
    b"Microsoft C/C++ MSF 7.00",  # PDB
    b"MODULE ",  # Breakpad .sym
    b"\x00asm",  # WebAssembly
)
# A ProGuard/R8 class line: "original.Name -> obfuscated:".
PROGUARD_CLASS_LINE = re.compile(r"^\S+ -> \S+:$")
# Minified sources that reference their map or carry a debug id in trailing comments.
SOURCE_MAPPING_URL = re.compile(rb"//[#@]\s*sourceMappingURL=(\S+)\s*$", re.MULTILINE)
DEBUG_ID_COMMENT = re.compile(rb"//[#@]\s*debugId=([0-9a-fA-F-]{32,36})\s*$", re.MULTILINE)
JS_SUFFIXES = (".js", ".mjs", ".cjs", ".bundle", ".jsbundle")


@dataclass(frozen=True)
class IdentifiedFile:
    """What identification learnt about one debug object inside an uploaded file."""

    kind: str  # native | proguard | sourcemap | minified_source
    file_format: str  # macho, elf, pe, pdb, breakpad, wasm, proguard, sourcemap, javascript
    debug_id: str | None
    code_id: str | None = None
    arch: str | None = None
    features: tuple[str, ...] = ()
    source_map_url: str | None = None  # minified sources: the map their trailing comment names


def identify_file(path: Path, name: str = "") -> list[IdentifiedFile]:
    """Identify ``path`` (uploaded as ``name``); raise ``SymbolFileError`` when it is not usable."""
    name = name or path.name
    size = path.stat().st_size
    if size == 0:
        raise SymbolFileError(INVALID_SYMBOL_FILE, f"{name}: the file is empty")
    with path.open("rb") as handle:
        head = handle.read(32)
    if head.startswith(NATIVE_MAGICS):
        return _identify_native(path, name)
    data = path.read_bytes()
    stripped = data.lstrip()
    if stripped.startswith(b"{"):
        identified = _identify_sourcemap(data)
        if identified is not None:
            return [identified]
    if _looks_like_proguard(data):
        return [_identify_proguard(path)]
    if name.lower().endswith(JS_SUFFIXES) or SOURCE_MAPPING_URL.search(data[-4096:]):
        return [_identify_minified(data)]
    raise SymbolFileError(INVALID_SYMBOL_FILE, f"{name}: not a recognised symbol file format")


def _identify_native(path: Path, name: str) -> list[IdentifiedFile]:
    try:
        archive = Archive.open(str(path))
        objects = list(archive.iter_objects())
    except SymbolicError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SymbolFileError(INVALID_SYMBOL_FILE, f"{name}: {first_line}") from None
    if not objects:
        raise SymbolFileError(INVALID_SYMBOL_FILE, f"{name}: no debug objects inside")
    found = []
    for obj in objects:
        found.append(
            IdentifiedFile(
                kind="native",
                file_format=obj.file_format,
                debug_id=obj.debug_id,
                code_id=obj.code_id,
                arch=obj.arch,
                features=tuple(sorted(obj.features)),
            )
        )
    return found


def _looks_like_proguard(data: bytes) -> bool:
    for raw in data[:65536].splitlines()[:50]:
        line = raw.decode("utf-8", "replace").rstrip()
        if not line or line.startswith("#"):
            continue
        return bool(PROGUARD_CLASS_LINE.match(line))
    return False


def _identify_proguard(path: Path) -> IdentifiedFile:
    mapper = ProguardMapper.open(str(path))
    features = ("mapping", "line_info") if mapper.has_line_info else ("mapping",)
    return IdentifiedFile(
        kind="proguard", file_format="proguard", debug_id=str(mapper.uuid), features=features
    )


def _identify_sourcemap(data: bytes) -> IdentifiedFile | None:
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict) or document.get("version") != 3:
        return None
    if "mappings" not in document and "sections" not in document:
        return None
    try:
        SourceMapView.from_json_bytes(data)
    except SymbolicError as exc:
        raise SymbolFileError(INVALID_SYMBOL_FILE, f"invalid source map: {exc}") from None
    raw_id = document.get("debugId") or document.get("debug_id")
    features = ["mappings"]
    if document.get("sourcesContent"):
        features.append("sources")
    if "x_facebook_sources" in document or "x_hermes_function_offsets" in document:
        features.append("react_native")
    return IdentifiedFile(
        kind="sourcemap", file_format="sourcemap", debug_id=_clean_debug_id(raw_id), features=tuple(features)
    )


def _identify_minified(data: bytes) -> IdentifiedFile:
    tail = data[-4096:]
    url_match = SOURCE_MAPPING_URL.search(tail)
    id_match = DEBUG_ID_COMMENT.search(tail)
    map_url = url_match.group(1).decode("utf-8", "replace") if url_match else None
    raw_id = id_match.group(1).decode("ascii") if id_match else None
    return IdentifiedFile(
        kind="minified_source",
        file_format="javascript",
        debug_id=_clean_debug_id(raw_id),
        features=("source",),
        source_map_url=map_url,
    )


def _clean_debug_id(raw: object) -> str | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return normalize_debug_id(raw)
    except SymbolicError:
        return None
