"""The native ingestion contract: opt-in, auth, limits, encodings, and a JSON error for every bad input."""

from __future__ import annotations

import gzip
import json
import uuid
import zlib
from datetime import UTC, datetime

import brotli
import hiredis
import pytest
import zstandard
from redis import Redis
from redis.connection import Connection

from crashsvc.queue import ID_NAMESPACE, report_id_for

URL = "/api/v1/reports"


@pytest.fixture
def key(edge_factory):
    return edge_factory.app_row().ingest_key


def post(client, body, key, headers=None, **kwargs):
    all_headers = {"X-Crashsvc-Key": key, "Content-Type": "application/json", **(headers or {})}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(URL, data=data, headers=all_headers, **kwargs)


def redis_keys(edge_factory) -> list[bytes]:
    return [
        k
        for k in Redis.from_url(edge_factory.services.settings.redis_url).keys("*")
        if not k.startswith(b"crashsvc:metrics")
    ]


def assert_error(response, status, code):
    assert response.status_code == status, response.data[:300]
    assert response.is_json
    assert response.get_json()["error"]["code"] == code
    assert response.get_json()["error"]["message"]


@pytest.mark.parametrize("opt_in", [None, False, "true", 1, "yes", [True], {"value": True}])
def test_report_without_explicit_opt_in_is_refused_and_nothing_is_kept(
    edge_client, edge_factory, key, opt_in
):
    report = edge_factory.report()
    if opt_in is None:
        report.pop("opt_in")
    else:
        report["opt_in"] = opt_in
    assert_error(post(edge_client, report, key), 403, "opt_in_required")
    assert redis_keys(edge_factory) == [], "a refused report must not reach Redis"
    assert edge_factory.services.queue.depth() == 0


def test_opt_in_refusal_comes_before_schema_errors(edge_client, key):
    assert_error(post(edge_client, {"threads": "not a list"}, key), 403, "opt_in_required")


def test_refused_report_values_never_reach_the_logs(edge_client, edge_factory, key, caplog):
    report = edge_factory.report(opt_in=False)
    report["exception"]["value"] = "secret-marker-4f1c"
    with caplog.at_level("DEBUG"):
        post(edge_client, report, key)
    assert "secret-marker-4f1c" not in caplog.text


@pytest.mark.parametrize("headers,query", [({}, ""), ({"X-Crashsvc-Key": "nope"}, ""), ({}, "?key=wrong")])
def test_missing_or_wrong_key_is_unauthorized(edge_client, edge_factory, headers, query):
    response = edge_client.post(URL + query, json=edge_factory.report(), headers=headers)
    assert_error(response, 401, "unauthorized")


def test_key_in_query_string_is_accepted(edge_client, edge_factory, key):
    assert edge_client.post(f"{URL}?key={key}", json=edge_factory.report()).status_code == 202


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"",
        b"[1,2",
        b"\xff\xfe{}",
        b'{"opt_in": true, "a": NaN}',
        b'{"opt_in": true, "x": Infinity}',
        b'{"opt_in": true, "opt_in": true}',
        b'{"opt_in": true, "n": 1' + b"9" * 5000 + b"}",
    ],
)
def test_malformed_json_is_invalid_json(edge_client, key, body):
    assert_error(post(edge_client, body, key), 400, "invalid_json")


def test_deep_nesting_is_invalid_json(edge_client, key):
    body = b'{"opt_in": true, "context": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    assert_error(post(edge_client, body, key), 400, "invalid_json")


def test_moderate_nesting_beyond_the_limit_is_invalid_json(edge_client, key):
    body = b'{"opt_in": true, "context": {"a": ' + b"[" * 100 + b"]" * 100 + b"}}"
    assert_error(post(edge_client, body, key), 400, "invalid_json")


@pytest.mark.parametrize(
    "change,field",
    [
        ({"platform": "symbian"}, "platform"),
        ({"threads": "many"}, "threads"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"report_id": "not-a-uuid"}, "report_id"),
        ({"images": [{"image_addr": "0xZZ"}]}, "images.0.image_addr"),
        ({"images": [{"image_size": -1}]}, "images.0.image_size"),
        ({"threads": [{"frames": [{"lineno": "12"}]}]}, "threads.0.frames.0.lineno"),
        ({"threads": [{"frames": [{"instruction_addr": 2**70}]}]}, "threads.0.frames.0.instruction_addr"),
        ({"tags": {"a": {"nested": 1}}}, "tags.a.value"),
    ],
)
def test_wrong_types_are_invalid_report_with_field_messages(edge_client, edge_factory, key, change, field):
    report = edge_factory.report(**change)
    response = post(edge_client, report, key)
    assert_error(response, 400, "invalid_report")
    assert field in response.get_json()["error"]["fields"]


