"""Deletion on request: ``DELETE /api/v1/reports/<id>`` with the delete token, and ``crashsvc reports delete``."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select

from crashsvc.audit import list_audit_events
from crashsvc.models import Group, Report
from crashsvc.purge.deletion import TOMBSTONE_PREFIX, delete_report
from crashsvc.queue import RAW_PREFIX
from tests.purge.helpers import assert_consistent, post_reports, report_count
from tests.purge.test_purge import cli

HEADER = "X-Crashsvc-Delete-Token"


def _group_counts(db):
    with db.sessions() as session:
        return {g.id: g.count for g in session.scalars(select(Group))}


def test_a_processed_report_is_deleted_and_uncounted(client, factory):
    app_row = factory.app_row()
    answers = post_reports(client, factory, app_row, 4, kinds=1)
    factory.process_queue()
    db = factory.services.db
    [(group_id, count)] = _group_counts(db).items()
    assert count == 4
    target = answers[0]
    response = client.delete(f"/api/v1/reports/{target['id']}", headers={HEADER: target["delete_token"]})
    assert response.status_code == 204
    assert report_count(db, id=target["id"]) == 0
    assert _group_counts(db) == {group_id: 3}
    assert_consistent(db)
    with db.sessions() as session:
        [event] = list_audit_events(session, app_id=app_row.id)
    assert (event.action, event.actor, event.count) == ("report.delete", "delete_token", 1)
    assert event.scope == {"report_id": target["id"]} and event.detail["where"] == ["stored"]
    # Deleting again is harmless (idempotent), and still answers 204 to the token holder.
    again = client.delete(f"/api/v1/reports/{target['id']}", headers={HEADER: target["delete_token"]})
    assert again.status_code == 204


def test_a_queued_report_is_never_stored(client, factory):
    app_row = factory.app_row()
    [target, other] = post_reports(client, factory, app_row, 2)
    redis = Redis.from_url(factory.services.settings.redis_url)
    queue = Queue(factory.services.settings.queue_name, connection=redis)
    assert target["id"] in queue.job_ids
    response = client.delete(f"/api/v1/reports/{target['id']}", headers={HEADER: target["delete_token"]})
    assert response.status_code == 204
    assert redis.exists(RAW_PREFIX + target["id"]) == 0
    assert target["id"] not in queue.job_ids
    assert redis.ttl(TOMBSTONE_PREFIX + target["id"]) >= factory.services.settings.raw_ttl
    factory.process_queue()
    db = factory.services.db
    assert report_count(db, id=target["id"]) == 0
    assert report_count(db, id=other["id"]) == 1
    with db.sessions() as session:
        [event] = list_audit_events(session)
    assert event.app_id == app_row.id and event.detail["where"] == ["queue"]


def test_the_worker_skips_or_removes_a_report_deleted_while_in_its_hands(client, factory):
    """The job is already taken when the deletion comes: the tombstone decides, before or after storing."""
    app_row = factory.app_row()
    [early, late] = post_reports(client, factory, app_row, 2, kinds=1)
    redis = Redis.from_url(factory.services.settings.redis_url)
    # As if the deletion ran while the worker held both jobs: only the tombstones are there.
    redis.set(TOMBSTONE_PREFIX + early["id"], b"1", ex=3600)
    from workers.batch import process_reports

    outcomes = process_reports(factory.services, [early["id"]])
    assert outcomes[early["id"]].result == "deleted"
    from workers import batch

    original = batch._store_all

    def store_then_delete(services, contexts):  # the deletion lands between pipeline and commit
        redis.set(TOMBSTONE_PREFIX + late["id"], b"1", ex=3600)
        return original(services, contexts)

    batch._store_all = store_then_delete
    try:
        assert process_reports(factory.services, [late["id"]])[late["id"]].result == "stored"
    finally:
        batch._store_all = original
    db = factory.services.db
    assert report_count(db) == 0
    assert_consistent(db)


def test_a_wrong_or_missing_token_answers_404_like_an_unknown_report(client, factory):
    app_row = factory.app_row()
    [target] = post_reports(client, factory, app_row, 1)
    factory.process_queue()
    [other] = post_reports(client, factory, app_row, 1)
    for headers in ({}, {HEADER: "x" * 32}, {HEADER: other["delete_token"]}):
        response = client.delete(f"/api/v1/reports/{target['id']}", headers=headers)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    unknown = client.delete("/api/v1/reports/00000000-0000-0000-0000-000000000000", headers={HEADER: "abc"})
    assert unknown.get_json() == response.get_json()
    assert report_count(factory.services.db, id=target["id"]) == 1
    with factory.services.db.sessions() as session:
        assert list_audit_events(session) == []


def test_a_spooled_report_file_is_removed(client, factory):
    services = factory.services
    services.spool.directory.mkdir(parents=True, exist_ok=True)
    spooled = services.spool.directory / "00000000000000000001-spooled-id.spool"
    spooled.write_bytes(b"crashsvc-spool:1 spooled-id 0\nsealed")
    found = delete_report(services, "spooled-id", actor="test")
    assert found["spool"] and not spooled.exists()


def test_operators_delete_by_id_from_the_cli(client, factory):
    app_row = factory.app_row()
    answers = post_reports(client, factory, app_row, 3)
    factory.process_queue()
    ids = [answer["id"] for answer in answers[:2]]
    result = cli(factory, "reports", "delete", *ids, "--json")
    assert result.exit_code == 0, result.output
    assert all(found["stored"] for found in json.loads(result.output)["deleted"].values())
    db = factory.services.db
    with db.sessions() as session:
        assert list(session.scalars(select(Report.id))) == [answers[2]["id"]]
        events = list_audit_events(session)
    assert {e.actor.split(":")[0] for e in events} == {"cli"} and len(events) == 2
    assert_consistent(db)
    assert cli(factory, "reports", "delete", "no-such-report").exit_code == 1


def test_a_deleted_report_cannot_be_read_back_from_the_sqlite_file(client, factory):
    # secure_delete (crashsvc/db.py): the freed cells are zeroed, not left in the free pages.
    settings = factory.services.settings
    if not settings.database_url_resolved.startswith("sqlite"):
        pytest.skip("SQLite's file format; PostgreSQL keeps deleted rows until VACUUM reuses them")
    path = Path(settings.database_url_resolved.split("///", 1)[1])
    marker = f"zz-deleted-content-{uuid.uuid4().hex}"
    app_row = factory.app_row()
    report = factory.report(report_id=str(uuid.uuid4()))
    report["breadcrumbs"] = [{"category": "ui", "message": marker}]
    response = client.post("/api/v1/reports", json=report, headers={"X-Crashsvc-Key": app_row.ingest_key})
    target = response.get_json()
    post_reports(client, factory, app_row, 2)
    factory.process_queue()

    def file_bytes() -> bytes:
        with factory.services.db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        wal = path.with_name(path.name + "-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    assert marker.encode() in file_bytes(), (
        "the stored report should hold the marker (else this proves nothing)"
    )
    response = client.delete(f"/api/v1/reports/{target['id']}", headers={HEADER: target["delete_token"]})
    assert response.status_code == 204
    assert marker.encode() not in file_bytes()
