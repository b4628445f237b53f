"""``POST /api/v1/reports``: the documented JSON ingestion API."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from crashsvc.auth import IngestApp
from crashsvc.errors import ApiError, InvalidReport, OptInRequired, Unauthorized, UnsupportedMediaType
from crashsvc.ingest.body import read_body
from crashsvc.ingest.intake import accept_report, count_rejection
from crashsvc.ingest.jsonparse import loads_strict
from crashsvc.ingest.validator import report_validator

bp = Blueprint("ingest_native", __name__)

JSON_TYPES = {"application/json", "text/plain", "application/octet-stream", ""}


def authenticate_ingest(key: str | None) -> IngestApp:
    services = current_app.extensions["crashsvc"]
    if not key:
        raise Unauthorized("Send the app's ingest key in X-Crashsvc-Key.")
    app = services.ingest_keys.lookup(services.db.sessions, key)
    if app is None:
        raise Unauthorized("Unknown ingest key.")
    return app


@bp.post("/api/v1/reports")
def post_report() -> tuple[Response, int]:
    try:
        return _post_report()
    except ApiError as error:
        count_rejection(error.code)
        raise


def _post_report() -> tuple[Response, int]:
    settings = current_app.extensions["crashsvc"].settings
    app = authenticate_ingest(request.headers.get("X-Crashsvc-Key") or request.args.get("key"))
    if request.mimetype not in JSON_TYPES:
        raise UnsupportedMediaType("Send the report as application/json.")
    body = read_body(request, settings.max_body_bytes, settings.max_report_bytes)
    data = loads_strict(body, settings.max_json_depth)
    # Consent first: without it nothing else about the body is looked at, kept or logged.
    if not isinstance(data, dict) or data.get("opt_in") is not True:
        raise OptInRequired()
    report, errors, vouched = report_validator().check(data)
    if errors:
        raise InvalidReport(fields=errors)
    # Only a report the fast walk vouched for may be queued as the client's own bytes: the
    # checking walk converts values (1 -> True) that a plain equality test would not notice.
    accepted = accept_report(app, report, source=(body, data) if vouched else None)
    status = 200 if accepted.duplicate else 202
    # Spelled out: both values are ASCII (a UUID, base64url), and Flask's JSON provider costs
    # ~25 µs per report on a path where every microsecond counts (docs/performance.md).
    body = b'{"id":"%s","delete_token":"%s"}' % (accepted.report_id.encode(), accepted.delete_token.encode())
    return Response(body, status, mimetype="application/json"), status
