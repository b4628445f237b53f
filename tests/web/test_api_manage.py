"""The management API the UI shares (overview, app settings, members, users, tokens), on both databases,
including every authorisation failure: no token 401, missing scope 403, role too low 403, others' apps 404."""

from __future__ import annotations

import pytest

from tests.web.conftest import send_report


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(app, client, factory):
    app_row = factory.app_row(name="Shop")
    other = factory.app_row(name="Other")
    people = {role: factory.user(email=f"{role}@example.com") for role in ("viewer", "developer", "admin")}
    for role, user in people.items():
        factory.member(user, app_row, role)
    root = factory.user(email="root@example.com", admin=True)
    tokens = {role: factory.token(user) for role, user in people.items()}
    tokens["root"] = factory.token(root)
    tokens["admin_read_only"] = factory.token(people["admin"], scopes="read")
    tokens["outsider"] = factory.token(factory.user(email="out@example.com"))
    return {
        "app": app_row,
        "other": other,
        "people": people,
        "tokens": tokens,
        "client": client,
        "factory": factory,
    }


ADMIN_ENDPOINTS = [  # (method, path, json) needing the app's admin role and the write scope
    ("patch", "/api/v1/apps/{app}", {"retention_days": 30}),
    ("post", "/api/v1/apps/{app}/rotate-key", None),
    ("post", "/api/v1/apps/{app}/members", {"email": "viewer@example.com", "role": "viewer"}),
]


def test_overview_shows_counts_groups_and_missing_symbols(world):
    client, factory = world["client"], world["factory"]
    send_report(client, factory, world["app"])
    send_report(client, factory, world["app"])
    response = client.get(
        f"/api/v1/apps/{world['app'].id}/overview", headers=bearer(world["tokens"]["viewer"])
    )
    assert response.status_code == 200
    data = response.get_json()
    assert data["reports_30d"] == 2 and len(data["daily"]) == 30 and data["daily"][-1]["count"] == 2
    assert [group["count"] for group in data["top_groups"]] == [2]
    assert data["top_groups"][0]["reports_30d"] == 2 and len(data["top_groups"][0]["daily_14d"]) == 14
    assert len(data["new_groups_7d"]) == 1 and data["regressed_groups_7d"] == []
    images = {item["image"] for item in data["missing_symbols"]}
    assert "MyApp" in images
    assert all(
        item["upload_command"].startswith(f"crashsvc symbols upload --app {world['app'].id} ")
        for item in data["missing_symbols"]
    )


def test_read_endpoints_need_a_token_and_membership(world):
    client, app_id = world["client"], world["app"].id
    for path in (
        f"/api/v1/apps/{app_id}/overview",
        f"/api/v1/apps/{app_id}",
        f"/api/v1/apps/{app_id}/members",
        "/api/v1/me",
        "/api/v1/me/tokens",
    ):
        assert client.get(path).status_code == 401, path
    outsider = bearer(world["tokens"]["outsider"])
    for path in (
        f"/api/v1/apps/{app_id}/overview",
        f"/api/v1/apps/{app_id}",
        f"/api/v1/apps/{app_id}/members",
    ):
        response = client.get(path, headers=outsider)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found", path
    assert (
        client.get(
            f"/api/v1/apps/{world['other'].id}/overview", headers=bearer(world["tokens"]["admin"])
        ).status_code
        == 404
    )


def test_app_key_is_shown_to_admins_only(world):
    client, app_id = world["client"], world["app"].id
    as_viewer = client.get(f"/api/v1/apps/{app_id}", headers=bearer(world["tokens"]["viewer"])).get_json()
    assert "ingest_key" not in as_viewer and "dsn" not in as_viewer
    as_admin = client.get(f"/api/v1/apps/{app_id}", headers=bearer(world["tokens"]["admin"])).get_json()
    assert as_admin["ingest_key"] == world["app"].ingest_key and "@" in as_admin["dsn"]


@pytest.mark.parametrize("method, path, body", ADMIN_ENDPOINTS)
def test_admin_endpoints_refuse_lower_roles_scopes_and_outsiders(world, method, path, body):
    client = world["client"]
    url = path.format(app=world["app"].id)
    call = getattr(client, method)
    assert call(url, json=body).status_code == 401
    for who, status in (("viewer", 403), ("developer", 403), ("admin_read_only", 403), ("outsider", 404)):
        response = call(url, json=body, headers=bearer(world["tokens"][who]))
        assert response.status_code == status, (who, response.get_json())
    assert call(url, json=body, headers=bearer(world["tokens"]["admin"])).status_code == 200


