"""Reading apps and reports: ``/api/v1/apps``, ``/api/v1/reports/<id>`` (groups: ``crashsvc/api/groups.py``)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from redis.exceptions import RedisError
from sqlalchemy import select

from crashsvc.api.serializers import app_json, report_json
from crashsvc.auth import current_principal, require_app_role, require_scope, visible_app_ids
from crashsvc.db import db_session
from crashsvc.errors import NotFound, Unavailable
from crashsvc.models import App, Report

bp = Blueprint("api_reports", __name__, url_prefix="/api/v1")


@bp.get("/apps")
@require_scope("read")
def list_apps() -> Response:
    session = db_session()
    principal = current_principal(session)
    ids = visible_app_ids(session, principal.user)
    apps = session.scalars(select(App).where(App.id.in_(ids)).order_by(App.id)).all()
    public_url = current_app.extensions["crashsvc"].settings.public_url
    return jsonify({"apps": [app_json(app, public_url) for app in apps]})


@bp.get("/reports/<report_id>")
@require_scope("read")
def get_report(report_id: str) -> Response:
    session = db_session()
    principal = current_principal(session)
    report = session.get(Report, report_id) if len(report_id) <= 36 else None
    if report is not None:
        require_app_role(session, principal, report.app_id)
        return jsonify(report_json(report))
    services = current_app.extensions["crashsvc"]
    try:
        state = services.queue.status(report_id) if len(report_id) <= 36 else None
    except RedisError:
        raise Unavailable("The queue is unreachable.", retry_after=10) from None
    # A queued report is not yet anonymized: only its state is shown, and only to a user who can
    # see at least one app (the app it belongs to is inside the sealed payload).
    if state is None or not visible_app_ids(session, principal.user):
        raise NotFound("No such report.")
    return jsonify({"id": report_id, "status": state, "group_id": None, "signature": None, "notes": []})
