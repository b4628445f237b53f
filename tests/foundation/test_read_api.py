"""Read API, health, metrics and OpenAPI: auth failures and shapes."""

from __future__ import annotations

import time

import pytest

from config.settings import SettingsError, load_settings


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_read_api_needs_a_valid_token(edge_client, edge_factory):
    app_row = edge_factory.app_row()
    for headers in ({}, bearer("csvc_wrong"), {"Authorization": "Basic abc"}):
        response = edge_client.get(f"/api/v1/apps/{app_row.id}/groups", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_token_without_read_scope_is_forbidden(edge_client, edge_factory):
    app_row = edge_factory.app_row()
    token = edge_factory.token(edge_factory.user(admin=True), scopes="symbols")
    response = edge_client.get(f"/api/v1/apps/{app_row.id}/groups", headers=bearer(token))
    assert response.status_code == 403


def test_non_member_gets_404_for_an_app_and_its_reports(edge_client, edge_factory):
    app_row = edge_factory.app_row()
    outsider = edge_factory.token(edge_factory.user())
    response = edge_client.get(f"/api/v1/apps/{app_row.id}/groups", headers=bearer(outsider))
    assert response.status_code == 404
    report_id = edge_client.post(
        "/api/v1/reports", json=edge_factory.report(), headers={"X-Crashsvc-Key": app_row.ingest_key}
    ).get_json()["id"]
    edge_factory.process_queue()
    assert edge_client.get(f"/api/v1/reports/{report_id}", headers=bearer(outsider)).status_code == 404
    member = edge_factory.user()
    edge_factory.member(member, app_row)
    assert (
        edge_client.get(
            f"/api/v1/reports/{report_id}", headers=bearer(edge_factory.token(member))
        ).status_code
        == 200
    )


def test_revoked_token_stops_working(edge_client, edge_factory):
    from sqlalchemy import update

    from crashsvc.models import ApiToken
    from crashsvc.models.base import utcnow

    user = edge_factory.user(admin=True)
    token = edge_factory.token(user)
    assert edge_client.get("/api/v1/apps", headers=bearer(token)).status_code == 200
    with edge_factory.services.db.transaction() as session:
        session.execute(update(ApiToken).values(revoked_at=utcnow()))
    assert edge_client.get("/api/v1/apps", headers=bearer(token)).status_code == 401


def test_unknown_report_is_404(edge_client, edge_factory):
    token = edge_factory.token(edge_factory.user(admin=True))
    response = edge_client.get("/api/v1/reports/00000000-0000-0000-0000-000000000000", headers=bearer(token))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_failed_processing_shows_failed_status_and_keeps_no_payload_in_the_job(
    edge_client, edge_factory, monkeypatch
):
    from redis import Redis

    from workers import pipeline

    def broken(ctx):
        raise ValueError(f"boom {ctx.report['exception']['value']}")

    monkeypatch.setattr(pipeline, "STAGES", [("broken", broken)])
    report = edge_factory.report(report_id=None)
    report["exception"]["value"] = "payload-marker-551"
    app_row = edge_factory.app_row()
    report_id = edge_client.post(
        "/api/v1/reports", json=report, headers={"X-Crashsvc-Key": app_row.ingest_key}
    ).get_json()["id"]
    from rq import Queue
    from rq.job import Job

    job = Job.fetch(report_id, connection=edge_factory.services.redis)
    job.retries_left = 0
    job.save()
    edge_factory.process_queue()
    token = edge_factory.token(edge_factory.user(admin=True))
    assert (
        edge_client.get(f"/api/v1/reports/{report_id}", headers=bearer(token)).get_json()["status"]
        == "failed"
    )
    redis = Redis.from_url(edge_factory.services.settings.redis_url)
    for key in redis.keys("rq:*"):
        if redis.type(key) == b"hash":
            assert b"payload-marker-551" not in b"".join(redis.hgetall(key).values())
    assert Queue(edge_factory.services.settings.queue_name, connection=redis).failed_job_registry.count == 1


def test_health_readiness_and_metrics(edge_client, edge_factory):
    assert edge_client.get("/healthz").get_json() == {"status": "ok"}
    ready = edge_client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"redis": "ok", "database": "ok"}
    app_row = edge_factory.app_row()
    edge_client.post(
        "/api/v1/reports", json=edge_factory.report(), headers={"X-Crashsvc-Key": app_row.ingest_key}
    )
    edge_client.post(
        "/api/v1/reports",
        json=edge_factory.report(opt_in=False),
        headers={"X-Crashsvc-Key": app_row.ingest_key},
    )
    edge_factory.process_queue()
    text = edge_client.get("/metrics").get_data(as_text=True)
    assert "crashsvc_reports_accepted_total 1" in text
    assert 'crashsvc_reports_rejected_total{reason="opt_in_required"} 1' in text
    assert "crashsvc_reports_processed_total 1" in text
    assert "crashsvc_queue_depth 0" in text
    assert "crashsvc_job_latency_seconds_count 1" in text
    assert app_row.ingest_key not in text


