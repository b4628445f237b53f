"""The symbolication stage: resolve every frame of a report against the uploaded symbols.

Order of work, which is also the spec:
1. an Apple ``.crash`` / ``.ips`` report in ``apple_crash_report`` becomes threads, images, exception;
2. every frame list (each thread's, the exception's own) is walked innermost first and each frame
   goes to the native, Java (ProGuard/R8) or JavaScript (source map) resolver by its platform;
3. an obfuscated exception type is de-obfuscated;
4. images that frames needed but had no symbols are listed in ``missing_symbols``, with a note each.

Idempotent: frames already marked ``symbolicated: true`` are left alone, so a second run changes
nothing, and a run after late symbol uploads only fills in what was missing. The original
``instruction_addr`` (or minified position / obfuscated name) stays on every frame.
"""

from __future__ import annotations

import posixpath
from typing import Any

from workers.context import ProcessingContext
from workers.symbolicate import java, javascript, native
from workers.symbolicate.apple_report import parse_apple_crash_report
from workers.symbolicate.apple_text import AppleReportError

STAGE = "symbolicate"
JAVA_PLATFORMS = {"java", "kotlin", "android"}
JS_PLATFORMS = {"javascript", "node", "react-native"}
NATIVE_PLATFORMS = {"native", "cocoa", "objc", "c", "cpp", "swift", "rust"}


def symbolicate_report(ctx: ProcessingContext) -> None:
    """Symbolicate ``ctx.report`` in place using ``ctx.services.symbol_index`` / ``symbol_store``.

    The index is a ``SymbolIndex``, or one with ``for_app(app_id)`` returning the app's own index.
    """
    services = ctx.services
    if getattr(services, "symbol_index", None) is None or getattr(services, "symbol_store", None) is None:
        ctx.note(STAGE, "skipped", detail="no symbol store configured")
        return
    report = ctx.report
    if not _expand_apple_report(ctx):
        return
    resolver = _Resolver(report, _index_for_app(services.symbol_index, ctx.app_id), services.symbol_store)
    for path, frames in _frame_lists(report):
        frames[:] = resolver.resolve_frames(path, frames)
    resolver.remap_exception_type()
    _record_missing(ctx, resolver)
    if resolver.resolved:
        ctx.note(STAGE, "symbolicated_frames", count=resolver.resolved)
    if resolver.unresolved:
        ctx.note(STAGE, "unsymbolicated_frames", count=resolver.unresolved)


def refresh_symbol_index(services: Any) -> None:
    """Before a batch (or a reprocessing job): drop cached symbol look-ups if symbols became ready since."""
    refresh = getattr(getattr(services, "symbol_index", None), "refresh", None)
    if refresh is not None:
        refresh()


def _index_for_app(index: Any, app_id: int) -> Any:
    """Symbols are scoped to an app: an index serving many apps (the database one) is bound first."""
    for_app = getattr(index, "for_app", None)
    return for_app(app_id) if for_app is not None else index


def _expand_apple_report(ctx: ProcessingContext) -> bool:
    """Parse ``apple_crash_report`` once (only while the report has no threads of its own)."""
    report = ctx.report
    text = report.get("apple_crash_report")
    if not isinstance(text, str) or not text.strip() or report.get("threads"):
        return True
    try:
        parsed = parse_apple_crash_report(text)
    except AppleReportError as exc:
        ctx.note(STAGE, "invalid_apple_crash_report", path="apple_crash_report", detail=str(exc)[:200])
        return False
    report["threads"] = parsed["threads"]
    report["images"] = list(report.get("images") or []) + parsed["images"]
    if parsed["exception"] and not report.get("exception"):
        report["exception"] = parsed["exception"]
    if parsed["arch"]:
        device = report.setdefault("device", {})
        if isinstance(device, dict):
            device.setdefault("arch", parsed["arch"])
    ctx.note(
        STAGE,
        "parsed_apple_crash_report",
        path="apple_crash_report",
        count=sum(len(thread["frames"]) for thread in parsed["threads"]),
    )
    return True


