"""The JSON side of what the web UI shows and does outside groups: overview, app settings, members,
users, the caller's tokens, dead letters and the audit log (when those modules exist).

Same rules as the pages: a principal (Bearer token or signed-in browser with CSRF header) with the
scope, and the role in the app; apps of others answer 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from crashsvc import management
from crashsvc.api.serializers import app_json, iso
from crashsvc.auth import Principal, app_role, current_principal, require_app_role, require_scope
from crashsvc.db import db_session
from crashsvc.errors import ApiError, Forbidden, NotFound
from crashsvc.models import ApiToken

bp = Blueprint("api_manage", __name__, url_prefix="/api/v1")


def register(app: Flask) -> None:
    app.register_blueprint(bp)


def _principal() -> Principal:
    return current_principal(db_session())


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("Send a JSON object.", code="invalid_json")
    return body


def _public_url() -> str:
    return current_app.extensions["crashsvc"].settings.public_url


def _site_admin(principal: Principal) -> None:
    if not principal.user.is_admin:
        raise Forbidden("Only administrators can do this.")


# -- apps ------------------------------------------------------------------------------------------
@bp.get("/apps/<int:app_id>/overview")
@require_scope("read")
def app_overview(app_id: int) -> Response | tuple[Response, int, dict[str, str]]:
    from crashsvc.web.overview_data import overview

    session = db_session()
    require_app_role(session, _principal(), app_id)
    data = overview(app_id)
    if data is None:  # a large app's first snapshot is being computed
        return jsonify({"status": "computing"}), 202, {"Retry-After": "5"}
    return jsonify(data)


@bp.get("/apps/<int:app_id>")
@require_scope("read")
def get_app(app_id: int) -> Response:
    session = db_session()
    principal = _principal()
    app = require_app_role(session, principal, app_id)
    is_admin = app_role(session, principal.user, app_id) == "admin"
    return jsonify(app_json(app, _public_url(), include_key=is_admin))


@bp.post("/apps")
@require_scope("write")
def create_app() -> tuple[Response, int]:
    principal = _principal()
    _site_admin(principal)
    body = _body()
    session = db_session()
    app = management.create_app_row(
        session, str(body.get("name") or ""), body.get("retention_days"), by=principal.user
    )
    session.commit()
    return jsonify(app_json(app, _public_url(), include_key=True)), 201


@bp.patch("/apps/<int:app_id>")
@require_scope("write")
def patch_app(app_id: int) -> Response:
    session = db_session()
    principal = _principal()
    app = require_app_role(session, principal, app_id, "admin")
    management.update_app(session, app, _body(), by=principal.user)
    session.commit()
    return jsonify(app_json(app, _public_url(), include_key=True))


@bp.post("/apps/<int:app_id>/rotate-key")
@require_scope("write")
def rotate_key(app_id: int) -> Response:
    session = db_session()
    principal = _principal()
    app = require_app_role(session, principal, app_id, "admin")
    management.rotate_ingest_key(session, app, by=principal.user)
    session.commit()
    return jsonify(app_json(app, _public_url(), include_key=True))


# -- members ---------------------------------------------------------------------------------------
def _member_json(user, role: str) -> dict[str, Any]:
    return {"user_id": user.id, "email": user.email, "role": role}


@bp.get("/apps/<int:app_id>/members")
@require_scope("read")
def list_members(app_id: int) -> Response:
    session = db_session()
    require_app_role(session, _principal(), app_id, "admin")
    return jsonify(
        {"members": [_member_json(user, role) for user, role in management.list_members(session, app_id)]}
    )


@bp.post("/apps/<int:app_id>/members")
@require_scope("write")
def set_member(app_id: int) -> tuple[Response, int]:
    session = db_session()
    principal = _principal()
    app = require_app_role(session, principal, app_id, "admin")
    body = _body()
    membership = management.set_member(
        session, app, str(body.get("email") or ""), str(body.get("role") or "viewer"), by=principal.user
    )
    session.commit()
    members = dict((user.id, (user, role)) for user, role in management.list_members(session, app_id))
    return jsonify(_member_json(*members[membership.user_id])), 200


@bp.delete("/apps/<int:app_id>/members/<int:user_id>")
@require_scope("write")
def remove_member(app_id: int, user_id: int) -> tuple[str, int]:
    session = db_session()
    principal = _principal()
    app = require_app_role(session, principal, app_id, "admin")
    management.remove_member(session, app, user_id, by=principal.user)
    session.commit()
    return "", 204


# -- users and tokens ------------------------------------------------------------------------------
@bp.post("/users")
@require_scope("write")
def create_user() -> tuple[Response, int]:
    principal = _principal()
    _site_admin(principal)
    body = _body()
    session = db_session()
    user, generated = management.create_user(
        session,
        str(body.get("email") or ""),
        body.get("password") or None,
        is_admin=body.get("is_admin") is True,
        by=principal.user,
    )
    session.commit()
    data: dict[str, Any] = {"id": user.id, "email": user.email, "is_admin": user.is_admin}
    if generated:
        data["password"] = generated  # shown once
    return jsonify(data), 201


@bp.get("/me")
@require_scope("read")
def me() -> Response:
    principal = _principal()
    return jsonify(
        {
            "id": principal.user.id,
            "email": principal.user.email,
            "is_admin": principal.user.is_admin,
            "scopes": sorted(principal.scopes),
        }
    )


def _token_json(row: ApiToken) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "scopes": sorted(row.scope_set),
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
        "revoked_at": iso(row.revoked_at),
    }


@bp.get("/me/tokens")
@require_scope("read")
def list_tokens() -> Response:
    tokens = management.list_tokens(db_session(), _principal().user)
    return jsonify({"tokens": [_token_json(row) for row in tokens]})


@bp.post("/me/tokens")
@require_scope("write")
def create_token() -> tuple[Response, int]:
    principal = _principal()
    body = _body()
    session = db_session()
    scopes = management.parse_scopes(body.get("scopes"), principal.scopes)
    row, token = management.create_token(session, principal.user, str(body.get("name") or ""), scopes)
    session.commit()
    return jsonify({**_token_json(row), "token": token}), 201


@bp.delete("/me/tokens/<int:token_id>")
@require_scope("write")
def revoke_token(token_id: int) -> tuple[str, int]:
    session = db_session()
    management.revoke_token(session, _principal().user, token_id)
    session.commit()
    return "", 204


# -- optional features -----------------------------------------------------------------------------
@bp.get("/dead-letters")
@require_scope("read")
def dead_letters() -> Response:
    from crashsvc.web import optional

    _site_admin(_principal())
    rows = optional.dead_letters(current_app.extensions["crashsvc"])
    if rows is None:
        raise NotFound("Dead letters are not available in this build.", code="not_available")
    return jsonify({"dead_letters": [optional.as_mapping(row) for row in rows]})


@bp.get("/apps/<int:app_id>/audit")
@require_scope("read")
def audit_log(app_id: int) -> Response:
    from crashsvc.web import optional

    session = db_session()
    require_app_role(session, _principal(), app_id, "admin")
    rows = optional.audit_events(session, app_id)
    if rows is None:
        raise NotFound("The audit log is not available in this build.", code="not_available")
    return jsonify({"events": [optional.as_mapping(row) for row in rows]})
