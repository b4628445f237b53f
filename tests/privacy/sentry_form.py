"""The planted native reports as Sentry SDKs would send them: identifiers where Sentry SDKs put them.

A Sentry event carries the same data as a native report in other places: the user in ``user``, the
device (with ``id`` and ``name``) in ``contexts.device``, the app in ``contexts.app``, key/values in
``tags`` and ``extra``, breadcrumbs under ``values``, frames outermost first with local ``vars``, images
in ``debug_meta``, plus ``request`` and ``server_name``. Consent is the opt-in tag.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from crashsvc.ingest.sentry_event import OPT_IN_TAG

SENTRY_PLATFORMS = {"cocoa": "cocoa", "android": "java", "javascript": "javascript"}


def _stacktrace(frames: list[dict[str, Any]], identity: dict[str, Any]) -> dict[str, Any]:
    converted = []
    for frame in frames:
        frame = dict(frame)
        # SDKs with local-variable capture put whatever the function held in ``vars``.
        frame.setdefault("vars", {"self": f"<User {identity.get('email')}>", "user_id": identity.get("id")})
        converted.append(frame)
    converted.reverse()  # Sentry sends the outermost frame first
    return {"frames": converted}


def native_to_sentry_event(report: dict[str, Any]) -> dict[str, Any]:
    """A Sentry event JSON with every value of ``report`` in the place a Sentry SDK would send it."""
    report = copy.deepcopy(report)
    user = report.get("user") or {}
    device = dict(report.get("device") or {})
    context = dict(report.get("context") or {})
    device.update(context.pop("device", None) or {})  # one device context in Sentry
    app = report.get("app") or {}
    contexts: dict[str, Any] = {
        "device": device,
        "os": report.get("os") or {},
        "app": {
            "app_identifier": app.get("id"),
            "app_name": app.get("name"),
            "app_version": app.get("version"),
            "app_build": app.get("build"),
            "app_start_time": app.get("app_start_time"),
        },
        **context,
    }
    consent = report.get("consent")
    if consent:
        contexts["consent"] = {"crash_reports": True, **consent}
    event: dict[str, Any] = {
        "event_id": uuid.UUID(report["report_id"]).hex,
        "timestamp": report.get("timestamp"),
        "platform": SENTRY_PLATFORMS[report["platform"]],
        "release": report.get("release"),
        "environment": report.get("environment", "production"),
        "server_name": device.get("hostname") or device.get("name") or "build-agent",
        "user": user,
        "contexts": contexts,
        "tags": {**(report.get("tags") or {}), OPT_IN_TAG: "true"},
        "extra": report.get("extra") or {},
        "breadcrumbs": {"values": report.get("breadcrumbs") or []},
        "debug_meta": {"images": report.get("images") or []},
        "sdk": {"name": "sentry.test", "version": "8.0.0"},
        # What a web SDK attaches to every event: the page, its headers, the client address.
        "request": report.get("request")
        or {
            "url": f"https://app.example.com/profile?email={user.get('email')}",
            "headers": {"User-Agent": "Mozilla/5.0", "X-Forwarded-For": user.get("ip_address")},
            "env": {"REMOTE_ADDR": user.get("ip_address")},
        },
    }
    exception = report.get("exception")
    if exception:
        value = {key: exception[key] for key in ("type", "value", "module", "mechanism") if key in exception}
        value["stacktrace"] = _stacktrace(exception.get("frames") or [], user)
        event["exception"] = {"values": [value]}
    threads = report.get("threads")
    if threads:
        event["threads"] = {
            "values": [
                {
                    **{key: thread[key] for key in ("id", "name", "crashed", "current") if key in thread},
                    "stacktrace": _stacktrace(thread.get("frames") or [], user),
                }
                for thread in threads
            ]
        }
    return json.loads(json.dumps(event))  # plain JSON types only, as sent over the wire


def envelope(event: dict[str, Any]) -> bytes:
    """One event in a Sentry envelope, with item lengths, as SDKs send it."""
    payload = json.dumps(event).encode()
    item = json.dumps({"type": "event", "length": len(payload)}).encode()
    return b"\n".join([json.dumps({"event_id": event["event_id"]}).encode(), item, payload]) + b"\n"


def sentry_auth(key: str) -> dict[str, str]:
    return {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_client=sentry.test/8.0.0, sentry_key={key}"}