def test_patch_app_changes_retention_and_validates(world):
    client, url = world["client"], f"/api/v1/apps/{world['app'].id}"
    headers = bearer(world["tokens"]["admin"])
    response = client.patch(url, json={"retention_days": 14, "name": "Shop 2"}, headers=headers)
    assert response.status_code == 200 and response.get_json()["retention_days"] == 14
    assert response.get_json()["name"] == "Shop 2"
    assert (
        client.patch(url, json={"retention_days": None}, headers=headers).get_json()["retention_days"] is None
    )
    for body, field in (
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": "x"}, "retention_days"),
        ({"retention_days": True}, "retention_days"),
        ({"ingest_key": "mine"}, "ingest_key"),
        ({"name": ""}, "name"),
    ):
        bad = client.patch(url, json=body, headers=headers)
        assert bad.status_code == 400 and field in bad.get_json()["error"]["fields"], body
    assert client.patch(url, json={"name": "Other"}, headers=headers).status_code == 409
    assert client.patch(url, data="nope", headers=headers).get_json()["error"]["code"] == "invalid_json"


def test_rotate_key_replaces_the_ingest_key(world):
    client, app_row = world["client"], world["app"]
    response = client.post(f"/api/v1/apps/{app_row.id}/rotate-key", headers=bearer(world["tokens"]["admin"]))
    new_key = response.get_json()["ingest_key"]
    assert new_key != app_row.ingest_key and new_key in response.get_json()["dsn"]


def test_members_list_add_change_remove(world):
    client, app_id = world["client"], world["app"].id
    headers = bearer(world["tokens"]["admin"])
    world["factory"].user(email="new@example.com")
    members = client.get(f"/api/v1/apps/{app_id}/members", headers=headers).get_json()["members"]
    assert {member["email"]: member["role"] for member in members} == {
        "admin@example.com": "admin",
        "developer@example.com": "developer",
        "viewer@example.com": "viewer",
    }
    added = client.post(
        f"/api/v1/apps/{app_id}/members",
        json={"email": "NEW@example.com", "role": "developer"},
        headers=headers,
    )
    assert added.status_code == 200 and added.get_json()["role"] == "developer"
    user_id = added.get_json()["user_id"]
    bad_role = client.post(
        f"/api/v1/apps/{app_id}/members", json={"email": "new@example.com", "role": "owner"}, headers=headers
    )
    assert bad_role.status_code == 400
    unknown = client.post(
        f"/api/v1/apps/{app_id}/members", json={"email": "ghost@example.com"}, headers=headers
    )
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "unknown_user"
    assert client.delete(f"/api/v1/apps/{app_id}/members/{user_id}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/apps/{app_id}/members/{user_id}", headers=headers).status_code == 404
    assert (
        client.delete(
            f"/api/v1/apps/{app_id}/members/{user_id}", headers=bearer(world["tokens"]["developer"])
        ).status_code
        == 403
    )


def test_creating_apps_and_users_is_for_site_admins(world):
    client = world["client"]
    for token in ("admin", "developer"):
        assert (
            client.post(
                "/api/v1/apps", json={"name": "X"}, headers=bearer(world["tokens"][token])
            ).status_code
            == 403
        )
        assert (
            client.post(
                "/api/v1/users", json={"email": "x@example.com"}, headers=bearer(world["tokens"][token])
            ).status_code
            == 403
        )
    root = bearer(world["tokens"]["root"])
    created = client.post("/api/v1/apps", json={"name": "Android", "retention_days": 60}, headers=root)
    assert (
        created.status_code == 201
        and created.get_json()["ingest_key"]
        and created.get_json()["retention_days"] == 60
    )
    assert client.post("/api/v1/apps", json={"name": "Android"}, headers=root).status_code == 409
    user = client.post("/api/v1/users", json={"email": "Invitee@Example.com"}, headers=root)
    assert user.status_code == 201 and user.get_json()["email"] == "invitee@example.com"
    assert len(user.get_json()["password"]) >= 12  # generated, shown once
    assert (
        client.post("/api/v1/users", json={"email": "invitee@example.com"}, headers=root).status_code == 409
    )
    assert client.post("/api/v1/users", json={"email": "bad"}, headers=root).status_code == 400
    short = client.post("/api/v1/users", json={"email": "s@example.com", "password": "short"}, headers=root)
    assert short.status_code == 400 and "password" in short.get_json()["error"]["fields"]


