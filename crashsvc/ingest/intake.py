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
from crashsvc.errors import RateLimited, Unavailable
from crashsvc.queue import report_id_for

RATE_PREFIX = "crashsvc:rate:"


@dataclass(frozen=True)
class Accepted:
    report_id: str
    delete_token: str
    duplicate: bool


def delete_token_for(delete_key: bytes, report_id: str) -> str:
    """A per-report secret the app can use to delete its user's report; derived, never stored."""
    digest = hmac.new(delete_key, report_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def _json_default(value: Any) -> Any:
    if isinstance(value, uuid.UUID | datetime):
        return str(value)
    raise TypeError(type(value).__name__)


def check_rate_limit(app: IngestApp) -> None:
    services = current_app.extensions["crashsvc"]
    limit = app.rate_limit_per_minute if app.rate_limit_per_minute is not None else services.settings.rate_limit_per_minute
    if not limit:
        return
    window = int(time.time() // 60)
    key = f"{RATE_PREFIX}{app.id}:{window}"
    try:
        pipe = services.redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 120)
        count = pipe.execute()[0]
    except RedisError:
        return  # without Redis there is no shared counter; the spool's cap protects the disk
    if count > limit:
        raise RateLimited(f"More than {limit} reports per minute for this app.",
                          retry_after=max(1, 60 - int(time.time() % 60)))


def accept_report(app: IngestApp, report: dict[str, Any]) -> Accepted:
    """Queue a validated native report durably; raises ``Unavailable`` when it cannot be kept."""
    services = current_app.extensions["crashsvc"]
    check_rate_limit(app)
    client_id = report.get("report_id")
    report_id = report_id_for(app.id, str(client_id) if client_id else None)
    received_at = datetime.now(UTC)
    body = json.dumps(report, default=_json_default, separators=(",", ":")).encode()
    sealed = services.queue.seal(report_id, app.id, received_at, body)
    try:
        is_new = services.queue.enqueue(report_id, sealed, check_duplicate=client_id is not None)
    except RedisError:
        if services.spool is not None and services.spool.write(report_id, sealed, client_id is not None):
            _count("reports_spooled_total")
            is_new = True
        else:
            raise Unavailable("The queue is unreachable; retry later.", retry_after=30) from None
    _count("reports_accepted_total" if is_new else "reports_duplicate_total")
    return Accepted(report_id, delete_token_for(services.delete_key, report_id), duplicate=not is_new)


def _count(name: str, **labels: str) -> None:
    with contextlib.suppress(RedisError):  # metrics never decide whether a report is kept
        metrics.incr(current_app.extensions["crashsvc"].redis, name, **labels)


def count_rejection(code: str) -> None:
    _count("reports_rejected_total", reason=code)
