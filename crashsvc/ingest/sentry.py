"""``POST /api/<app id>/envelope/``: Sentry's envelope protocol, so apps can keep a Sentry SDK.

Only ``event`` items carry crashes. Every other item type (sessions, transactions, replays,
profiles, logs, attachments, ...) is answered 200 and discarded unread, and every answer carries
``X-Sentry-Rate-Limits`` so the SDK stops sending those categories at all.
"""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, request
from redis.exceptions import RedisError

from crashsvc import metrics
from crashsvc.errors import ApiError, InvalidReport, OptInRequired, Unauthorized
from crashsvc.ingest.body import read_body
from crashsvc.ingest.envelope import parse_envelope
from crashsvc.ingest.intake import accept_report, count_rejection
from crashsvc.ingest.jsonparse import loads_strict
from crashsvc.ingest.native import authenticate_ingest
from crashsvc.ingest.sentry_event import event_has_opt_in, event_to_report
from crashsvc.ingest.validator import report_validator

bp = Blueprint("ingest_sentry", __name__)

# Categories SDKs are told to stop sending for a day; never "error" or "default" (crashes).
DISCARDED_CATEGORIES = (
    "session",
    "transaction",
    "span",
    "profile",
    "profile_chunk",
    "replay",
    "attachment",
    "log_item",
    "log_byte",
    "monitor",
    "feedback",
    "security",
    "metric_bucket",
    "statsd",
)
RATE_LIMITS_HEADER = f"86400:{';'.join(DISCARDED_CATEGORIES)}:organization:crashsvc_not_collected"


def _auth_key(envelope_headers: dict | None) -> str | None:
    header = request.headers.get("X-Sentry-Auth", "")
    if header.lower().startswith("sentry "):
        for part in header[7:].split(","):
            name, _, value = part.strip().partition("=")
            if name.strip() == "sentry_key" and value.strip():
                return value.strip()
    if request.args.get("sentry_key"):
        return request.args["sentry_key"]
    dsn = (envelope_headers or {}).get("dsn")
    if isinstance(dsn, str):
        return urlsplit(dsn).username or None
    return None


def _with_rate_limits(response: Response) -> Response:
    response.headers["X-Sentry-Rate-Limits"] = RATE_LIMITS_HEADER
    return response


@bp.post("/api/<int:app_id>/envelope/")
def post_envelope(app_id: int) -> Response:
    try:
        return _with_rate_limits(_post_envelope(app_id))
    except ApiError as error:
        count_rejection(error.code)
        raise


def _post_envelope(app_id: int) -> Response:
    services = current_app.extensions["crashsvc"]
    settings = services.settings
    body = read_body(request, settings.max_body_bytes, settings.max_report_bytes)
    envelope = parse_envelope(body, settings.max_json_depth)
    app = authenticate_ingest(_auth_key(envelope.headers))
    if app.id != app_id:
        raise Unauthorized("The key does not belong to this app.")
    event_item = None
    for item in envelope.items:
        if item.type == "event" and event_item is None:
            event_item = item
        else:
            with contextlib.suppress(RedisError):  # a metrics failure must never refuse a report
                metrics.incr(services.redis, "envelope_items_discarded_total", type=_item_label(item.type))
    if event_item is None:
        return jsonify({"id": envelope.headers.get("event_id")})
    event = loads_strict(event_item.payload, settings.max_json_depth)
    if not isinstance(event, dict) or not event_has_opt_in(event):
        raise OptInRequired(
            "The event must carry tags['crash_reports.opt_in'] = 'true' or "
            "contexts.consent.crash_reports = true."
        )
    report, errors = report_validator().validate(event_to_report(event))
    if errors:
        raise InvalidReport(fields=errors)
    accepted = accept_report(app, report)
    event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else accepted.report_id
    return jsonify({"id": event_id})


KNOWN_ITEM_TYPES = {
    "session",
    "sessions",
    "client_report",
    "transaction",
    "span",
    "profile",
    "profile_chunk",
    "replay_event",
    "replay_recording",
    "replay_video",
    "log",
    "check_in",
    "attachment",
    "user_report",
    "feedback",
    "statsd",
    "metric_buckets",
    "otel_log",
    "trace_metric",
}


def _item_label(item_type: str) -> str:
    # Item types are client-chosen strings: only known ones become metric label values.
    return item_type if item_type in KNOWN_ITEM_TYPES else "other"