def _gauge(text: str, name: str) -> float:
    return next(float(line.split()[1]) for line in text.splitlines() if line.startswith(f"crashsvc_{name} "))


def test_metrics_say_how_long_the_oldest_report_waits_and_how_many_workers_live(edge_client, edge_factory):
    """The two gauges an operator alerts on before an unconsumed queue's payloads reach RAW_TTL."""
    from workers.worker import ReportWorker

    text = edge_client.get("/metrics").get_data(as_text=True)
    assert _gauge(text, "workers") == 0 and _gauge(text, "oldest_waiting_seconds") == 0
    app_row = edge_factory.app_row()
    edge_client.post(
        "/api/v1/reports", json=edge_factory.report(), headers={"X-Crashsvc-Key": app_row.ingest_key}
    )
    time.sleep(0.05)
    worker = ReportWorker([edge_factory.services.queue.queue], connection=edge_factory.services.redis)
    worker.register_birth()
    dead = ReportWorker([edge_factory.services.queue.queue], connection=edge_factory.services.redis)
    dead.register_birth()
    edge_factory.services.redis.delete(dead.key)  # its heartbeat ran out: registered, not alive
    try:
        text = edge_client.get("/metrics").get_data(as_text=True)
        assert _gauge(text, "workers") == 1
        assert 0.05 <= _gauge(text, "oldest_waiting_seconds") < 60
    finally:
        worker.register_death()
    edge_factory.process_queue()
    text = edge_client.get("/metrics").get_data(as_text=True)
    assert _gauge(text, "oldest_waiting_seconds") == 0


def test_readyz_reports_unreachable_redis(make_app):
    app = make_app(redis_url="redis://127.0.0.1:1/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["redis"] == "unreachable"


def test_openapi_spec_documents_the_report_schema(edge_client):
    spec = edge_client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    report = spec["components"]["schemas"]["Report"]
    assert report["required"] == ["opt_in"]
    assert {
        "report_id",
        "timestamp",
        "platform",
        "app",
        "os",
        "device",
        "exception",
        "threads",
        "images",
        "breadcrumbs",
        "user",
        "context",
    } <= set(report["properties"])
    assert report["properties"]["platform"]["enum"] == [
        "cocoa",
        "android",
        "native",
        "javascript",
        "dart",
        "other",
    ]
    assert (
        "opt_in_required"
        in spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    )


def test_unknown_api_route_is_a_json_404(edge_client):
    response = edge_client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_a_json_405(edge_client):
    response = edge_client.get("/api/v1/reports")
    assert response.status_code == 405 and response.get_json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "name,value", [("RAW_TTL", "soon"), ("PORT", "-1"), ("SECURE_COOKIES", "maybe"), ("LOG_LEVEL", "LOUD")]
)
def test_settings_errors_name_the_option(name, value):
    with pytest.raises(SettingsError, match=f"CRASHSVC_{name}"):
        load_settings(environ={f"CRASHSVC_{name}": value})


def test_settings_parse_durations():
    settings = load_settings(environ={"CRASHSVC_RAW_TTL": "2h", "CRASHSVC_IDEMPOTENCY_TTL": "2w"})
    assert settings.raw_ttl == 7200 and settings.idempotency_ttl == 14 * 86400
