"""Sentry ``event`` payloads → the native report (frames innermost first, contexts unpacked).

Only what the native schema knows survives the conversion; everything else in the event is
dropped here, at the edge, before anything is queued.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

OPT_IN_TAG = "crash_reports.opt_in"

PLATFORM_MAP = {
    "cocoa": "cocoa",
    "objc": "cocoa",
    "swift": "cocoa",
    "java": "android",
    "android": "android",
    "kotlin": "android",
    "native": "native",
    "c": "native",
    "cpp": "native",
    "javascript": "javascript",
    "node": "javascript",
    "react-native": "javascript",
    "dart": "dart",
    "flutter": "dart",
}

FRAME_KEYS = (
    "instruction_addr",
    "symbol_addr",
    "image_addr",
    "function",
    "raw_function",
    "symbol",
    "module",
    "package",
    "filename",
    "abs_path",
    "lineno",
    "colno",
    "in_app",
    "platform",
    "context_line",
    "pre_context",
    "post_context",
)
IMAGE_KEYS = (
    "type",
    "debug_id",
    "code_id",
    "code_file",
    "debug_file",
    "image_addr",
    "image_size",
    "image_vmaddr",
    "arch",
    "uuid",
)


def event_has_opt_in(event: dict[str, Any]) -> bool:
    """The user's consent, as our SDK integrations send it: a tag or a consent context."""
    tags = event.get("tags")
    if isinstance(tags, dict) and tags.get(OPT_IN_TAG) == "true":
        return True
    if isinstance(tags, list):
        for pair in tags:
            if (
                isinstance(pair, list | tuple)
                and len(pair) == 2
                and pair[0] == OPT_IN_TAG
                and pair[1] == "true"
            ):
                return True
    contexts = event.get("contexts")
    if isinstance(contexts, dict):
        consent = contexts.get("consent")
        if isinstance(consent, dict) and consent.get("crash_reports") is True:
            return True
    return False


def _values(container: Any) -> list[Any]:
    if isinstance(container, dict):
        container = container.get("values")
    return container if isinstance(container, list) else []


def _frames(stacktrace: Any) -> list[dict[str, Any]]:
    if not isinstance(stacktrace, dict) or not isinstance(stacktrace.get("frames"), list):
        return []
    frames = [
        {key: frame[key] for key in FRAME_KEYS if key in frame}
        for frame in stacktrace["frames"]
        if isinstance(frame, dict)
    ]
    frames.reverse()  # Sentry sends outermost first; crashsvc keeps innermost first
    return frames


def _pick(source: Any, mapping: dict[str, str]) -> dict[str, Any]:
    if not isinstance(source, dict):
        return {}
    return {ours: source[theirs] for theirs, ours in mapping.items() if theirs in source}


def _platform(event: dict[str, Any], os_name: str | None) -> str:
    platform = PLATFORM_MAP.get(str(event.get("platform", "")).lower(), "other")
    if platform == "android" or (os_name or "").lower() == "android" and platform == "other":
        return "android"
    return platform


def event_to_report(event: dict[str, Any]) -> dict[str, Any]:
    """Convert a Sentry event dict into a native report dict (not yet schema-validated)."""
    contexts = event.get("contexts") if isinstance(event.get("contexts"), dict) else {}
    report: dict[str, Any] = {"opt_in": True}
    event_id = event.get("event_id")
    if isinstance(event_id, str):
        with contextlib.suppress(ValueError):
            report["report_id"] = str(uuid.UUID(event_id))
    for key in ("timestamp", "release", "environment", "fingerprint"):
        if key in event:
            report[key] = event[key]
    os_ctx = contexts.get("os") if isinstance(contexts.get("os"), dict) else {}
    report["platform"] = _platform(event, os_ctx.get("name"))
    report["os"] = _pick(
        os_ctx, {"name": "name", "version": "version", "build": "build", "kernel_version": "kernel_version"}
    )
    device = contexts.get("device")
    if isinstance(device, dict):
        report["device"] = dict(device)
    report["app"] = _pick(
        contexts.get("app"),
        {"app_identifier": "id", "app_name": "name", "app_version": "version", "app_build": "build"},
    )
    exceptions = [value for value in _values(event.get("exception")) if isinstance(value, dict)]
    if exceptions:
        top = exceptions[-1]  # Sentry lists the chain oldest first; the last one was raised last
        exception = _pick(
            top, {"type": "type", "value": "value", "module": "module", "mechanism": "mechanism"}
        )
        frames = _frames(top.get("stacktrace"))
        if frames:
            exception["frames"] = frames
        report["exception"] = exception
    elif isinstance(event.get("message"), str | dict):
        message = event["message"]
        text = message if isinstance(message, str) else message.get("formatted") or message.get("message")
        if isinstance(text, str):
            report["exception"] = {"type": "Message", "value": text}
    threads = []
    for thread in _values(event.get("threads")):
        if not isinstance(thread, dict):
            continue
        converted = _pick(thread, {"id": "id", "name": "name", "crashed": "crashed", "current": "current"})
        converted["frames"] = _frames(thread.get("stacktrace"))
        threads.append(converted)
    if threads:
        report["threads"] = threads
    debug_meta = event.get("debug_meta")
    if isinstance(debug_meta, dict):
        report["images"] = [
            {key: image[key] for key in IMAGE_KEYS if key in image}
            for image in debug_meta.get("images") or []
            if isinstance(image, dict)
        ]
    breadcrumbs = _values(event.get("breadcrumbs"))
    if breadcrumbs:
        report["breadcrumbs"] = breadcrumbs
    if isinstance(event.get("user"), dict):
        report["user"] = event["user"]
    tags = event.get("tags")
    if isinstance(tags, list):
        tags = {pair[0]: pair[1] for pair in tags if isinstance(pair, list | tuple) and len(pair) == 2}
    if isinstance(tags, dict):
        report["tags"] = {key: value for key, value in tags.items() if key != "crash_reports.opt_in"}
    context = {key: value for key, value in contexts.items() if key not in ("os", "device", "app", "consent")}
    if isinstance(event.get("extra"), dict):
        context["extra"] = event["extra"]
    if context:
        report["context"] = context
    consent = contexts.get("consent")
    if isinstance(consent, dict):
        report["consent"] = {key: consent[key] for key in ("policy_version", "granted_at") if key in consent}
    sdk = event.get("sdk")
    if isinstance(sdk, dict):
        report["sdk"] = _pick(sdk, {"name": "name", "version": "version"})
    return report
