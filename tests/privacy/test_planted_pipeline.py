"""The promise, end to end: planted identifiers sent in both formats leave no trace anywhere we keep data.

Each planted report (``tests/anonymize/planted``) goes through the real edge (native POST or Sentry
envelope), the queue and a real worker. Then every place the service writes to is read back as text
and searched for every planted value in every spelling: all rows of all tables (reflected, so a new
table is covered without touching this test), every Redis key with its values, every log record of any
logger at DEBUG, and the API (and, when the web UI is installed, the pages) that show the report and
its group. Every debugging value must still be in the stored report, verbatim.
"""

from __future__ import annotations

import html
import json
import logging

import pytest
from sqlalchemy import select

from crashsvc.ingest.sentry_event import event_to_report
from crashsvc.models import Report
from crashsvc.queue import RAW_PREFIX
from tests.anonymize.planted import PlantedCase, load_planted
from tests.privacy.evidence import RecordingHandler, database_text, files_text, leaks, redis_text
from tests.privacy.sentry_form import envelope, native_to_sentry_event, sentry_auth

CASES = load_planted()
FORMATS = ("native", "sentry")


@pytest.fixture
def recorded_logs():
    """Every log record of every logger at DEBUG, web and worker alike, for the duration of the test."""
    handler = RecordingHandler()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def send(client, app_row, case: PlantedCase, form: str) -> dict:
    """Send one planted report in ``form``; returns the report as the edge received it (to know what it kept)."""
    if form == "native":
        response = client.post(
            "/api/v1/reports", json=case.report, headers={"X-Crashsvc-Key": app_row.ingest_key}
        )
        assert response.status_code == 202, response.get_data(as_text=True)
        return case.report
    event = native_to_sentry_event(case.report)
    response = client.post(
        f"/api/{app_row.id}/envelope/", data=envelope(event), headers=sentry_auth(app_row.ingest_key)
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return event_to_report(event)


def stored_report_id(factory, app_id: int) -> str:
    with factory.services.db.sessions() as session:
        [report_id] = session.scalars(select(Report.id).where(Report.app_id == app_id)).all()
    return report_id


@pytest.mark.parametrize("form", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_no_planted_value_survives_the_pipeline(client, factory, recorded_logs, case, form):
    app_row = factory.app_row()
    auth = {"Authorization": f"Bearer {factory.token(factory.user(admin=True))}"}
    received = send(client, app_row, case, form)
    assert factory.process_queue() == 1

    report_id = stored_report_id(factory, app_row.id)
    report = client.get(f"/api/v1/reports/{report_id}", headers=auth)
    assert report.status_code == 200 and report.get_json()["status"] == "processed"
    group_id = report.get_json()["group_id"]
    groups = client.get(f"/api/v1/apps/{app_row.id}/groups", headers=auth)
    group = client.get(f"/api/v1/groups/{group_id}", headers=auth)
    assert groups.status_code == group.status_code == 200
    assert [g["id"] for g in groups.get_json()["groups"]] == [group_id]

    database, rows = database_text(factory.services.db.engine)
    assert rows["reports"] == 1 and rows["groups"] >= 1, "the search must have read the stored report"
    redis, keys = redis_text(factory.services.redis)
    assert [key for key in keys if key.startswith(RAW_PREFIX)] == [], "raw payload deleted once stored"
    assert recorded_logs.lines, "the log capture must have seen the worker"
    # The service's files: DATA_DIR (secrets, install-hash keys, spool, symbols) and, on SQLite, the
    # database file itself with its journal, free pages included.
    files, names = files_text(factory.services.settings.data_dir.parent)
    assert any(name.endswith("install-hash-keys.json") for name in names)
    places = {
        "files": files,
        "database": database,
        "redis": redis,
        "logs": recorded_logs.text(),
        "api": "\n".join(response.get_data(as_text=True) for response in (report, groups, group)),
    }
    assert {place: leaks(text, case.planted) for place, text in places.items()} == dict.fromkeys(places, [])

    # Debugging data survives verbatim: every debug value the edge passed on is in the stored report.
    sent = json.dumps(received, ensure_ascii=False)
    expected = [value for value in case.debug_values if value in sent]
    if form == "native":
        assert expected == list(case.debug_values)
    stored = json.dumps(report.get_json(), ensure_ascii=False)
    assert [value for value in expected if value not in stored] == []
    with factory.services.db.sessions() as session:
        stored_row = session.get(Report, report_id)
        assert (stored_row.install_hash is not None) == case.has_install_id
        assert stored_row.scrub_version == "scrub:1"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_web_pages_show_no_planted_value(client, factory, case):
    if "web_auth.login" not in factory.app.view_functions:
        pytest.skip("the web UI is not registered in this build")
    password = "correct horse battery"
    app_row = factory.app_row()
    user = factory.user(admin=True, password=password)
    send(client, app_row, case, "native")
    factory.process_queue()
    report_id = stored_report_id(factory, app_row.id)
    with factory.services.db.sessions() as session:
        group_id = session.get(Report, report_id).group_id
    login = client.get("/login").get_data(as_text=True)
    token = login.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    signed_in = client.post("/login", data={"email": user.email, "password": password, "csrf_token": token})
    assert signed_in.status_code == 302
    pages = [
        f"/reports/{report_id}",
        f"/groups/{group_id}",
        f"/apps/{app_row.id}/groups",
        f"/apps/{app_row.id}",
    ]
    responses = {path: client.get(path) for path in pages}
    assert {path: response.status_code for path, response in responses.items()} == dict.fromkeys(pages, 200)
    text = "\n".join(response.get_data(as_text=True) for response in responses.values())
    assert leaks(text + html.unescape(text), case.planted) == []
    assert exception_type(case) in text


def exception_type(case: PlantedCase) -> str:
    return case.report["exception"]["type"]


def test_the_search_finds_what_is_not_anonymized(client, factory, monkeypatch):
    """Control: with the anonymize stage switched off, the same search finds planted values everywhere it looks."""
    from workers import pipeline

    monkeypatch.setattr(
        pipeline, "STAGES", [(name, stage) for name, stage in pipeline.STAGES if name != "anonymize"]
    )
    case = next(case for case in CASES if case.name == "ios")
    app_row = factory.app_row()
    auth = {"Authorization": f"Bearer {factory.token(factory.user(admin=True))}"}
    send(client, app_row, case, "native")
    factory.process_queue()
    report = client.get(f"/api/v1/reports/{stored_report_id(factory, app_row.id)}", headers=auth)
    database, _rows = database_text(factory.services.db.engine)
    assert len(leaks(database, case.planted)) > len(case.planted) // 2
    assert len(leaks(report.get_data(as_text=True), case.planted)) > len(case.planted) // 2
    if factory.services.settings.database_url_resolved.startswith("sqlite"):
        files, _names = files_text(factory.services.settings.data_dir.parent)
        assert len(leaks(files, case.planted)) > len(case.planted) // 2  # the database file is read too
