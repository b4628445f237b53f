"""Accepting a checked report: rate limit, id, seal, queue. Shared by the native and Sentry endpoints.

Order matters for the privacy promise: opt-in and schema are checked before this module is
reached, so a refused report never touches Redis, the spool or a log line.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from redis.exceptions import RedisError

from crashsvc import metrics
from crashsvc.auth import IngestApp
from crashsvc.errors import InvalidJson, RateLimited, Unavailable
from crashsvc.queue import report_id_for

RATE_PREFIX = "crashsvc:rate:"


@dataclass(frozen=True)
class Accepted:
    report_id: str
    delete_token: str
    duplicate: bool


def delete_token_for(delete_key: bytes, report_id: str) -> str:
    """A per-report secret the app can use to delete its user's report; derived, never stored."""
    digest = hmac.digest(delete_key, report_id.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def _json_default(value: Any) -> Any:
    if isinstance(value, uuid.UUID | datetime):
        return str(value)
    raise TypeError(type(value).__name__)


def rate_limit_for(app: IngestApp, default: int) -> tuple[str, int]:
    """The per-minute counter key and limit of an app (fixed one-minute windows)."""
    limit = app.rate_limit_per_minute if app.rate_limit_per_minute is not None else default
    return f"{RATE_PREFIX}{app.id}:{int(time.time() // 60)}", limit


def report_json(report: dict[str, Any], source: tuple[bytes, dict[str, Any]] | None = None) -> bytes:
    """The JSON to queue for a validated report.

    ``source`` is the client's body and what it parsed to, given only when the validator's fast
    walk vouched for it (so values kept their JSON types). When validation changed nothing (no
    unknown key or null dropped, the id already canonical; nearly every real report) and the body
    has no ``\\u`` escape, the body itself is queued: it parses to exactly the validated report,
    and serializing 8 KB again cost as much as a third of the validation. The report *is* the
    parse when the validator's exact tier proved it valid as sent.
    """
    if source is not None:
        body, parsed = source
        if b"\\u" not in body and (report is parsed or _unchanged_by_validation(report, parsed)):
            return body
    try:
        return json.dumps(report, default=_json_default, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:
        # JSON escapes can spell lone UTF-16 surrogates ("\\ud800"): not text, and PostgreSQL
        # refuses to store them, so the report would only fail later in the worker.
        raise InvalidJson("The JSON contains an unpaired UTF-16 surrogate escape.") from None


def _unchanged_by_validation(report: dict[str, Any], parsed: dict[str, Any]) -> bool:
    if report.keys() != parsed.keys():
        return False
    for key, value in report.items():
        if key == "report_id":
            if str(value) != parsed[key]:  # the validator made it a UUID: the same only if canonical
                return False
        elif value != parsed[key]:
            return False
    return True


def accept_report(
    app: IngestApp, report: dict[str, Any], source: tuple[bytes, dict[str, Any]] | None = None
) -> Accepted:
    """Queue a validated native report durably; raises ``Unavailable`` when it cannot be kept.

    ``source`` (the body and its parse) lets ``report_json`` queue the client's bytes as they are.
    """
    services = current_app.extensions["crashsvc"]
    client_id = report.get("report_id")
    received_at = datetime.now(UTC)
    report_id = report_id_for(
        app.id, str(client_id) if client_id else None, report.get("timestamp"), received_at
    )
    body = report_json(report, source)
    sealed = services.queue.seal(report_id, app.id, received_at, body)
    rate_key, limit = rate_limit_for(app, services.settings.rate_limit_per_minute)
    # Before the queue's round trip, not after: what runs after the fsync wait runs cold.
    delete_token = delete_token_for(services.delete_key, report_id)
    try:
        outcome = services.queue.accept(
            report_id, sealed, check_duplicate=client_id is not None, rate_key=rate_key, rate_limit=limit
        )
    except RedisError:
        # Without Redis there is no shared rate counter; the spool's size cap protects the disk.
        if services.spool is not None and services.spool.write(report_id, sealed, client_id is not None):
            _count("reports_spooled_total")
            outcome = 1
        else:
            raise Unavailable("The queue is unreachable; retry later.", retry_after=30) from None
    if outcome < 0:
        raise RateLimited(
            f"More than {limit} reports per minute for this app.",
            retry_after=max(1, 60 - int(time.time() % 60)),
        )
    is_new = outcome == 1
    return Accepted(report_id, delete_token, duplicate=not is_new)


def _count(name: str, **labels: str) -> None:
    with contextlib.suppress(RedisError):  # metrics never decide whether a report is kept
        metrics.incr(current_app.extensions["crashsvc"].redis, name, **labels)


def count_rejection(code: str) -> None:
    _count("reports_rejected_total", reason=code)
