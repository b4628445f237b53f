"""A report that fails keeps nothing but its id: no planted value in RQ's failed-job record, the logs,
the database or any other Redis key; its sealed raw payload waits only until ``RAW_TTL`` runs out.

The failing stage here is the worst case: its exception message quotes the whole report. When the
anonymizer itself fails, that report is still raw.
"""

from __future__ import annotations

import json

import pytest
from redis import Redis
from rq.job import Job, JobStatus

from crashsvc.queue import RAW_PREFIX
from tests.anonymize.planted import load_planted
from tests.privacy.evidence import bytes_text, database_text, leaks, redis_text
from tests.privacy.test_planted_pipeline import recorded_logs  # noqa: F401 (fixture)
from workers import pipeline

CASE = next(case for case in load_planted() if case.name == "ios")
RAW_TTL = 3600


class QuotingError(Exception):
    """An error whose text repeats the data it choked on, as many library errors do."""


def quoting_stage(ctx) -> None:
    raise QuotingError(f"cannot process {json.dumps(ctx.report)}")


def test_the_quoting_stage_would_leak(monkeypatch):
    """Control: the failing stage really does carry planted values in its message."""
    with pytest.raises(QuotingError) as raised:
        quoting_stage(type("Ctx", (), {"report": CASE.report})())
    assert leaks(str(raised.value), CASE.planted)


@pytest.mark.parametrize("failing", ["anonymize", "symbolicate"])
def test_failed_report_keeps_only_its_id(make_app, database_url, recorded_logs, monkeypatch, failing):  # noqa: F811
    from tests.factories import Factory

    app = make_app(database_url=database_url, raw_ttl=str(RAW_TTL))
    factory = Factory(app)
    client = app.test_client()
    stages = [(name, quoting_stage if name == failing else stage) for name, stage in pipeline.STAGES]
    monkeypatch.setattr(pipeline, "STAGES", stages)
    app_row = factory.app_row()
    response = client.post(
        "/api/v1/reports", json=CASE.report, headers={"X-Crashsvc-Key": app_row.ingest_key}
    )
    assert response.status_code == 202
    report_id = response.get_json()["id"]
    factory.process_queue()

    redis: Redis = factory.services.redis
    job = Job.fetch(report_id, connection=redis)
    assert job.get_status() == JobStatus.FAILED
    assert report_id in job.failed_job_registry.get_job_ids()
    result = job.latest_result()
    assert result is not None and result.type == result.Type.FAILED
    assert "ProcessingFailed: processing failed: QuotingError" in result.exc_string  # the type, for triage
    record = "\n".join(
        bytes_text(field) + "=" + bytes_text(value) for field, value in redis.hgetall(job.key).items()
    )
    record += "\n" + result.exc_string
    assert leaks(record, CASE.planted) == []
    assert job.args == (report_id,)

    ttl = redis.ttl(RAW_PREFIX + report_id)
    assert 0 < ttl <= RAW_TTL, "the sealed raw payload expires by itself"
    assert 0 < redis.ttl(job.key) <= RAW_TTL, "and so does the failed-job record"

    everything, _keys = redis_text(redis)
    database, rows = database_text(factory.services.db.engine)
    assert rows["reports"] == 0
    places = {"redis": everything, "database": database, "logs": recorded_logs.text()}
    assert {place: leaks(text, CASE.planted) for place, text in places.items()} == dict.fromkeys(places, [])
    assert "processing_failed" in places["logs"]
