"""CSRF: every form and every cookie-authenticated unsafe API call must carry the session's token."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, csrf_from, page_csrf, sign_in


def test_login_form_needs_the_token(web):
    client = web["client"]
    client.get("/login")
    response = client.post("/login", data={"email": "developer@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/account/tokens").status_code == 302  # not signed in


def test_forms_refuse_missing_or_wrong_tokens(web):
    client = web["client"]
    sign_in(client, "developer@example.com")
    group = web["group_id"]
    for data in ({"action": "resolve"}, {"action": "resolve", "csrf_token": "forged"}):
        response = client.post(f"/groups/{group}/status", data=data, headers={"Accept": "text/html"})
        assert response.status_code == 403
        assert "csrf_failed" in response.get_data(as_text=True)
    assert client.post("/logout").status_code == 403
    token = page_csrf(client)
    assert (
        client.post(f"/groups/{group}/status", data={"action": "resolve", "csrf_token": token}).status_code
        == 302
    )
    detail = client.get(f"/groups/{group}").get_data(as_text=True)
    assert 'status-resolved">resolved' in detail


def test_a_token_from_another_session_is_refused(web):
    attacker = web["flask_app"].test_client()
    sign_in(attacker, "viewer@example.com")
    foreign = page_csrf(attacker)
    client = web["client"]
    sign_in(client, "developer@example.com")
    response = client.post(
        f"/groups/{web['group_id']}/status", data={"action": "ignore", "csrf_token": foreign}
    )
    assert response.status_code == 403


def test_sign_in_issues_a_new_token(web):
    client = web["client"]
    before = csrf_from(client.get("/login").get_data(as_text=True))
    sign_in(client, "developer@example.com")
    assert page_csrf(client) != before


def test_api_with_the_session_cookie_needs_the_csrf_header_for_unsafe_methods(web):
    client = web["client"]
    sign_in(client, "developer@example.com")
    group = web["group_id"]
    assert client.get(f"/api/v1/groups/{group}").status_code == 200  # reading needs no token
    response = client.post(f"/api/v1/groups/{group}/notes", json={"text": "hi"})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "csrf_failed"
    wrong = client.post(
        f"/api/v1/groups/{group}/notes", json={"text": "hi"}, headers={"X-CSRF-Token": "nope"}
    )
    assert wrong.status_code == 403
    ok = client.post(
        f"/api/v1/groups/{group}/notes", json={"text": "hi"}, headers={"X-CSRF-Token": page_csrf(client)}
    )
    assert ok.status_code in (200, 201)


def test_bearer_tokens_need_no_csrf(web):
    factory, client = web["factory"], web["client"]
    token = factory.token(factory.user(email="dev2@example.com", admin=True))
    response = client.post(
        f"/api/v1/groups/{web['group_id']}/notes",
        json={"text": "from CI"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in (200, 201)
