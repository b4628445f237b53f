"""``DELETE /api/v1/reports/<id>``: an app deletes one report on its user's behalf with its delete token.

The token is the one the ingestion answer carried (``delete_token_for``: an HMAC of the report id,
never stored). A wrong or missing token answers 404 exactly like an unknown report, so the
endpoint never tells whether a report exists; the comparison takes constant time.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Flask, current_app, request
from redis.exceptions import RedisError

from crashsvc.errors import NotFound, Unavailable
from crashsvc.ingest.intake import delete_token_for
from crashsvc.purge.deletion import delete_report

bp = Blueprint("purge_api", __name__, url_prefix="/api/v1")

TOKEN_HEADER = "X-Crashsvc-Delete-Token"
MAX_REPORT_ID = 36


def delete_token_matches(delete_key: bytes, report_id: str, token: str) -> bool:
    expected = delete_token_for(delete_key, report_id)
    return hmac.compare_digest(expected.encode(), token.encode())


@bp.delete("/reports/<report_id>")
def delete_report_by_token(report_id: str) -> tuple[str, int]:
    services = current_app.extensions["crashsvc"]
    token = request.headers.get(TOKEN_HEADER, "")
    if len(report_id) > MAX_REPORT_ID or not delete_token_matches(services.delete_key, report_id, token):
        raise NotFound("No such report.")
    try:
        delete_report(services, report_id, actor="delete_token")
    except RedisError:
        raise Unavailable("The queue is unreachable; retry the deletion later.", retry_after=30) from None
    return "", 204


def register(app: Flask) -> None:
    app.register_blueprint(bp)