def test_report_without_crash_content_is_invalid(edge_client, key):
    assert_error(post(edge_client, {"opt_in": True, "platform": "cocoa"}, key), 400, "invalid_report")


def test_non_object_body_is_refused_for_missing_opt_in(edge_client, key):
    assert_error(post(edge_client, [1, 2, 3], key), 403, "opt_in_required")


@pytest.mark.parametrize(
    "encoding,compress",
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some clients send it
        ("br", brotli.compress),
        ("zstd", lambda data: zstandard.ZstdCompressor().compress(data)),
    ],
)
def test_compressed_bodies_are_accepted(edge_client, edge_factory, key, encoding, compress):
    body = compress(json.dumps(edge_factory.report()).encode())
    response = post(edge_client, body, key, headers={"Content-Encoding": encoding})
    assert response.status_code == 202, response.data


def test_concatenated_gzip_members_are_read_whole(edge_client, edge_factory, key):
    text = json.dumps(edge_factory.report()).encode()
    body = gzip.compress(text[:100]) + gzip.compress(text[100:])
    assert post(edge_client, body, key, headers={"Content-Encoding": "gzip"}).status_code == 202


@pytest.mark.parametrize(
    "encoding,body",
    [
        ("gzip", gzip.compress(b'{"opt_in": true}')[:-12]),
        ("gzip", b"not gzip at all"),
        ("br", b"\x00\x01garbage"),
        ("zstd", b"\x28\xb5\x2f\xfd garbage"),
    ],
)
def test_broken_compression_is_invalid_encoding(edge_client, key, encoding, body):
    assert_error(
        post(edge_client, body, key, headers={"Content-Encoding": encoding}), 400, "invalid_encoding"
    )


def test_unknown_encoding_is_unsupported(edge_client, key):
    assert_error(
        post(edge_client, b"{}", key, headers={"Content-Encoding": "lzma"}), 415, "unsupported_media_type"
    )


def test_non_json_content_type_is_unsupported(edge_client, key):
    assert_error(
        post(edge_client, b"<xml/>", key, headers={"Content-Type": "application/xml"}),
        415,
        "unsupported_media_type",
    )


def test_body_over_the_wire_limit_is_too_large(make_app):
    app = make_app(max_body_bytes="2000")
    from tests.factories import Factory

    factory = Factory(app)
    key = factory.app_row().ingest_key
    response = post(app.test_client(), factory.report(), key)
    assert_error(response, 413, "payload_too_large")


def test_compression_bomb_is_cut_off_while_decompressing(edge_client, key):
    bomb = gzip.compress(b"\x00" * (64 * 1024 * 1024), compresslevel=9)  # 64 MiB of zeros, ~64 KiB gzipped
    assert len(bomb) < 1024 * 1024
    response = post(edge_client, bomb, key, headers={"Content-Encoding": "gzip"})
    assert_error(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    "encoding,compress",
    [
        ("br", brotli.compress),
        ("zstd", lambda d: zstandard.ZstdCompressor().compress(d)),
        ("deflate", zlib.compress),
    ],
)
def test_bombs_in_every_encoding_are_cut_off(edge_client, key, encoding, compress):
    bomb = compress(b"A" * (32 * 1024 * 1024))
    assert_error(
        post(edge_client, bomb, key, headers={"Content-Encoding": encoding}), 413, "payload_too_large"
    )


def test_chunked_transfer_is_accepted(live_server, edge_factory):
    import http.client

    key = edge_factory.app_row().ingest_key
    body = json.dumps(edge_factory.report()).encode()
    connection = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=10)
    connection.putrequest("POST", URL)
    connection.putheader("X-Crashsvc-Key", key)
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    for start in range(0, len(body), 1000):
        chunk = body[start : start + 1000]
        connection.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    connection.send(b"0\r\n\r\n")
    response = connection.getresponse()
    assert response.status == 202, response.read()


def test_rate_limit_answers_429_with_retry_after(make_app):
    from tests.factories import Factory

    app = make_app(rate_limit_per_minute="2")
    factory = Factory(app)
    key = factory.app_row().ingest_key
    client = app.test_client()
    statuses = [post(client, factory.report(report_id=None), key).status_code for _ in range(3)]
    assert statuses[:2] == [202, 202]
    response = post(client, factory.report(report_id=None), key)
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1


