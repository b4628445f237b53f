"""Reading reports and groups: ``/api/v1/reports/<id>``, ``/api/v1/apps/<id>/groups``."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from redis.exceptions import RedisError
from sqlalchemy import func, select

from crashsvc.api.serializers import app_json, group_json, report_json
from crashsvc.auth import current_principal, require_app_role, require_scope, visible_app_ids
from crashsvc.db import db_session
from crashsvc.errors import ApiError, NotFound, Unavailable
from crashsvc.models import App, Group, Report

bp = Blueprint("api_reports", __name__, url_prefix="/api/v1")

GROUP_SORTS = {"count": Group.count.desc(), "last_seen": Group.last_seen.desc(),
               "first_seen": Group.first_seen.desc()}


def _page_args() -> tuple[int, int]:
    try:
        limit = min(max(int(request.args.get("limit", 50)), 1), 500)
        offset = max(int(request.args.get("offset", 0)), 0)
    except ValueError:
        raise ApiError("limit and offset must be integers.", code="invalid_query") from None
    return limit, offset


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


@bp.get("/apps/<int:app_id>/groups")
@require_scope("read")
def list_groups(app_id: int) -> Response:
    session = db_session()
    require_app_role(session, current_principal(session), app_id)
    limit, offset = _page_args()
    query = select(Group).where(Group.app_id == app_id)
    status = request.args.get("status")
    if status:
        query = query.where(Group.status == status)
    sort = GROUP_SORTS.get(request.args.get("sort", "last_seen"), Group.last_seen.desc())
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    groups = session.scalars(query.order_by(sort, Group.id.desc()).limit(limit).offset(offset)).all()
    return jsonify({"groups": [group_json(group) for group in groups], "total": total,
                    "limit": limit, "offset": offset})


@bp.get("/groups/<int:group_id>")
@require_scope("read")
def get_group(group_id: int) -> Response:
    session = db_session()
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound("No such group.")
    require_app_role(session, current_principal(session), group.app_id)
    return jsonify(group_json(group))
