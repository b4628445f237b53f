"""Which stack a signature is made from, and the stable name of each of its frames."""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from typing import Any

from workers.grouping.normalize import (
    is_placeholder,
    normalize_dart,
    normalize_java,
    normalize_javascript,
    normalize_native,
)

NATIVE_FRAME_PLATFORMS = {"native", "cocoa", "objc", "c", "swift"}


@dataclass(frozen=True)
class Stack:
    """The frames chosen for the signature (innermost first) and where they came from."""

    frames: list[dict[str, Any]]
    path: str  # "exception.frames" or "threads[2].frames"
    hint: str


@dataclass(frozen=True)
class NamedFrame:
    """A frame reduced to what grouping looks at."""

    index: int
    name: str
    package: str | None  # basename of the frame's image, for ``package=`` rules
    in_app: bool | None
    symbolicated: bool
    function: str | None  # the raw name, shown in explanations


def parse_address(value: Any) -> int | None:
    """``"0x1a2b"``, ``"6699"`` or ``6699`` → 6699; anything else → None."""
    if type(value) is int:
        return value
    if isinstance(value, str):
        try:
            return int(value, 16) if value[:2] in ("0x", "0X") else int(value)
        except ValueError:
            return None
    return None


def basename(path: Any) -> str | None:
    if not isinstance(path, str) or not path:
        return None
    return _basename(path)


@functools.lru_cache(maxsize=4096)
def _basename(path: str) -> str | None:
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or None


def choose_stack(report: dict[str, Any]) -> Stack | None:
    """The exception's own stack, else the crashing thread, else the first thread with frames."""
    exception = report.get("exception")
    if isinstance(exception, dict) and _frames(exception):
        return Stack(_frames(exception), "exception.frames", "the exception's own stack")
    threads = [t for t in report.get("threads") or [] if isinstance(t, dict)]
    for index, thread in enumerate(threads):
        if thread.get("crashed") and _frames(thread):
            return Stack(_frames(thread), f"threads[{index}].frames", "the crashing thread")
    for index, thread in enumerate(threads):
        if _frames(thread):
            return Stack(
                _frames(thread), f"threads[{index}].frames", "no crashed thread: first thread with frames"
            )
    return None


def _frames(holder: dict[str, Any]) -> list[dict[str, Any]]:
    frames = holder.get("frames")
    return [f for f in frames if isinstance(f, dict)] if isinstance(frames, list) else []


class ImageIndex:
    """Finds the loaded image containing an address, to name unsymbolicated frames module+offset."""

    def __init__(self, images: Any) -> None:
        self._images = images
        self._starts: list[int] | None = None
        self._spans: list[tuple[int, dict[str, Any]]] = []

    def _build(self) -> list[int]:
        """Index the images on first use (most reports never look one up); sizes and names stay lazy."""
        spans = []
        for image in self._images if isinstance(self._images, list) else []:
            if type(image) is dict:
                start = parse_address(image.get("image_addr"))
                if start is not None:
                    spans.append((start, image))
        spans.sort(key=_span_start)
        self._spans = spans
        self._starts = [span[0] for span in spans]
        return self._starts

    def find(self, address: int) -> tuple[int, str] | None:
        """(image start, image basename) of the image containing ``address``."""
        starts = self._starts if self._starts is not None else self._build()
        position = bisect.bisect_right(starts, address) - 1
        if position < 0:
            return None
        start, image = self._spans[position]
        size = parse_address(image.get("image_size"))
        name = basename(image.get("code_file")) or basename(image.get("debug_file"))
        if not name or (size and address >= start + size):
            return None
        return start, name


def _span_start(span: tuple[int, dict[str, Any]]) -> int:
    return span[0]


def frame_language(frame: dict[str, Any], platform: str) -> str:
    """``native``, ``java``, ``javascript`` or ``dart``: which normalizer names this frame."""
    own = frame.get("platform")
    if own in NATIVE_FRAME_PLATFORMS:
        return "native"
    if own in {"java", "javascript", "dart"}:
        return own
    if own == "node":
        return "javascript"
    if platform == "android":
        # NDK frames in an Android report carry an address and no class.
        return "native" if frame.get("instruction_addr") is not None and not frame.get("module") else "java"
    if platform in {"javascript", "dart"}:
        return platform
    return "native"


def name_frame(index: int, frame: dict[str, Any], platform: str, images: ImageIndex) -> NamedFrame:
    """Give a frame its stable name: a normalized function, or ``image+0xoffset`` without a symbol."""
    language = frame_language(frame, platform)
    in_app = frame.get("in_app")
    if not isinstance(in_app, bool):
        in_app = None
    function = frame.get("function")
    if not isinstance(function, str):
        function = frame.get("raw_function") or frame.get("symbol")
        function = function if isinstance(function, str) else None
    package = basename(frame.get("package"))
    symbolicated = not is_placeholder(function)
    if language == "java" and (symbolicated or frame.get("module")):
        name = normalize_java(frame.get("module"), function if symbolicated else None)
        return NamedFrame(index, name, package, in_app, symbolicated, function)
    if language == "javascript" and (symbolicated or frame.get("filename") or frame.get("abs_path")):
        source = frame.get("filename") or frame.get("abs_path") or frame.get("module")
        name = normalize_javascript(function if symbolicated else None, source)
        return NamedFrame(index, name, package, in_app, symbolicated, function)
    if language == "dart" and symbolicated:
        return NamedFrame(index, normalize_dart(function), package, in_app, True, function)
    if symbolicated:
        return NamedFrame(index, normalize_native(function or ""), package, in_app, True, function)
    name, image = _module_offset(frame, images)
    return NamedFrame(index, name, package or image, in_app, False, function)


def _module_offset(frame: dict[str, Any], images: ImageIndex) -> tuple[str, str | None]:
    """``MyApp+0x1a2b0`` from the image list, so frames without symbols stay distinct and ASLR-proof."""
    address = parse_address(frame.get("instruction_addr"))
    if address is None:
        return "<unknown>", None
    own_start, own_name = parse_address(frame.get("image_addr")), basename(frame.get("package"))
    found = (own_start, own_name) if own_start is not None and own_name else images.find(address)
    if found is None:
        return f"0x{address:x}", None
    start, image = found
    return f"{image}+0x{address - start:x}", image
