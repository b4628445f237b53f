"""hypothesis fuzzing of the edge parsers: only their documented domain errors, never anything else."""

from __future__ import annotations

import contextlib
import gzip
import zlib

import brotli
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from crashsvc.errors import ApiError, InvalidEnvelope, InvalidJson, PayloadTooLarge, UnsupportedMediaType
from crashsvc.ingest.body import InvalidEncoding, decode_body
from crashsvc.ingest.envelope import parse_envelope
from crashsvc.ingest.jsonparse import loads_strict
from crashsvc.ingest.schema import ReportSchema

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)
item_lines = st.one_of(
    st.binary(max_size=200),
    st.builds(
        lambda t, n, p: b'{"type":"%s","length":%d}\n' % (t.encode(), n) + p,
        st.sampled_from(["event", "session", "attachment", ""]),
        st.integers(-5, 300),
        st.binary(max_size=200),
    ),
    st.builds(
        lambda t, p: b'{"type":"%s"}\n' % t.encode() + p,
        st.sampled_from(["event", "x"]),
        st.binary(max_size=100),
    ),
)


@FUZZ
@given(header=st.binary(max_size=100) | st.just(b'{"event_id":"x"}'), items=st.lists(item_lines, max_size=6))
def test_envelope_parser_raises_only_invalid_envelope(header, items):
    try:
        envelope = parse_envelope(header + b"\n" + b"\n".join(items), max_depth=8)
    except InvalidEnvelope:
        return
    assert isinstance(envelope.headers, dict)
    for item in envelope.items:
        assert isinstance(item.type, str) and item.type and isinstance(item.payload, bytes)


COMPRESSORS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


@FUZZ
@given(
    data=st.binary(max_size=2000),
    encoding=st.sampled_from([*COMPRESSORS, "identity", "gzip, br", "lzma", ""]),
    compress=st.booleans(),
    cut=st.integers(0, 50),
    limit=st.integers(1, 5000),
)
def test_decompressors_raise_only_documented_errors(data, encoding, compress, cut, limit):
    body = COMPRESSORS[encoding](data) if compress and encoding in COMPRESSORS else data
    body = body[: max(0, len(body) - cut)]
    try:
        decoded = decode_body(body, encoding, limit)
    except (InvalidEncoding, PayloadTooLarge, UnsupportedMediaType):
        return
    assert len(decoded) <= limit


@FUZZ
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_strict_json_raises_only_invalid_json(raw):
    with contextlib.suppress(InvalidJson):
        loads_strict(raw, max_depth=8)


@FUZZ
@given(
    report=st.dictionaries(
        st.sampled_from(
            [
                "platform",
                "exception",
                "threads",
                "images",
                "timestamp",
                "app",
                "os",
                "device",
                "tags",
                "report_id",
                "apple_crash_report",
                "consent",
                "release",
                "x",
            ]
        ),
        json_values,
        max_size=8,
    )
)
def test_report_schema_raises_only_validation_errors(report):
    try:
        ReportSchema().load({**report, "opt_in": True})
    except ValidationError as error:
        assert isinstance(error.messages, dict)


def test_domain_errors_are_api_errors():
    for error in (InvalidEnvelope, InvalidJson, InvalidEncoding, PayloadTooLarge, UnsupportedMediaType):
        assert issubclass(error, ApiError)