def test_tokens_of_the_current_user(world):
    client = world["client"]
    headers = bearer(world["tokens"]["developer"])
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["email"] == "developer@example.com" and me["scopes"] == ["read", "symbols", "write"]
    created = client.post("/api/v1/me/tokens", json={"name": "ci", "scopes": ["symbols"]}, headers=headers)
    assert created.status_code == 201
    secret = created.get_json()["token"]
    assert (
        client.get("/api/v1/me", headers=bearer(secret)).status_code == 403
    )  # symbols-only token cannot read
    listed = client.get("/api/v1/me/tokens", headers=headers).get_json()["tokens"]
    assert "ci" in [token["name"] for token in listed] and all("token" not in token for token in listed)
    # A token cannot mint a token with more scopes than it has, nor touch another user's tokens.
    read_only = bearer(world["tokens"]["admin_read_only"])
    assert client.post("/api/v1/me/tokens", json={"scopes": ["read"]}, headers=read_only).status_code == 403
    assert (
        client.post(
            "/api/v1/me/tokens",
            json={"scopes": "read,write,symbols"},
            headers=bearer(world["tokens"]["root"]),
        ).status_code
        == 201
    )
    weaker = client.post(
        "/api/v1/me/tokens", json={"scopes": ["read", "write"]}, headers=bearer(created.get_json()["token"])
    )
    assert weaker.status_code == 403
    assert client.post("/api/v1/me/tokens", json={"scopes": ["admin"]}, headers=headers).status_code == 400
    token_id = created.get_json()["id"]
    assert (
        client.delete(f"/api/v1/me/tokens/{token_id}", headers=bearer(world["tokens"]["viewer"])).status_code
        == 404
    )
    assert client.delete(f"/api/v1/me/tokens/{token_id}", headers=headers).status_code == 204
    assert client.get("/api/v1/apps", headers=bearer(secret)).status_code == 401  # revoked


def test_admin_changes_are_audited_without_secrets(world):
    client, app_row = world["client"], world["app"]
    headers = bearer(world["tokens"]["admin"])
    client.post(f"/api/v1/apps/{app_row.id}/rotate-key", headers=headers)
    client.patch(f"/api/v1/apps/{app_row.id}", json={"retention_days": 7}, headers=headers)
    client.post(
        f"/api/v1/apps/{app_row.id}/members",
        json={"email": "viewer@example.com", "role": "developer"},
        headers=headers,
    )
    events = client.get(f"/api/v1/apps/{app_row.id}/audit", headers=headers).get_json()["events"]
    admin_id = world["people"]["admin"].id
    mine = [event for event in events if event["actor"] == f"user:{admin_id}"]
    assert [event["action"] for event in mine] == ["member.set", "app.update", "app.rotate_key"]
    assert mine[1]["detail"]["retention_days"] == 7 and mine[0]["detail"]["role"] == "developer"
    new_key = client.get(f"/api/v1/apps/{app_row.id}", headers=headers).get_json()["ingest_key"]
    assert new_key not in str(events) and app_row.ingest_key not in str(events)


def test_dead_letters_and_audit_log(world):
    client, app_id = world["client"], world["app"].id
    assert client.get("/api/v1/dead-letters", headers=bearer(world["tokens"]["admin"])).status_code == 403
    dead = client.get("/api/v1/dead-letters", headers=bearer(world["tokens"]["root"]))
    assert dead.status_code in (200, 404)  # 404 not_available when the module is absent
    if dead.status_code == 200:
        assert dead.get_json()["dead_letters"] == []
    assert (
        client.get(f"/api/v1/apps/{app_id}/audit", headers=bearer(world["tokens"]["developer"])).status_code
        == 403
    )
    audit = client.get(f"/api/v1/apps/{app_id}/audit", headers=bearer(world["tokens"]["admin"]))
    assert audit.status_code in (200, 404)
    if audit.status_code == 200:
        assert isinstance(audit.get_json()["events"], list)


def test_overview_snapshot_keeps_statuses_live_and_large_apps_compute_in_background(world, monkeypatch):
    import time

    from crashsvc.web import overview_data

    client, factory, app_id = world["client"], world["factory"], world["app"].id
    send_report(client, factory, world["app"])
    headers = bearer(world["tokens"]["developer"])
    monkeypatch.setattr(overview_data, "SYNC_REPORTS", 0)  # as if the app were large
    pending = client.get(f"/api/v1/apps/{app_id}/overview", headers=headers)
    assert pending.status_code == 202 and pending.headers["Retry-After"] == "5"
    for _ in range(100):
        first = client.get(f"/api/v1/apps/{app_id}/overview", headers=headers)
        if first.status_code == 200:
            break
        time.sleep(0.1)
    assert first.status_code == 200 and first.get_json()["reports_30d"] == 1
    first = first.get_json()
    group_id = first["top_groups"][0]["id"]
    client.post(f"/api/v1/groups/{group_id}/status", json={"status": "ignored"}, headers=headers)
    again = client.get(f"/api/v1/apps/{app_id}/overview", headers=headers).get_json()
    assert again["computed_at"] == first["computed_at"]  # the same snapshot...
    assert again["top_groups"][0]["status"] == "ignored"  # ...with the status read live
    # A small app is computed in the request: no snapshot needed, none written.
    monkeypatch.setattr(overview_data, "SYNC_REPORTS", 50_000)
    factory.services.redis.delete(f"crashsvc:overview:{app_id}")
    small = client.get(f"/api/v1/apps/{app_id}/overview", headers=headers)
    assert small.status_code == 200 and small.get_json()["top_groups"][0]["status"] == "ignored"
    assert factory.services.redis.get(f"crashsvc:overview:{app_id}") is None
