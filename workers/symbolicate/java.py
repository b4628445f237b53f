"""Java/Kotlin frames: undo ProGuard/R8 obfuscation of classes, methods and lines.

A frame is ``{module: class, function: method, lineno}``. R8 inlines methods, so one obfuscated
frame can stand for a chain of calls; each becomes its own frame (innermost first), and all but the
outermost are marked ``inlined``. The obfuscated class, method and line are kept under ``raw_*``.
"""

from __future__ import annotations

from typing import Any

from symbolic import ProguardMapper

from workers.symbolicate.in_app import is_app_class


def remap_frame(frame: dict[str, Any], mappers: list[ProguardMapper]) -> list[dict[str, Any]] | None:
    """Return the de-obfuscated frame(s), or None when no mapping knows this class."""
    class_name = frame.get("module")
    method = frame.get("function")
    if not class_name or not method:
        return None
    line = frame.get("lineno") or 0
    for mapper in mappers:
        remapped = mapper.remap_frame(class_name, method, int(line)) if line else []
        if remapped:
            return [
                _java_frame(
                    frame,
                    item.class_name,
                    item.method,
                    item.line or None,
                    item.file,
                    inlined=depth < len(remapped) - 1,
                )
                for depth, item in enumerate(remapped)
            ]
        method_only = mapper.remap_method(class_name, method)
        if method_only:
            return [
                _java_frame(
                    frame,
                    method_only[0],
                    _bare_method(method_only[1]),
                    frame.get("lineno"),
                    None,
                    inlined=False,
                )
            ]
        original_class = mapper.remap_class(class_name)
        if original_class:
            return [_java_frame(frame, original_class, method, frame.get("lineno"), None, inlined=False)]
    return None


def remap_class_name(full_name: str, mappers: list[ProguardMapper]) -> str | None:
    """The original name of an obfuscated class (e.g. an exception type), or None."""
    for mapper in mappers:
        original = mapper.remap_class(full_name)
        if original:
            return original
    return None


def _java_frame(
    frame: dict[str, Any],
    class_name: str,
    method: str,
    line: int | None,
    source_file: str | None,
    *,
    inlined: bool,
) -> dict[str, Any]:
    new = dict(frame)
    new.setdefault("raw_module", frame.get("module"))
    new.setdefault("raw_function", frame.get("function"))
    if frame.get("lineno") is not None:
        new.setdefault("raw_lineno", frame.get("lineno"))
    new["module"] = class_name
    new["function"] = method
    if line:
        new["lineno"] = line
    if source_file:
        new["filename"] = source_file
    elif "filename" in new and new.get("raw_module") != class_name:
        new["filename"] = _guess_source_file(class_name)
    if frame.get("in_app") is None:
        new["in_app"] = is_app_class(class_name)
    new["symbolicated"] = True
    if inlined:
        new["inlined"] = True
    else:
        new.pop("inlined", None)
    return new


def _bare_method(signature: str) -> str:
    """``void pickRowVariable()`` → ``pickRowVariable``."""
    head = signature.split("(", 1)[0].strip()
    return head.rsplit(" ", 1)[-1]


def _guess_source_file(class_name: str) -> str:
    """``io.sentry.MainActivity$1`` → ``MainActivity.java`` (obfuscated builds drop SourceFile)."""
    simple = class_name.rsplit(".", 1)[-1].split("$", 1)[0]
    return f"{simple}.java"
