"""Sentry envelope ingestion: auth variants, item framing, opt-in, discarded categories."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest

from crashsvc.ingest.envelope import parse_envelope
from crashsvc.ingest.sentry_event import event_to_report


def sentry_event(opt_in: bool = True, **changes) -> dict:
    event = {
        "event_id": uuid.uuid4().hex,
        "timestamp": 1764340632.5,
        "platform": "cocoa",
        "release": "com.example.myapp@2.4.1+311",
        "contexts": {
            "os": {"name": "iOS", "version": "17.5.1"},
            "device": {"model": "iPhone15,2", "arch": "arm64e"},
            "app": {"app_identifier": "com.example.myapp", "app_version": "2.4.1", "app_build": "311"},
        },
        "exception": {
            "values": [
                {
                    "type": "NSInvalidArgumentException",
                    "value": "unrecognized selector",
                    "mechanism": {"type": "nsexception", "handled": False},
                    "stacktrace": {
                        "frames": [
                            {"function": "main", "instruction_addr": "0x100a4d000", "in_app": True},
                            {
                                "function": "-[ProfileVC load]",
                                "instruction_addr": "0x100a4e000",
                                "in_app": True,
                            },
                            {"function": "objc_exception_throw", "instruction_addr": "0x180a2d1e4"},
                        ]
                    },
                }
            ]
        },
        "debug_meta": {
            "images": [
                {
                    "type": "macho",
                    "debug_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
                    "image_addr": "0x100a4c000",
                    "image_size": 4194304,
                    "code_file": "MyApp",
                }
            ]
        },
        "tags": {"crash_reports.opt_in": "true"} if opt_in else {"screen": "profile"},
    }
    event.update(changes)
    return event


def envelope(items: list[tuple[dict, bytes]], headers: dict | None = None, with_length: bool = True) -> bytes:
    lines = [json.dumps(headers or {}).encode()]
    for item_headers, payload in items:
        item_headers = dict(item_headers)
        if with_length:
            item_headers["length"] = len(payload)
        lines.append(json.dumps(item_headers).encode())
        lines.append(payload)
    return b"\n".join(lines) + b"\n"


def event_envelope(event: dict, **kwargs) -> bytes:
    return envelope(
        [({"type": "event"}, json.dumps(event).encode())], {"event_id": event["event_id"]}, **kwargs
    )


@pytest.fixture
def sentry_app(edge_factory):
    return edge_factory.app_row()


def auth_header(key: str) -> dict:
    return {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_client=sentry.cocoa/8.40.0, sentry_key={key}"}


@pytest.mark.parametrize("with_length", [True, False])
def test_event_is_accepted_with_and_without_item_length(edge_client, sentry_app, with_length):
    event = sentry_event()
    response = edge_client.post(
        f"/api/{sentry_app.id}/envelope/",
        data=event_envelope(event, with_length=with_length),
        headers=auth_header(sentry_app.ingest_key),
    )
    assert response.status_code == 200, response.data
    assert response.get_json() == {"id": event["event_id"]}
    assert "session" in response.headers["X-Sentry-Rate-Limits"]


@pytest.mark.parametrize("how", ["header", "query", "dsn"])
def test_every_sentry_auth_style_works(edge_client, sentry_app, how):
    event = sentry_event()
    url = f"/api/{sentry_app.id}/envelope/"
    headers: dict = {}
    body = event_envelope(event)
    if how == "header":
        headers = auth_header(sentry_app.ingest_key)
    elif how == "query":
        url += f"?sentry_key={sentry_app.ingest_key}&sentry_version=7"
    else:
        dsn = f"http://{sentry_app.ingest_key}@localhost/{sentry_app.id}"
        body = envelope(
            [({"type": "event"}, json.dumps(event).encode())], {"event_id": event["event_id"], "dsn": dsn}
        )
    assert edge_client.post(url, data=body, headers=headers).status_code == 200


def test_gzip_envelope_without_content_type(edge_client, sentry_app):
    body = gzip.compress(event_envelope(sentry_event()))
    response = edge_client.post(
        f"/api/{sentry_app.id}/envelope/",
        data=body,
        headers={**auth_header(sentry_app.ingest_key), "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200


def test_key_of_another_app_is_unauthorized(edge_client, edge_factory, sentry_app):
    other = edge_factory.app_row()
    response = edge_client.post(
        f"/api/{other.id}/envelope/",
        data=event_envelope(sentry_event()),
        headers=auth_header(sentry_app.ingest_key),
    )
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_event_without_opt_in_is_refused_and_not_queued(edge_client, edge_factory, sentry_app):
    response = edge_client.post(
        f"/api/{sentry_app.id}/envelope/",
        data=event_envelope(sentry_event(opt_in=False)),
        headers=auth_header(sentry_app.ingest_key),
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "opt_in_required"
    assert edge_factory.services.queue.depth() == 0


def test_consent_context_counts_as_opt_in(edge_client, sentry_app):
    event = sentry_event(opt_in=False)
    event["contexts"]["consent"] = {"crash_reports": True, "policy_version": "3"}
    response = edge_client.post(
        f"/api/{sentry_app.id}/envelope/",
        data=event_envelope(event),
        headers=auth_header(sentry_app.ingest_key),
    )
    assert response.status_code == 200


def test_consent_context_must_be_boolean_true(edge_client, sentry_app):
    event = sentry_event(opt_in=False)
    event["contexts"]["consent"] = {"crash_reports": "true"}
    response = edge_client.post(
        f"/api/{sentry_app.id}/envelope/",
        data=event_envelope(event),
        headers=auth_header(sentry_app.ingest_key),
    )
    assert response.status_code == 403


def test_non_error_items_are_discarded_unread_with_rate_limit_header(edge_client, edge_factory, sentry_app):
    items = [
        ({"type": t}, b'{"anything": "goes", "email": "a@b.c"}')
        for t in (
            "session",
            "sessions",
            "client_report",
            "transaction",
            "span",
            "profile",
            "replay_event",
            "log",
            "check_in",
            "attachment",
        )
    ]
    response = edge_client.post(
        f"/api/{sentry_app.id}/envelope/", data=envelope(items), headers=auth_header(sentry_app.ingest_key)
    )
    assert response.status_code == 200
    limits = response.headers["X-Sentry-Rate-Limits"]
    retry_after, categories, *_ = limits.split(":")
    assert int(retry_after) > 0
    assert {"session", "transaction", "replay", "profile", "log_item"} <= set(categories.split(";"))
    assert not {"error", "default", ""} & set(categories.split(";"))
    assert edge_factory.services.queue.depth() == 0


def test_event_next_to_other_items_is_kept(edge_client, edge_factory, sentry_app):
    event = sentry_event()
    body = envelope(
        [
            ({"type": "session"}, b'{"sid": "x"}'),
            ({"type": "event"}, json.dumps(event).encode()),
            ({"type": "attachment", "filename": "screenshot.png"}, b"\x89PNG...."),
        ],
        {"event_id": event["event_id"]},
    )
    response = edge_client.post(
        f"/api/{sentry_app.id}/envelope/", data=body, headers=auth_header(sentry_app.ingest_key)
    )
    assert response.status_code == 200
    assert edge_factory.services.queue.depth() == 1


@pytest.mark.parametrize(
    "body,code",
    [
        (b"not json\n", "invalid_envelope"),
        (b'{}\n{"type": "event", "length": 500}\n{}', "invalid_envelope"),
        (b'{}\n{"length": 2}\n{}', "invalid_envelope"),
        (b'{}\n{"type": "event", "length": -1}\n{}', "invalid_envelope"),
        (b'{}\n{"type": "event"}\n{not json}', "invalid_json"),
    ],
)
def test_malformed_envelopes_get_a_json_error(edge_client, sentry_app, body, code):
    response = edge_client.post(
        f"/api/{sentry_app.id}/envelope/", data=body, headers=auth_header(sentry_app.ingest_key)
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code


def test_parse_envelope_handles_items_at_end_without_newline():
    parsed = parse_envelope(b'{"event_id":"x"}\n{"type":"a","length":3}\nabc\n{"type":"b"}\nxyz')
    assert [(i.type, i.payload) for i in parsed.items] == [("a", b"abc"), ("b", b"xyz")]


def test_event_conversion_reverses_frames_and_unpacks_contexts():
    report = event_to_report(sentry_event())
    assert report["exception"]["frames"][0]["function"] == "objc_exception_throw"
    assert report["exception"]["frames"][-1]["function"] == "main"
    assert report["app"] == {"id": "com.example.myapp", "version": "2.4.1", "build": "311"}
    assert report["os"]["name"] == "iOS"
    assert report["images"][0]["debug_id"] == "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
    assert "crash_reports.opt_in" not in report.get("tags", {})
    assert report["opt_in"] is True


def test_envelope_event_is_processed_end_to_end(client, factory):
    app_row = factory.app_row()
    event = sentry_event()
    response = client.post(
        f"/api/{app_row.id}/envelope/", data=event_envelope(event), headers=auth_header(app_row.ingest_key)
    )
    assert response.status_code == 200
    factory.process_queue()
    user = factory.user(admin=True)
    token = factory.token(user)
    groups = client.get(f"/api/v1/apps/{app_row.id}/groups", headers={"Authorization": f"Bearer {token}"})
    assert [g["count"] for g in groups.get_json()["groups"]] == [1]
