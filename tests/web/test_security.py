"""Security headers, cookies, sign-in required, session end, login throttling, no open redirect."""

from __future__ import annotations

import re

import pytest

from crashsvc.web.security import CONTENT_SECURITY_POLICY
from tests.web.conftest import csrf_from, sign_in

PAGES = (
    "/",
    "/apps/{app}",
    "/apps/{app}/groups",
    "/groups/{group}",
    "/reports/{report}",
    "/account/tokens",
    "/apps/{app}/settings",
    "/admin/users",
)


def _paths(web) -> list[str]:
    return [path.format(app=web["app"].id, group=web["group_id"], report=web["report_id"]) for path in PAGES]


def assert_security_headers(response) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    assert csp == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_every_kind_of_response_carries_the_security_headers(web):
    client = web["client"]
    answers = [
        client.get("/login"),
        client.get("/static/web/app.css"),
        client.get("/healthz"),
        client.get("/api/v1/apps"),
        client.get("/no/such/page", headers={"Accept": "text/html"}),
        client.post("/api/v1/reports", json={}, headers={"X-Crashsvc-Key": "wrong"}),
    ]
    sign_in(client, "developer@example.com")
    answers += [client.get(path) for path in _paths(web)]
    for response in answers:
        assert_security_headers(response)
        response.close()  # the static file's stream


def test_pages_have_no_inline_script_style_or_handlers(web):
    client = web["client"]
    sign_in(client, "developer@example.com")
    pages = [client.get("/login").get_data(as_text=True)]
    pages += [client.get(path).get_data(as_text=True) for path in _paths(web)[:6]]
    for html in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
        assert not re.search(r"<style\b", html) and not re.search(r"\sstyle=", html), "inline style"
        assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def test_nothing_but_login_static_health_and_ingest_is_reachable_signed_out(web):
    client = web["client"]
    for path in _paths(web):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    assert client.get("/login").status_code == 200
    for path in (
        "/api/v1/apps",
        f"/api/v1/apps/{web['app'].id}/overview",
        f"/api/v1/groups/{web['group_id']}",
        f"/api/v1/reports/{web['report_id']}",
        "/api/v1/me/tokens",
    ):
        assert client.get(path).status_code == 401, path


def test_session_cookie_flags(web, make_app):
    client = web["client"]
    response = sign_in(client, "developer@example.com")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("crashsvc_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure_app = make_app(secure_cookies="true")
    secure_cookie = secure_app.test_client().get("/login").headers["Set-Cookie"]
    assert "Secure" in secure_cookie and "HttpOnly" in secure_cookie


def test_sign_out_ends_the_session_on_the_server(web):
    client = web["client"]
    sign_in(client, "developer@example.com")
    stolen = client.get_cookie("crashsvc_session").value
    token = csrf_from(client.get("/account/tokens").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    other = web["flask_app"].test_client()
    other.set_cookie("crashsvc_session", stolen)
    assert other.get("/account/tokens").status_code == 302  # the old cookie no longer signs anyone in


def test_wrong_password_and_unknown_user_look_the_same(web):
    client = web["client"]
    wrong = sign_in(client, "developer@example.com", "not the password")
    unknown = sign_in(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong e-mail or password." in wrong.get_data(as_text=True)
    assert "Wrong e-mail or password." in unknown.get_data(as_text=True)


def test_login_is_throttled_per_account_and_keys_hold_no_address_or_email(web):
    client = web["client"]
    for _ in range(5):
        assert sign_in(client, "developer@example.com", "guess").status_code == 401
    blocked = sign_in(client, "developer@example.com")  # even the right password now waits
    assert blocked.status_code == 429 and "Too many failed attempts" in blocked.get_data(as_text=True)
    assert sign_in(client, "viewer@example.com").status_code == 302  # another account is not blocked
    redis = web["factory"].services.redis
    keys = [key.decode() for key in redis.keys("crashsvc:login:*")]
    assert keys and all("example.com" not in key and "127.0.0.1" not in key for key in keys)
    assert all(0 < redis.ttl(key) <= 15 * 60 for key in keys)


def test_login_is_throttled_per_client(web, monkeypatch):
    from crashsvc.web import throttle

    monkeypatch.setattr(throttle, "MAX_FAILURES_PER_CLIENT", 3)
    client = web["client"]
    for number in range(3):
        assert sign_in(client, f"guess{number}@example.com", "guess").status_code == 401
    assert sign_in(client, "viewer@example.com").status_code == 429


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_sign_in_never_redirects_off_site(web, target):
    client = web["client"]
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={
            "email": "developer@example.com",
            "password": "correct horse battery",
            "csrf_token": token,
            "next": target,
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_sign_in_returns_to_the_page_asked_for(web):
    client = web["client"]
    path = f"/groups/{web['group_id']}"
    login_url = client.get(path).headers["Location"]
    token = csrf_from(client.get(login_url).get_data(as_text=True))
    response = client.post(
        "/login",
        data={
            "email": "developer@example.com",
            "password": "correct horse battery",
            "csrf_token": token,
            "next": path,
        },
    )
    assert response.headers["Location"] == path
