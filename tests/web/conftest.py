"""Web UI fixtures: signed-in test clients, CSRF tokens from real pages, reports through the pipeline."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def page_csrf(client, path: str = "/account/tokens") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def send_report(client, factory, app_row, **changes: Any) -> str:
    """Ingest a report through the real edge and worker; returns its id."""
    body = factory.report(**{**changes, "report_id": str(uuid.uuid4())})
    response = client.post("/api/v1/reports", json=body, headers={"X-Crashsvc-Key": app_row.ingest_key})
    assert response.status_code == 202, response.get_data(as_text=True)
    factory.process_queue()
    return response.get_json()["id"]


def group_of(factory, report_id: str) -> int:
    from crashsvc.models import Report

    with factory.services.db.sessions() as session:
        return session.get(Report, report_id).group_id


@pytest.fixture
def web(edge_app, edge_client, edge_factory):
    """An app with a developer, a viewer, an outsider and one processed report; SQLite."""
    app_row = edge_factory.app_row(name="Shop iOS")
    other_app = edge_factory.app_row(name="Other app")
    users = {
        role: edge_factory.user(email=f"{role}@example.com") for role in ("developer", "viewer", "outsider")
    }
    edge_factory.member(users["developer"], app_row, "developer")
    edge_factory.member(users["viewer"], app_row, "viewer")
    edge_factory.member(users["outsider"], other_app, "admin")
    report_id = send_report(edge_client, edge_factory, app_row)
    return {
        "app": app_row,
        "other_app": other_app,
        "users": users,
        "report_id": report_id,
        "group_id": group_of(edge_factory, report_id),
        "client": edge_client,
        "factory": edge_factory,
        "flask_app": edge_app,
    }
