"""A report that cannot be processed goes to the dead letters at once, without its payload in view."""

from __future__ import annotations

import json

from click.testing import CliRunner
from redis import Redis
from sqlalchemy.exc import OperationalError

from crashsvc.cli import main
from crashsvc.deadletters import list_dead_letters
from crashsvc.queue import RAW_PREFIX
from tests.factories import Factory


def _cli(app, *args: str) -> dict:
    settings = app.extensions["crashsvc"].settings
    env = {
        "CRASHSVC_DATA_DIR": str(settings.data_dir),
        "CRASHSVC_REDIS_URL": settings.redis_url,
        "CRASHSVC_DATABASE_URL": settings.database_url_resolved,
    }
    result = CliRunner().invoke(main, ["failed", *args, "--json"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _post(app, factory, marker: str) -> str:
    report = factory.report(report_id=None)
    report["exception"]["value"] = marker
    response = app.test_client().post(
        "/api/v1/reports", json=report, headers={"X-Crashsvc-Key": factory.app_row().ingest_key}
    )
    assert response.status_code == 202
    return response.get_json()["id"]


def test_broken_report_is_a_dead_letter_listed_retried_and_dropped(make_app, monkeypatch):
    from workers import pipeline

    app = make_app()
    factory = Factory(app)
    good_stages = list(pipeline.STAGES)

    def broken(ctx):
        raise KeyError(ctx.report["exception"]["value"])

    monkeypatch.setattr(pipeline, "STAGES", [("broken", broken), *good_stages])
    report_id = _post(app, factory, "payload-marker-7c2")
    factory.process_queue()

    letters = _cli(app, "list")["dead_letters"]
    assert [(letter["id"], letter["error_type"], letter["payload_available"]) for letter in letters] == [
        (report_id, "ProcessingFailed", True)
    ]
    assert letters[0]["detail"] == "processing failed: KeyError"
    assert "payload-marker-7c2" not in json.dumps(letters)
    redis = Redis.from_url(app.extensions["crashsvc"].settings.redis_url)
    assert redis.ttl(RAW_PREFIX + report_id) > 0, "the sealed payload still expires after RAW_TTL"

    monkeypatch.setattr(pipeline, "STAGES", good_stages)  # the bug is fixed
    assert _cli(app, "retry", report_id)["results"] == {report_id: "requeued"}
    factory.process_queue()
    assert list_dead_letters(app.extensions["crashsvc"]) == []
    assert app.test_client().get("/metrics").status_code == 200

    monkeypatch.setattr(pipeline, "STAGES", [("broken", broken), *good_stages])
    second = _post(app, factory, "another")
    factory.process_queue()
    assert _cli(app, "drop", "--all")["results"] == {second: "dropped"}
    assert _cli(app, "list")["dead_letters"] == []
    assert not redis.exists(RAW_PREFIX + second)


def test_transient_database_error_is_retried_not_dead_lettered(make_app, monkeypatch):
    from workers import batch

    app = make_app(job_retry_backoff="0")
    factory = Factory(app)
    failures = iter([True])

    real_store = batch._store_all

    def flaky_store(services, contexts):
        if next(failures, False):
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        return real_store(services, contexts)

    monkeypatch.setattr(batch, "_store_all", flaky_store)
    report_id = _post(app, factory, "x")
    factory.process_queue()  # fails transiently with the database reachable: RQ requeues it at once
    factory.process_queue()
    assert list_dead_letters(app.extensions["crashsvc"]) == []
    redis = Redis.from_url(app.extensions["crashsvc"].settings.redis_url)
    assert b"reports_retried_total" in redis.hkeys("crashsvc:metrics:counters")
    with app.extensions["crashsvc"].db.sessions() as session:
        from crashsvc.models import Report

        assert session.get(Report, report_id) is not None
