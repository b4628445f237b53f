"""Groups over the JSON API: list and detail (``read``), status, notes, merge (``write`` + developer).

A group of an app the caller is not a member of answers 404, as if it did not exist; a viewer
asking for a change answers 403.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from crashsvc.api.serializers import group_history_json, group_json, group_note_json, iso, report_json
from crashsvc.auth import ROLE_RANK, Principal, app_role, current_principal, require_app_role, require_scope
from crashsvc.db import db_session
from crashsvc.errors import ApiError, Forbidden, InvalidJson, NotFound
from crashsvc.groups import lifecycle, queries
from crashsvc.models import Group

bp = Blueprint("api_groups", __name__, url_prefix="/api/v1")

SPARKLINE_DAYS = 14
DETAIL_DAYS = 30
MAX_BULK = 500


def register(app: Flask) -> None:
    app.register_blueprint(bp)


def _today() -> date:
    return datetime.now(UTC).date()


def _principal(session: Session) -> Principal:
    principal = current_principal(session)
    assert principal is not None  # require_scope ran first
    return principal


def _group_for(session: Session, group_id: int, role: str = "viewer") -> Group:
    """The group if the caller may act on it with ``role``: 404 when not a member, 403 when too junior."""
    group = session.get(Group, group_id)
    have = app_role(session, _principal(session).user, group.app_id) if group is not None else None
    if group is None or have is None:
        raise NotFound("No such group.")
    if ROLE_RANK[have] < ROLE_RANK[role]:
        raise Forbidden(f"This needs the {role!r} role in the app.")
    return group


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidJson("The body must be a JSON object.")
    return body


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(request.args.get(name, default)), low), high)
    except ValueError:
        raise ApiError(f"{name} must be an integer.", code="invalid_query") from None


def _time_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(f"{name} must be an ISO 8601 date or time.", code="invalid_query") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _id_list(body: dict[str, Any], key: str) -> list[int]:
    ids = body.get(key)
    if (
        not isinstance(ids, list)
        or not ids
        or len(ids) > MAX_BULK
        or not all(isinstance(item, int) and not isinstance(item, bool) for item in ids)
    ):
        raise ApiError(
            f"{key} must be a list of 1 to {MAX_BULK} group ids.",
            code="invalid_request",
            fields={key: "list of integers"},
        )
    return list(dict.fromkeys(ids))


@bp.get("/apps/<int:app_id>/groups")
@require_scope("read")
def list_groups(app_id: int) -> Response:
    session = db_session()
    require_app_role(session, _principal(session), app_id)
    flt = queries.GroupFilter(
        status=request.args.get("status") or None,
        app_version=request.args.get("app_version") or None,
        os_name=request.args.get("os_name") or request.args.get("os") or None,
        os_version=request.args.get("os_version") or None,
        platform=request.args.get("platform") or None,
        since=_time_arg("since"),
        until=_time_arg("until"),
        search=request.args.get("q") or None,
        sort=request.args.get("sort") or "last_seen",
        limit=_int_arg("limit", 50, 1, 500),
        offset=_int_arg("offset", 0, 0, 10**9),
    )
    groups, total = queries.list_groups(session, app_id, flt)
    daily = queries.daily_counts(session, [group.id for group in groups], SPARKLINE_DAYS, _today())
    return jsonify(
        {
            "groups": [group_json(group) | {"daily_14d": daily[group.id]} for group in groups],
            "total": total,
            "limit": flt.limit,
            "offset": flt.offset,
        }
    )


@bp.get("/groups/<int:group_id>")
@require_scope("read")
def get_group(group_id: int) -> Response:
    session = db_session()
    group = _group_for(session, group_id)
    today = _today()
    samples = queries.sample_reports(session, group.id)
    daily = queries.daily_counts(session, [group.id], DETAIL_DAYS, today)[group.id]
    first_day = today.toordinal() - DETAIL_DAYS + 1
    return jsonify(
        group_json(group)
        | {
            "explanation": samples[0].signature_explanation if samples else [],
            "breakdowns": {
                dimension: [{"value": value, "count": count} for value, count in values]
                for dimension, values in queries.group_breakdowns(session, group.id).items()
            },
            "daily": [
                {"day": date.fromordinal(first_day + index).isoformat(), "count": count}
                for index, count in enumerate(daily)
            ],
            "samples": [_sample_json(report) for report in samples],
            "history": [group_history_json(entry) for entry in queries.group_history(session, group.id)],
            "notes": [group_note_json(note) for note in queries.group_notes(session, group.id)],
        }
    )


def _sample_json(report: Any) -> dict[str, Any]:
    full = report_json(report)
    keep = (
        "id",
        "received_at",
        "platform",
        "app_version",
        "os_name",
        "os_version",
        "device_model",
        "exception_type",
        "symbolicated",
    )
    return {key: full[key] for key in keep} | {"received_at": iso(report.received_at)}


@bp.post("/groups/<int:group_id>/status")
@require_scope("write")
def set_status(group_id: int) -> Response:
    session = db_session()
    group = _group_for(session, group_id, "developer")
    body = _body()
    version = body.get("resolved_in_version")
    if not isinstance(body.get("status"), str) or (version is not None and not isinstance(version, str)):
        raise ApiError("status (and resolved_in_version) must be strings.", code="invalid_status")
    lifecycle.set_status(
        session, group, body["status"], user=_principal(session).user, resolved_in_version=version, via="api"
    )
    session.commit()
    return jsonify(group_json(group))


@bp.post("/apps/<int:app_id>/groups/bulk-status")
@require_scope("write")
def bulk_status(app_id: int) -> Response:
    session = db_session()
    principal = _principal(session)
    require_app_role(session, principal, app_id, "developer")
    body = _body()
    ids = _id_list(body, "group_ids")
    if not isinstance(body.get("status"), str):
        raise ApiError("status must be a string.", code="invalid_status")
    groups = list(session.scalars(select(Group).where(Group.app_id == app_id, Group.id.in_(ids))))
    missing = sorted(set(ids) - {group.id for group in groups})
    if missing:
        raise NotFound(f"No such groups in this app: {', '.join(map(str, missing))}.")
    for group in groups:
        lifecycle.set_status(session, group, body["status"], user=principal.user, via="api")
    session.commit()
    return jsonify({"groups": [group_json(group) for group in sorted(groups, key=lambda g: g.id)]})


@bp.post("/groups/<int:group_id>/notes")
@require_scope("write")
def add_note(group_id: int) -> tuple[Response, int]:
    session = db_session()
    group = _group_for(session, group_id, "developer")
    text = _body().get("text")
    if not isinstance(text, str):
        raise ApiError("text must be a string.", code="invalid_note")
    note = lifecycle.add_note(session, group, user=_principal(session).user, text=text)
    session.commit()
    return jsonify(group_note_json(note)), 201


@bp.post("/groups/<int:group_id>/merge")
@require_scope("write")
def merge(group_id: int) -> Response:
    session = db_session()
    target = _group_for(session, group_id, "developer")
    ids = _id_list(_body(), "source_ids")
    sources = list(session.scalars(select(Group).where(Group.app_id == target.app_id, Group.id.in_(ids))))
    missing = sorted(set(ids) - {group.id for group in sources})
    if missing:
        raise NotFound(f"No such groups in this app: {', '.join(map(str, missing))}.")
    lifecycle.merge_groups(session, target, sources, user=_principal(session).user)
    session.commit()
    return jsonify(group_json(target) | {"merged_ids": sorted(group.id for group in sources)})


@bp.post("/groups/<int:group_id>/unmerge")
@require_scope("write")
def unmerge(group_id: int) -> Response:
    session = db_session()
    group = _group_for(session, group_id, "developer")
    restored = lifecycle.unmerge_group(session, group, user=_principal(session).user)
    if not restored:
        raise ApiError("No group was merged into this one.", code="not_merged", status=409)
    session.commit()
    return jsonify(group_json(group) | {"restored": [group_json(source) for source in restored]})
