"""Helpers for group tests: reports posted through the edge, the real anonymizer, API calls."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from workers import pipeline


@pytest.fixture(autouse=True)
def real_anonymizer(monkeypatch):
    """Run the real anonymizer (it sets ``install_hash``) even while the pipeline still has its stand-in."""
    from workers.anonymize.stage import anonymize_report

    stages = [(name, anonymize_report if name == "anonymize" else stage) for name, stage in pipeline.STAGES]
    monkeypatch.setattr(pipeline, "STAGES", stages)


def variant(
    factory,
    *,
    bug: str = "A",
    app_version: str = "2.4.1",
    os_version: str = "17.5.1",
    device_model: str = "iPhone15,2",
    install: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """The iOS test crash with another id and context; ``bug`` B is a different exception (another group)."""
    report = factory.report(report_id=str(uuid.uuid4()), **changes)
    report["app"]["version"] = app_version
    report["os"]["version"] = os_version
    report["device"]["model"] = device_model
    if install is not None:
        report["device"]["id"] = install
    if bug != "A":
        report["exception"]["type"] = f"EXC_BUG_{bug}"
    return report


@dataclass
class Api:
    client: Any
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params: Any):
        return self.client.get(f"/api/v1{path}", headers=self.headers, query_string=params)

    def post(self, path: str, body: Any = None):
        return self.client.post(f"/api/v1{path}", headers=self.headers, json=body)


@dataclass
class World:
    factory: Any
    client: Any
    app_row: Any
    admin: Any
    api: Api

    def send(self, *reports: dict[str, Any]) -> None:
        for report in reports:
            response = self.client.post(
                "/api/v1/reports", json=report, headers={"X-Crashsvc-Key": self.app_row.ingest_key}
            )
            assert response.status_code == 202, response.get_json()

    def process(self, *reports: dict[str, Any]) -> None:
        self.send(*reports)
        self.factory.process_queue()

    def groups(self, **params: Any) -> list[dict[str, Any]]:
        response = self.api.get(f"/apps/{self.app_row.id}/groups", **params)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["groups"]

    def api_for(self, role: str | None, scopes: str = "read,write") -> Api:
        user = self.factory.user()
        if role is not None:
            self.factory.member(user, self.app_row, role)
        return Api(self.client, self.factory.token(user, scopes))


@pytest.fixture
def world(factory, client) -> World:
    app_row = factory.app_row()
    admin = factory.user(admin=True)
    return World(factory, client, app_row, admin, Api(client, factory.token(admin)))


def today() -> str:
    return datetime.now(UTC).date().isoformat()
