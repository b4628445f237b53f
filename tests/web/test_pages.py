"""Pages by role: who sees what, who may act, and the admin pages' actions (SQLite, test client)."""

from __future__ import annotations

from sqlalchemy import select

from crashsvc.models import ApiToken, App, Group, Membership
from tests.web.conftest import page_csrf, send_report, sign_in


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_outsider_gets_404_for_everything_of_another_app(web):
    client = web["client"]
    sign_in(client, "outsider@example.com")
    app_id = web["app"].id
    for path in (
        f"/apps/{app_id}",
        f"/apps/{app_id}/groups",
        f"/groups/{web['group_id']}",
        f"/reports/{web['report_id']}",
        f"/apps/{app_id}/settings",
        "/apps/999999",
        "/groups/999999",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "text/html" in response.content_type and "Shop iOS" not in _html(response)
    token = page_csrf(client)
    assert (
        client.post(
            f"/groups/{web['group_id']}/status", data={"action": "resolve", "csrf_token": token}
        ).status_code
        == 404
    )
    home = _html(client.get("/", follow_redirects=True))
    assert "Other app" in home and "Shop iOS" not in home  # not even in the app switcher


def test_viewer_reads_but_cannot_change_anything(web):
    client = web["client"]
    sign_in(client, "viewer@example.com")
    group_id, app_id = web["group_id"], web["app"].id
    detail = _html(client.get(f"/groups/{group_id}"))
    assert 'data-testid="status-actions"' not in detail and 'name="text"' not in detail
    assert 'name="group_ids"' not in _html(client.get(f"/apps/{app_id}/groups"))
    token = page_csrf(client)
    for path, data in (
        (f"/groups/{group_id}/status", {"action": "resolve"}),
        (f"/groups/{group_id}/notes", {"text": "x"}),
        (f"/apps/{app_id}/groups/bulk", {"action": "ignore", "group_ids": str(group_id)}),
        (f"/apps/{app_id}/settings/rotate-key", {}),
    ):
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    assert client.get(f"/apps/{app_id}/settings").status_code == 403
    with web["factory"].services.db.sessions() as session:
        assert session.get(Group, group_id).status == "unresolved"


def test_developer_resolves_in_next_version_ignores_reopens_and_bulk(web):
    client, factory = web["client"], web["factory"]
    sign_in(client, "developer@example.com")
    group_id, app_id = web["group_id"], web["app"].id
    token = page_csrf(client)
    client.post(
        f"/groups/{group_id}/status", data={"action": "resolve", "in_next_version": "1", "csrf_token": token}
    )
    with factory.services.db.sessions() as session:
        group = session.get(Group, group_id)
        assert (group.status, group.resolved_in_version) == ("resolved", "2.4.1")
    send_report(client, factory, web["app"])  # same version: still resolved
    with factory.services.db.sessions() as session:
        assert session.get(Group, group_id).status == "resolved"
    newer = factory.report()
    newer["app"] = {**newer["app"], "version": "2.5.0"}
    send_report(client, factory, web["app"], **newer)
    with factory.services.db.sessions() as session:
        assert session.get(Group, group_id).status == "regressed"
    client.post(f"/groups/{group_id}/status", data={"action": "ignore", "csrf_token": token})
    client.post(f"/groups/{group_id}/status", data={"action": "reopen", "csrf_token": token})
    history = _html(client.get(f"/groups/{group_id}"))
    for change in (
        "→ <strong>resolved</strong>",
        "→ <strong>regressed</strong>",
        "→ <strong>ignored</strong>",
        "→ <strong>unresolved</strong>",
    ):
        assert change in history
    back = f"/apps/{app_id}/groups?status=unresolved"
    response = client.post(
        f"/apps/{app_id}/groups/bulk",
        data={"action": "resolve", "group_ids": [str(group_id)], "next": back, "csrf_token": token},
    )
    assert response.status_code == 302 and response.headers["Location"] == back
    listing = _html(client.get(back, follow_redirects=True))
    assert "1 group(s) marked resolved." in listing and "No groups match these filters." in listing


def test_bulk_ignores_ids_of_other_apps(web):
    client, factory = web["client"], web["factory"]
    other_report = send_report(client, factory, web["other_app"])
    with factory.services.db.sessions() as session:
        from crashsvc.models import Report

        other_group = session.get(Report, other_report).group_id
    sign_in(client, "developer@example.com")
    token = page_csrf(client)
    client.post(
        f"/apps/{web['app'].id}/groups/bulk",
        data={"action": "ignore", "group_ids": [str(other_group)], "csrf_token": token},
    )
    with factory.services.db.sessions() as session:
        assert session.get(Group, other_group).status == "unresolved"


def test_group_list_filters_search_sort_and_bad_input(web):
    client = web["client"]
    sign_in(client, "developer@example.com")
    base = f"/apps/{web['app'].id}/groups"
    assert 'data-group-id="' in _html(client.get(f"{base}?q=unwrapping&sort=count&status=unresolved"))
    assert "No groups match" in _html(client.get(f"{base}?q=no-such-crash"))
    assert "No groups match" in _html(client.get(f"{base}?app_version=9.9.9"))
    assert 'data-group-id="' in _html(client.get(f"{base}?app_version=2.4.1&os_name=iOS&platform=cocoa"))
    assert "No groups match" in _html(client.get(f"{base}?since=2001-01-01&until=2001-01-02"))
    odd = _html(client.get(f"{base}?since=yesterday&sort=loudest&status=sad&page=-3&per_page=7"))
    assert "must be a date" in odd and "Unknown sort" in odd and "Unknown status" in odd
    assert 'data-group-id="' in odd


def test_notes_are_added_and_validated(web):
    client = web["client"]
    sign_in(client, "developer@example.com")
    token = page_csrf(client)
    group = web["group_id"]
    client.post(f"/groups/{group}/notes", data={"text": "Fixed by #123", "csrf_token": token})
    client.post(f"/groups/{group}/notes", data={"text": "   ", "csrf_token": token})
    page = _html(client.get(f"/groups/{group}"))
    assert "Fixed by #123" in page and "A note needs text." in page


def test_app_admin_settings_key_retention_members(web):
    client, factory = web["client"], web["factory"]
    admin = factory.user(email="appadmin@example.com")
    factory.member(admin, web["app"], "admin")
    sign_in(client, "appadmin@example.com")
    app_id = web["app"].id
    page = _html(client.get(f"/apps/{app_id}/settings"))
    assert web["app"].ingest_key in page and f"/{app_id}</code>" in page  # key and DSN
    assert 'data-testid="placeholder-audit"' in page or "Audit log" in page
    token = page_csrf(client, f"/apps/{app_id}/settings")
    client.post(f"/apps/{app_id}/settings/rotate-key", data={"csrf_token": token})
    client.post(
        f"/apps/{app_id}/settings/retention",
        data={"retention_days": "45", "name": "Shop iOS", "csrf_token": token},
    )
    client.post(
        f"/apps/{app_id}/members",
        data={"email": "outsider@example.com", "role": "developer", "csrf_token": token},
    )
    bad = client.post(
        f"/apps/{app_id}/settings/retention",
        data={"retention_days": "-1", "csrf_token": token},
        follow_redirects=True,
    )
    assert "between 1 and 3650" in _html(bad)
    with factory.services.db.sessions() as session:
        row = session.get(App, app_id)
        assert row.ingest_key != web["app"].ingest_key and row.retention_days == 45
        outsider = web["users"]["outsider"]
        assert session.get(Membership, (outsider.id, app_id)).role == "developer"
    client.post(f"/apps/{app_id}/members/{web['users']['outsider'].id}/remove", data={"csrf_token": token})
    with factory.services.db.sessions() as session:
        assert session.get(Membership, (web["users"]["outsider"].id, app_id)) is None


def test_site_admin_creates_apps_and_invites_users(web):
    client, factory = web["client"], web["factory"]
    factory.user(email="root@example.com", admin=True)
    sign_in(client, "root@example.com")
    token = page_csrf(client, "/admin/users")
    created = client.post("/admin/users", data={"email": "new.dev@example.com", "csrf_token": token})
    page = _html(created)
    assert "new.dev@example.com" in page and "one-time password" in page
    assert "Placeholder" in page or "Dead letters" in page
    response = client.post("/apps", data={"name": "Android", "retention_days": "30", "csrf_token": token})
    assert response.status_code == 302 and "/settings" in response.headers["Location"]
    developer = web["flask_app"].test_client()
    sign_in(developer, "developer@example.com")
    assert developer.get("/admin/users").status_code == 403
    assert (
        developer.post("/apps", data={"name": "Mine", "csrf_token": page_csrf(developer)}).status_code == 403
    )


def test_tokens_page_shows_a_new_token_once_and_revokes(web):
    client, factory = web["client"], web["factory"]
    sign_in(client, "viewer@example.com")
    token = page_csrf(client)
    page = _html(
        client.post("/account/tokens", data={"name": "laptop", "scopes": ["read"], "csrf_token": token})
    )
    assert 'data-testid="new-token">csvc_' in page
    with factory.services.db.sessions() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.name == "laptop")).one()
    assert 'data-testid="new-token"' not in _html(client.get("/account/tokens"))
    client.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": token})
    with factory.services.db.sessions() as session:
        assert session.get(ApiToken, row.id).revoked_at is not None
    other = page_csrf(client)
    assert (
        client.post(f"/account/tokens/{row.id + 999}/revoke", data={"csrf_token": other}).status_code == 404
    )


def test_unknown_page_is_an_html_404_and_api_stays_json(web):
    client = web["client"]
    html = client.get("/nowhere", headers={"Accept": "text/html"})
    assert html.status_code == 404 and "text/html" in html.content_type
    api = client.get("/api/v1/nowhere", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"


def test_overview_of_a_large_app_says_it_is_computing_then_shows(web, monkeypatch):
    import time

    from crashsvc.web import overview_data

    client = web["client"]
    sign_in(client, "viewer@example.com")
    monkeypatch.setattr(overview_data, "SYNC_REPORTS", 0)
    pending = client.get(f"/apps/{web['app'].id}")
    assert pending.status_code == 202 and '<meta http-equiv="refresh" content="5">' in _html(pending)
    for _ in range(100):
        page = client.get(f"/apps/{web['app'].id}")
        if page.status_code == 200:
            break
        time.sleep(0.1)
    assert page.status_code == 200 and 'data-testid="kpi-reports">1<' in _html(page)