def _frame_lists(report: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    lists = []
    for i, thread in enumerate(report.get("threads") or []):
        if isinstance(thread, dict) and isinstance(thread.get("frames"), list):
            lists.append((f"threads[{i}].frames", thread["frames"]))
    exception = report.get("exception")
    if isinstance(exception, dict) and isinstance(exception.get("frames"), list):
        lists.append(("exception.frames", exception["frames"]))
    return lists


class _Resolver:
    """Per-report state: images, opened symbols, and what was missing."""

    def __init__(self, report: dict[str, Any], index: Any, store: Any):
        self.report = report
        self.index = index
        self.store = store
        self.platform = report.get("platform") or ""
        device = report.get("device") if isinstance(report.get("device"), dict) else {}
        self.images = native.ImageMap(report.get("images") or [], native.known_arch(device.get("arch")))
        self._symcaches: dict[str, Any] = {}
        self._mappers: list[Any] | None = None
        self.missing: dict[tuple[str, str], dict[str, Any]] = {}  # key → {entry, path}
        self.resolved = 0
        self.unresolved = 0

    def resolve_frames(self, path: str, frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        for position, frame in enumerate(frames):
            if not isinstance(frame, dict) or frame.get("symbolicated") is True:
                result.append(frame)
                continue
            kind = self._kind(frame)
            if kind == "native":
                produced = self._native(frame, caller_frame=position > 0)
            elif kind == "java":
                produced = self._java(frame)
            elif kind == "javascript":
                produced = self._javascript(frame, f"{path}[{position}]")
            else:
                produced = [dict(frame, symbolicated=False)]
            self.resolved += sum(1 for new in produced if new.get("symbolicated"))
            self.unresolved += sum(1 for new in produced if not new.get("symbolicated"))
            result.extend(produced)
        return result

    def _kind(self, frame: dict[str, Any]) -> str:
        platform = frame.get("platform") or ""
        if platform in JAVA_PLATFORMS:
            return "java"
        if platform in JS_PLATFORMS:
            return "javascript"
        if platform in NATIVE_PLATFORMS or frame.get("instruction_addr") is not None:
            return "native"
        if self.platform == "android" and frame.get("module") and frame.get("function"):
            return "java"
        if self.platform == "javascript" and frame.get("abs_path"):
            return "javascript"
        return "other"

    # -- native ----------------------------------------------------------------------------------
    def _native(self, frame: dict[str, Any], caller_frame: bool) -> list[dict[str, Any]]:
        addr = native.parse_address(frame.get("instruction_addr"))
        image = self.images.find(addr) if addr is not None else None
        symcache = self._symcache(image) if image is not None else None
        if image is not None and symcache is not None:
            expanded = native.symbolicate_frame(frame, image, symcache, caller_frame)
            if expanded:
                return expanded
        return [native.mark_unsymbolicated(frame, image)]

    def _symcache(self, image: native.Image) -> Any:
        key = image.debug_id or f"#{image.index}"
        if key not in self._symcaches:
            path = self.index.find_native(image.debug_id) if image.debug_id else None
            self._symcaches[key] = self.store.open_symcache(path) if path else None
            if path is None:
                self._missing(
                    ("native", key),
                    f"images[{image.index}]",
                    {"image": image.name, "debug_id": image.debug_id, "arch": image.arch, "type": image.type},
                )
        return self._symcaches[key]

    # -- java ------------------------------------------------------------------------------------
    def _java(self, frame: dict[str, Any]) -> list[dict[str, Any]]:
        remapped = java.remap_frame(frame, self.mappers())
        return remapped or [dict(frame, symbolicated=False)]

    def mappers(self) -> list[Any]:
        """ProGuard mappers for this report: by image UUID, else by app version + build."""
        if self._mappers is None:
            self._mappers = []
            listed = [
                (i, image)
                for i, image in enumerate(self.report.get("images") or [])
                if isinstance(image, dict) and image.get("type") == "proguard"
            ]
            for i, image in listed:
                uuid = image.get("uuid") or image.get("debug_id")
                path = self.index.find_proguard(uuid) if uuid else None
                if path is None:
                    self._missing(
                        ("proguard", str(uuid)),
                        f"images[{i}]",
                        {"image": "proguard mapping", "debug_id": uuid, "arch": None, "type": "proguard"},
                    )
                else:
                    self._mappers.append(self.store.open_proguard(path))
            app = self.report.get("app") if isinstance(self.report.get("app"), dict) else {}
            if not listed and app.get("version") and app.get("build"):
                path = self.index.find_proguard((str(app["version"]), str(app["build"])))
                if path is not None:
                    self._mappers.append(self.store.open_proguard(path))
        return self._mappers

    def remap_exception_type(self) -> None:
        exception = self.report.get("exception")
        if not isinstance(exception, dict) or not exception.get("type") or "raw_type" in exception:
            return
        if self.platform != "android" and not any(
            isinstance(image, dict) and image.get("type") == "proguard"
            for image in self.report.get("images") or []
        ):
            return
        mappers = self.mappers()
        module = exception.get("module")
        full_name = f"{module}.{exception['type']}" if module else exception["type"]
        original = java.remap_class_name(full_name, mappers) if mappers else None
        if original and original != full_name:
            exception["raw_type"], exception["raw_module"] = exception["type"], module
            new_module, _, new_type = original.rpartition(".")
            exception["type"] = new_type
            if module or new_module:
                exception["module"] = new_module or None

    # -- javascript ------------------------------------------------------------------------------
    def _javascript(self, frame: dict[str, Any], path: str) -> list[dict[str, Any]]:
        abs_path = frame.get("abs_path")
        if not abs_path:
            return [dict(frame, symbolicated=False)]
        debug_id = self._js_debug_id(abs_path)
        found = self.index.find_sourcemap(abs_path, self.report.get("release"), debug_id)
        if found is None:
            self._missing(
                ("sourcemap", abs_path),
                path,
                {
                    "image": posixpath.basename(abs_path.split("?")[0]) or abs_path,
                    "debug_id": debug_id,
                    "arch": None,
                    "type": "sourcemap",
                },
            )
            return [dict(frame, symbolicated=False)]
        mapped = javascript.map_frame(frame, self.store.open_sourcemap(*found))
        return [mapped] if mapped else [dict(frame, symbolicated=False)]

    def _js_debug_id(self, abs_path: str) -> str | None:
        for image in self.report.get("images") or []:
            if (
                isinstance(image, dict)
                and image.get("type") == "sourcemap"
                and image.get("code_file") == abs_path
            ):
                return image.get("debug_id")
        return None

    def _missing(self, key: tuple[str, str], path: str, entry: dict[str, Any]) -> None:
        self.missing.setdefault(key, {"entry": entry, "path": path})


def _record_missing(ctx: ProcessingContext, resolver: _Resolver) -> None:
    """Replace ``missing_symbols`` with this run's findings: a rerun lists them, not twice."""
    entries = [item["entry"] for item in resolver.missing.values()]
    ctx.missing_symbols = entries
    ctx.report["missing_symbols"] = entries
    known = {(note.rule, note.path) for note in ctx.notes if note.stage == STAGE}
    for item in resolver.missing.values():
        if ("missing_symbols", item["path"]) not in known:
            ctx.note(STAGE, "missing_symbols", path=item["path"], detail=item["entry"]["type"])
