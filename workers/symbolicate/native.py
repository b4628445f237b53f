"""Native frames: find each address's image, open its SymCache, and expand inlined functions.

Frames are innermost first. Index 0 of a stack holds the instruction pointer; every other frame holds
a return address, which points *after* the call. Those caller frames are looked up one instruction
earlier (symbolic's ``find_best_instruction``: ``addr - 1`` on x86, the previous aligned 4-byte
instruction on arm64), otherwise a call as the last instruction of a function would resolve to the
next function or the wrong line.
"""

from __future__ import annotations

import bisect
import posixpath
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from symbolic import SymCache, find_best_instruction
from symbolic.common import arch_is_known, normalize_arch

from workers.symbolicate.demangle import demangle_name
from workers.symbolicate.in_app import is_app_image

NATIVE_IMAGE_TYPES = {"macho", "elf", "pe", "apple", "symbolic", "wasm"}


def parse_address(value: Any) -> int | None:
    """Read an address given as an int or a hex (``0x..``) / decimal string; None when absent."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip().lower()
        try:
            return int(text, 16) if text.startswith("0x") else int(text)
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class Image:
    """One loaded native image of the crashed process."""

    index: int  # position in report["images"], used for notes
    start: int
    end: int | None  # exclusive; None when the size is unknown (up to the next image)
    debug_id: str | None
    code_file: str | None
    arch: str | None
    type: str

    @property
    def name(self) -> str:
        return posixpath.basename((self.code_file or "").replace("\\", "/")) or (self.debug_id or "?")


class ImageMap:
    """Native images sorted by load address, for address → image look-ups."""

    def __init__(self, images: list[dict[str, Any]], default_arch: str | None = None):
        parsed = []
        for index, raw in enumerate(images or []):
            if not isinstance(raw, dict) or raw.get("type", "macho") not in NATIVE_IMAGE_TYPES:
                continue
            start = parse_address(raw.get("image_addr"))
            if start is None:
                continue
            size = parse_address(raw.get("image_size"))
            parsed.append(
                Image(
                    index=index,
                    start=start,
                    end=start + size if size else None,
                    debug_id=raw.get("debug_id") or raw.get("uuid") or raw.get("id"),
                    code_file=raw.get("code_file") or raw.get("name"),
                    arch=known_arch(raw.get("arch")) or default_arch,
                    type=raw.get("type") or "macho",
                )
            )
        parsed.sort(key=lambda image: image.start)
        self.images = parsed
        self._starts = [image.start for image in parsed]

    def find(self, addr: int) -> Image | None:
        position = bisect.bisect_right(self._starts, addr) - 1
        if position < 0:
            return None
        image = self.images[position]
        if image.end is not None and addr >= image.end:
            return None
        return image


def lookup_address(addr: int, arch: str | None, caller_frame: bool) -> int:
    """The address to look up: the instruction itself, or the call before a return address."""
    if not caller_frame:
        return addr
    if arch and _arch_is_known(arch):
        return find_best_instruction(addr, arch, crashing_frame=False)
    return max(addr - 1, 0)  # unknown architecture: still step back into the call


@lru_cache(maxsize=64)
def _arch_is_known(arch: str) -> bool:
    return arch_is_known(arch)


def symbolicate_frame(
    frame: dict[str, Any], image: Image, symcache: SymCache, caller_frame: bool
) -> list[dict[str, Any]] | None:
    """Return the frame expanded into one frame per inline level (innermost first), or None.

    The original ``instruction_addr`` stays on every produced frame; ``inlined`` marks the frames
    that exist only because a function was inlined into the outermost one.
    """
    addr = parse_address(frame.get("instruction_addr"))
    if addr is None:
        return None
    if frame.get("adjust_instruction_addr") is False:
        caller_frame = False
    relative = lookup_address(addr, image.arch, caller_frame) - image.start
    if relative < 0:
        return None
    locations = symcache.lookup(relative)
    if not locations:
        return None
    in_app = frame.get("in_app")
    if in_app is None:
        in_app = is_app_image(image.code_file)
    expanded = []
    for depth, location in enumerate(locations):
        new = dict(frame)
        for stale in ("filename", "abs_path", "lineno", "colno", "symbol"):
            new.pop(stale, None)
        new["function"] = demangle_name(location.symbol) if location.symbol else "<unknown>"
        new["raw_function"] = location.symbol
        if location.full_path:
            new["abs_path"] = location.full_path
            new["filename"] = posixpath.basename(location.full_path.replace("\\", "/"))
        if location.line:
            new["lineno"] = location.line
        new["symbol_addr"] = hex(image.start + location.sym_addr)
        new["image_addr"] = hex(image.start)
        if image.code_file:
            new["package"] = image.code_file
        new["in_app"] = bool(in_app)
        new["symbolicated"] = True
        if depth < len(locations) - 1:
            new["inlined"] = True
        else:
            new.pop("inlined", None)
        expanded.append(new)
    return expanded


def mark_unsymbolicated(frame: dict[str, Any], image: Image | None) -> dict[str, Any]:
    """Keep a frame we could not resolve as it came, recording that and its image."""
    new = dict(frame)
    new["symbolicated"] = False
    if image is not None:
        new.setdefault("image_addr", hex(image.start))
        if image.code_file:
            new.setdefault("package", image.code_file)
        if new.get("in_app") is None:
            new["in_app"] = is_app_image(image.code_file)
    return new


def known_arch(raw: Any) -> str | None:
    if not isinstance(raw, str) or not raw:
        return None
    candidate = raw.strip("()").strip()
    if arch_is_known(candidate):
        return normalize_arch(candidate)
    return None


def arch_from_code_type(code_type: str | None) -> str | None:
    """Map an Apple ``Code Type`` (``X86-64``, ``ARM-64 (Native)``) to an architecture name."""
    if not code_type:
        return None
    text = code_type.split("(")[0].strip().upper()
    return {
        "X86-64": "x86_64",
        "X86": "x86",
        "ARM-64": "arm64",
        "ARM64": "arm64",
        "ARM": "arm",
        "ARM64E": "arm64e",
    }.get(text)
