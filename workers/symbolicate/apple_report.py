"""Turn ``report["apple_crash_report"]`` (``.crash`` text or iOS 15+ ``.ips`` JSON) into threads,
images and an exception in the native report shape, ready for native symbolication.

Only what symbolication and grouping need is copied: frames, images, the exception and the CPU type.
Header fields such as ``CrashReporter Key`` or ``Incident Identifier`` identify a device or a crash
and are deliberately left behind.
"""

from __future__ import annotations

import json
from typing import Any

from workers.symbolicate.apple_text import AppleReportError, parse_crash_text
from workers.symbolicate.native import arch_from_code_type


def parse_apple_crash_report(text: str) -> dict[str, Any]:
    """Return ``{threads, images, exception, arch}`` from a ``.crash`` or ``.ips`` report."""
    if text.lstrip().startswith("{"):
        return _from_ips(text)
    return _from_text(parse_crash_text(text))


def _from_text(parsed: dict[str, Any]) -> dict[str, Any]:
    arch = arch_from_code_type(parsed.get("code_type"))
    threads = []
    for thread in parsed.get("threads", []):
        frames = []
        for frame in thread["frames"]:
            new = {"instruction_addr": frame["instruction_addr"]}
            if "module" in frame:
                new["module"] = frame["module"]
            if "symbol" in frame:
                new["function"] = frame["symbol"]
            if "filename" in frame:
                new["filename"] = frame["filename"]
            if "lineno" in frame:
                new["lineno"] = frame["lineno"]
            frames.append(new)
        threads.append(
            _without_none(
                {
                    "id": thread["id"],
                    "name": thread.get("name"),
                    "crashed": thread["crashed"],
                    "frames": frames,
                }
            )
        )
    images = [
        {
            "type": "macho",
            "debug_id": image["uuid"],
            "code_file": image["path"],
            "image_addr": image["addr"],
            "image_size": image["size"],
            "arch": image["arch"].strip("()") or arch,
        }
        for image in parsed.get("binary_images", [])
    ]
    metadata = parsed.get("metadata", {})
    exception = _without_none(
        {"type": metadata.get("Exception Type"), "value": metadata.get("Exception Codes")}
    )
    return {"threads": threads, "images": images, "exception": exception or None, "arch": arch}


def _from_ips(text: str) -> dict[str, Any]:
    # An .ips file is a one-line JSON header followed by the JSON body.
    header_text, _, body_text = text.lstrip().partition("\n")
    try:
        header = json.loads(header_text)
        body = json.loads(body_text) if body_text.strip() else header
    except ValueError:
        raise AppleReportError("the .ips report is not valid JSON") from None
    if not isinstance(body, dict) or "threads" not in body:
        raise AppleReportError("the .ips report has no threads (bug_type 309 expected)")
    arch = arch_from_code_type(body.get("cpuType"))
    used_images = body.get("usedImages") or []
    images = []
    for image in used_images:
        if image.get("base") is None:
            images.append({"type": "unknown"})  # keeps imageIndex positions aligned
            continue
        images.append(
            _without_none(
                {
                    "type": "macho",
                    "debug_id": image.get("uuid"),
                    "code_file": image.get("path") or image.get("name"),
                    "image_addr": hex(image["base"]),
                    "image_size": image.get("size"),
                    "arch": image.get("arch") or arch,
                }
            )
        )
    threads = []
    faulting = body.get("faultingThread")
    for position, thread in enumerate(body.get("threads", [])):
        frames = []
        for frame in thread.get("frames", []):
            index = frame.get("imageIndex")
            if index is None or not 0 <= index < len(used_images) or used_images[index].get("base") is None:
                continue
            new = {"instruction_addr": hex(used_images[index]["base"] + frame.get("imageOffset", 0))}
            if frame.get("symbol"):
                new["function"] = frame["symbol"]
            frames.append(new)
        threads.append(
            _without_none(
                {
                    "id": thread.get("id", position),
                    "name": thread.get("name") or thread.get("queue"),
                    "crashed": bool(thread.get("triggered")) or position == faulting,
                    "frames": frames,
                }
            )
        )
    raw_exception = body.get("exception") or {}
    exception = _without_none({"type": raw_exception.get("type"), "value": raw_exception.get("codes")})
    if raw_exception.get("signal"):
        exception["mechanism"] = {"type": "mach", "signal": raw_exception["signal"]}
    return {"threads": threads, "images": images, "exception": exception or None, "arch": arch}


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}