def test_consent_object_is_kept_with_the_report(client, factory):
    app_row = factory.app_row()
    report = factory.report()
    assert post(client, report, app_row.ingest_key).status_code == 202
    factory.process_queue()
    from sqlalchemy import select

    from crashsvc.models import Report

    with factory.services.db.sessions() as session:
        stored = session.scalars(select(Report)).one()
    assert stored.consent == report["consent"]


def test_transport_identifiers_are_not_queued(edge_client, edge_factory, key):
    """Client IP, User-Agent and cookies never travel into the queue (checked in the sealed payload)."""
    response = post(
        edge_client,
        edge_factory.report(),
        key,
        headers={
            "User-Agent": "MyApp/2.4.1 ua-marker-77",
            "Cookie": "sid=cookie-marker-88",
            "X-Forwarded-For": "198.51.100.23",
        },
        environ_base={"REMOTE_ADDR": "192.0.2.99"},
    )
    report_id = response.get_json()["id"]
    raw = edge_factory.services.queue.load_raw(report_id)
    text = json.dumps(raw.report) + str(raw)
    for marker in ("ua-marker-77", "cookie-marker-88", "198.51.100.23", "192.0.2.99"):
        assert marker not in text


def test_queued_payload_is_encrypted_at_rest(edge_client, edge_factory, key):
    report = edge_factory.report()
    report["exception"]["value"] = "plaintext-marker-123"
    report_id = post(edge_client, report, key).get_json()["id"]
    redis = Redis.from_url(edge_factory.services.settings.redis_url)
    stored = b"".join(redis.get(k) or b"" for k in redis.keys("crashsvc:raw:*"))
    assert report_id and stored
    assert b"plaintext-marker-123" not in stored
    job_hash = b"".join(str(v).encode() for v in redis.hgetall(f"rq:job:{report_id}").values())
    assert b"plaintext-marker-123" not in job_hash
    assert (
        edge_factory.services.queue.load_raw(report_id).report["exception"]["value"] == "plaintext-marker-123"
    )


@pytest.mark.parametrize("text", ["\\ud800", "x\\udfff", "\\ud83d tail"])
def test_lone_surrogate_escapes_are_invalid_json(edge_client, edge_factory, key, text):
    body = json.dumps(edge_factory.report()).replace('"SIGABRT', f'"{text} SIGABRT', 1).encode()
    assert_error(post(edge_client, body, key), 400, "invalid_json")
    assert edge_factory.services.queue.depth() == 0


def test_paired_surrogate_escapes_are_fine(edge_client, edge_factory, key):
    body = json.dumps(edge_factory.report()).replace('"SIGABRT', '"\\ud83d\\ude00 SIGABRT', 1).encode()
    assert post(edge_client, body, key).status_code == 202


def queued_json(edge_factory, report_id) -> bytes:
    """The exact report bytes the edge sealed into the queue."""
    from crashsvc.queue import RAW_PREFIX

    queue = edge_factory.services.queue
    sealed = queue.redis.get(RAW_PREFIX + report_id)
    plain = zstandard.ZstdDecompressor().decompress(
        queue.sealer.open(sealed, report_id), max_output_size=1 << 26
    )
    return plain.partition(b"\n")[2]


def test_a_report_validation_left_unchanged_is_queued_as_the_clients_bytes(edge_client, edge_factory, key):
    report = edge_factory.report(report_id=str(uuid.uuid4()))
    body = json.dumps(report, indent=1).encode()  # whitespace too: the bytes travel as sent
    report_id = post(edge_client, body, key).get_json()["id"]
    assert queued_json(edge_factory, report_id) == body
    assert edge_factory.services.queue.load_raw(report_id).report == report


@pytest.mark.parametrize(
    "change, expect",
    [
        ("unknown_key", lambda queued: "x_unknown" not in queued),
        ("null", lambda queued: "release" not in queued),
        ("uppercase_id", lambda queued: queued["report_id"] == queued["report_id"].lower()),
        ("integer_boolean", lambda queued: queued["threads"][0]["frames"][0]["in_app"] is True),
        ("escape", lambda queued: queued["exception"]["value"].startswith("é")),
    ],
)
def test_a_report_validation_changed_is_queued_as_validated(edge_client, edge_factory, key, change, expect):
    report = edge_factory.report(report_id=str(uuid.uuid4()))
    if change == "unknown_key":
        report["x_unknown"] = "dropped at the edge"
    elif change == "null":
        report["release"] = None
    elif change == "uppercase_id":
        report["report_id"] = report["report_id"].upper()
    elif change == "integer_boolean":
        report["threads"][0]["frames"][0]["in_app"] = 1
    body = json.dumps(report).encode()
    if change == "escape":
        body = body.replace(b'"value": "', b'"value": "\\u00e9', 1)
    response = post(edge_client, body, key)
    assert response.status_code == 202, response.get_json()
    queued_bytes = queued_json(edge_factory, response.get_json()["id"])
    assert queued_bytes != body
    assert expect(json.loads(queued_bytes))


