"""A report travels edge → queue → worker → database → read API, on both backends."""

from __future__ import annotations

from redis import Redis

from crashsvc.queue import RAW_PREFIX


def test_report_travels_end_to_end(client, factory):
    app_row = factory.app_row()
    user = factory.user(admin=True)
    token = factory.token(user)
    report = factory.report()

    response = client.post("/api/v1/reports", json=report, headers={"X-Crashsvc-Key": app_row.ingest_key})
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    report_id = body["id"]
    assert body["delete_token"]

    auth = {"Authorization": f"Bearer {token}"}
    queued = client.get(f"/api/v1/reports/{report_id}", headers=auth).get_json()
    assert queued["status"] == "queued"

    assert factory.process_queue() == 1

    stored = client.get(f"/api/v1/reports/{report_id}", headers=auth)
    assert stored.status_code == 200
    data = stored.get_json()
    assert data["status"] == "processed"
    assert data["group_id"] is not None
    assert data["signature"]
    redis = Redis.from_url(factory.services.settings.redis_url)
    assert redis.exists(RAW_PREFIX + report_id) == 0, "raw payload must be deleted once stored"

    groups = client.get(f"/api/v1/apps/{app_row.id}/groups", headers=auth).get_json()["groups"]
    assert [(g["id"], g["count"]) for g in groups] == [(data["group_id"], 1)]
    assert set(groups[0]) >= {"id", "signature", "count", "first_seen", "last_seen", "status"}


def test_resend_with_same_report_id_is_processed_once(client, factory):
    app_row = factory.app_row()
    headers = {"X-Crashsvc-Key": app_row.ingest_key}
    report = factory.report()
    first = client.post("/api/v1/reports", json=report, headers=headers)
    second = client.post("/api/v1/reports", json=report, headers=headers)
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.get_json()["id"] == second.get_json()["id"]
    factory.process_queue()
    third = client.post("/api/v1/reports", json=report, headers=headers)
    assert third.status_code == 200
    factory.process_queue()
    user = factory.user(admin=True)
    token = factory.token(user)
    groups = client.get(f"/api/v1/apps/{app_row.id}/groups", headers={"Authorization": f"Bearer {token}"})
    assert [g["count"] for g in groups.get_json()["groups"]] == [1]
