"""Malformed requests not covered by tests/foundation/test_ingest_native.py: each gets its 4xx, nothing kept."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.factories import Factory

URL = "/api/v1/reports"


@pytest.fixture
def edge(make_app):
    def build(**overrides):
        app = make_app(**overrides)
        factory = Factory(app)
        return app.test_client(), factory, factory.app_row().ingest_key

    return build


def _post(client, key, body: bytes, **headers: str):
    return client.post(
        URL, data=body, headers={"X-Crashsvc-Key": key, "Content-Type": "application/json", **headers}
    )


@pytest.fixture(scope="module")
def gigabyte_bomb() -> bytes:
    return _gigabyte_of_zeros_gzipped()


def _gigabyte_of_zeros_gzipped() -> bytes:
    """1 GiB of zeros as 1024 gzip members of 1 MiB each (about 1 MiB on the wire, built in milliseconds).

    Concatenated members are one valid gzip stream (RFC 1952), and the decoder follows them.
    """
    member = gzip.compress(bytes(1024 * 1024), compresslevel=9)
    return member * 1024


def test_gigabyte_gzip_bomb_is_cut_off_by_the_decompressed_limit(edge, gigabyte_bomb):
    client, factory, key = edge(max_body_bytes=str(2 * 1024 * 1024))
    bomb = gigabyte_bomb
    assert len(bomb) < 2 * 1024 * 1024
    response = _post(client, key, bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert "decompressed" in response.get_json()["error"]["message"]
    assert factory.services.queue.depth() == 0


def test_gigabyte_gzip_bomb_is_refused_on_the_wire_with_default_limits(edge, gigabyte_bomb):
    client, factory, key = edge()
    response = _post(client, key, gigabyte_bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert factory.services.queue.depth() == 0


@pytest.mark.parametrize("where", ["exception.value", "top_level"])
def test_ten_megabyte_strings_are_refused(edge, where):
    client, factory, key = edge()
    report = factory.report()
    big = "A" * (10 * 1024 * 1024)
    if where == "exception.value":
        report["exception"]["value"] = big
    else:
        report["x"] = big
    response = _post(
        client,
        key,
        gzip.compress(json.dumps(report).encode(), compresslevel=1),
        **{"Content-Encoding": "gzip"},
    )
    assert response.status_code in (400, 413), response.data[:200]
    assert response.get_json()["error"]["code"] in ("invalid_report", "payload_too_large")
    assert factory.services.queue.depth() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"\x1f\x8b\x08\x00" + b"\x00" * 6,  # a gzip header and nothing else
        gzip.compress(b'{"opt_in": true}') + b"\x1f\x8b",  # a second member cut after its magic
        gzip.compress(b'{"opt_in": true}') + b"trailing garbage",
    ],
)
def test_truncated_or_trailing_gzip_members_are_invalid_encoding(edge, body):
    client, factory, key = edge()
    response = _post(client, key, body, **{"Content-Encoding": "gzip"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_encoding"
    assert factory.services.queue.depth() == 0


@pytest.mark.parametrize(
    "body",
    [
        b'{"opt_in": true, "exception": {"type": "E", "value": "\xed\xa0\x80"}}',  # a UTF-8-encoded surrogate
        b'{"opt_in": true, "exception": {"type": "E", "value": "ok"}, "exception": {}}',
        b'{"opt_in": true, "timestamp": -Infinity, "exception": {"type": "E"}}',
    ],
)
def test_odd_json_gets_a_4xx_and_is_not_kept(edge, body):
    client, factory, key = edge()
    response = _post(client, key, body)
    assert 400 <= response.status_code < 500, response.data[:200]
    assert response.is_json
    assert factory.services.queue.depth() == 0


@pytest.mark.parametrize(
    "change",
    [
        {"exception": []},
        {"threads": {"0": {}}},
        {"images": "all"},
        {"app": ["1.0"]},
        {"opt_in": True, "exception": {"type": 12}},
    ],
)
def test_wrong_container_types_are_invalid_report(edge, change):
    client, factory, key = edge()
    report = factory.report()
    report.update(change)
    response = _post(client, key, json.dumps(report).encode())
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_report"
    assert factory.services.queue.depth() == 0


def test_gzip_members_after_a_large_first_member_are_read(edge):
    """Regression: a member ending mid-call left its rest in unconsumed_tail and the decoder looped."""
    client, factory, key = edge()
    report = json.dumps(factory.report()).encode()
    padded = report[:-1] + b', "x": "' + b" " * (300 * 1024) + b'"}'
    body = gzip.compress(padded[:-5]) + gzip.compress(padded[-5:])
    response = _post(client, key, body, **{"Content-Encoding": "gzip"})
    assert response.status_code == 202, response.data[:200]