def test_a_server_that_lost_the_accept_script_still_accepts(edge_client, edge_factory, key):
    """A restarted or flushed Valkey no longer knows the script: the edge loads it again."""
    edge_factory.services.redis.script_flush()
    response = post(edge_client, edge_factory.report(), key)
    assert response.status_code == 202
    assert edge_factory.services.queue.status(response.get_json()["id"]) == "queued"


def test_the_accept_keeps_one_connection_per_thread(edge_client, edge_factory, key):
    """The accept skips redis-py's pool per call, so it must not open a connection per report."""
    observer = Redis.from_url(edge_factory.services.settings.redis_url)
    before = len(observer.client_list())
    for _ in range(5):
        assert post(edge_client, edge_factory.report(report_id=str(uuid.uuid4())), key).status_code == 202
    assert len(observer.client_list()) <= before + 1


def test_a_connection_the_server_dropped_is_replaced_and_the_report_kept(edge_client, edge_factory, key):
    """A Valkey restart or idle timeout closes the accept's connection: the report still gets in."""
    first = post(edge_client, edge_factory.report(report_id=str(uuid.uuid4())), key)
    assert first.status_code == 202
    observer = Redis.from_url(edge_factory.services.settings.redis_url)
    observer.client_setname("observer")
    assert observer.client_kill_filter(_type="normal", skipme=True) >= 1
    for _ in range(2):  # the dropped connection, then the one that replaced it
        response = post(edge_client, edge_factory.report(report_id=str(uuid.uuid4())), key)
        assert response.status_code == 202, response.get_json()
        assert edge_factory.services.queue.status(response.get_json()["id"]) == "queued"


def test_the_accept_is_packed_as_redis_py_would_pack_it(edge_factory):
    """The accept's command is packed by hiredis directly; the bytes must be redis-py's own."""
    queue = edge_factory.services.queue
    report_id = str(uuid.uuid4())
    sealed = queue.seal(report_id, 1, datetime.now(UTC), b'{"opt_in":true}')
    command = queue.accept_command(report_id, sealed, True, "crashsvc:rate:1:0", 600)
    packed_by_redis_py = b"".join(Connection().pack_command(*command))
    assert hiredis.pack_command(command) == packed_by_redis_py


def test_server_ids_follow_the_crash_hour_and_say_no_more():
    """Ids are the reports' key: in time order a purge's deletions share index pages."""
    received = datetime(2026, 11, 29, 12, tzinfo=UTC)
    day_one = report_id_for(1, "a1", "2026-11-27T14:01:00Z", received)
    same_hour = report_id_for(1, "b2", "2026-11-27T14:59:59.999Z", received)
    day_two = report_id_for(1, "a1", datetime(2026, 11, 28, 15, tzinfo=UTC).timestamp(), received)
    assert uuid.UUID(day_one).version == 8
    assert day_one[:13] == same_hour[:13]  # 48 bits of the hour: nothing finer than the stored time
    assert day_one < day_two
    assert sorted([day_two, day_one]) == [day_one, day_two]


def test_a_resend_gets_the_same_server_id_however_its_time_is_spelled():
    received = datetime(2026, 11, 29, 12, tzinfo=UTC)
    first = report_id_for(7, "5E0C6F2A-4F1B-4C55-9D2E-0E5D51A3B9C4", "2026-11-28T14:37:12Z", received)
    again = report_id_for(
        7, "5e0c6f2a-4f1b-4c55-9d2e-0e5d51a3b9c4", "2026-11-28T14:37:12.000+00:00", received.replace(hour=20)
    )
    assert first == again
    assert report_id_for(8, "5e0c6f2a-4f1b-4c55-9d2e-0e5d51a3b9c4", "2026-11-28T14:37:12Z", received) != first


def test_ids_without_a_client_id_are_random_within_the_hour_of_arrival():
    received = datetime(2026, 11, 29, 12, 34, tzinfo=UTC)
    one, two = (report_id_for(1, None, "2026-11-28T14:37:12Z", received) for _ in range(2))
    assert one != two and one[:13] == two[:13]
    assert report_id_for(1, None, None, received.replace(hour=13)) > one


def test_a_client_id_without_a_timestamp_keeps_the_version_5_id():
    received = datetime(2026, 11, 29, 12, tzinfo=UTC)
    assert report_id_for(1, "a1", None, received) == str(uuid.uuid5(ID_NAMESPACE, "1:a1"))
