"""Property tests: identifiers anywhere in free text always go; debugging values are never touched."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from workers.anonymize import MemoryHashKeyRing, anonymize
from workers.anonymize.checksums import luhn_valid

NOW = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
KEYRING = MemoryHashKeyRing()  # no install ids in these reports; the key ring is never used
WORDS = st.sampled_from(
    [
        "crash",
        "in",
        "while",
        "saving",
        "the",
        "profile",
        "failed",
        "retry",
        "after",
        "NSError",
        "code",
        "=",
        "42;",
        "(",
        ")",
        "->",
        "at",
        "queue",
        "main",
        "done.",
    ]
)
FILLER = st.lists(WORDS, min_size=0, max_size=8).map(" ".join)


def _luhn_complete(prefix: str) -> str:
    return next(prefix + str(digit) for digit in range(10) if luhn_valid(prefix + str(digit)))


def _digits(count: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=count, max_size=count)


emails = st.builds(
    lambda user, domain, tld: f"{user}@{domain}.{tld}",
    st.from_regex(r"[a-z][a-z0-9._]{1,12}[a-z0-9]", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9-]{1,10}[a-z0-9]", fullmatch=True),
    st.sampled_from(["com", "org", "de"]),
)
ipv4s = st.builds(
    lambda a, b, c, d: f"{a}.{b}.{c}.{d}",
    st.integers(11, 223),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(1, 254),
)
ipv6s = st.builds(
    lambda groups: str(__import__("ipaddress").IPv6Address(bytes(groups))),
    st.lists(st.integers(0, 255), min_size=16, max_size=16),
).filter(lambda text: text.count(":") >= 3)
cards = st.sampled_from(["4", "51", "55", "2221", "6011"]).flatmap(
    lambda prefix: _digits(15 - len(prefix)).map(lambda body: _luhn_complete(prefix + body))
)  # 16 digits
phones = st.one_of(
    st.builds(
        lambda area, ex, line: f"+1 ({area}) {ex}-{line}",
        st.integers(201, 989),
        st.integers(201, 989),
        _digits(4),
    ),
    st.builds(
        lambda cc, rest: f"+{cc} {rest[:3]} {rest[3:]}", st.sampled_from(["44", "49", "33", "39"]), _digits(9)
    ),
    st.builds(
        lambda area, ex, line: f"{area}-{ex}-{line}", st.integers(201, 989), st.integers(201, 989), _digits(4)
    ),
)
uuids = st.uuids().map(lambda value: str(value).upper())
macs = st.lists(st.integers(0, 255), min_size=6, max_size=6).map(
    lambda parts: ":".join(f"{p:02x}" for p in parts)
)
imeis = _digits(14).map(_luhn_complete).filter(lambda text: not text.startswith(("0", "1", "89")))
ssns = st.builds(
    lambda a, b, c: f"{a:03d}-{b:02d}-{c:04d}", st.integers(1, 665), st.integers(1, 99), st.integers(1, 9999)
)
jwts = st.builds(
    lambda a, b, c: f"eyJ{a}.eyJ{b}.{c}", *(st.from_regex(r"[A-Za-z0-9_-]{8,30}", fullmatch=True),) * 3
)
passwords = st.from_regex(r"[A-Za-z0-9!#%]{6,16}", fullmatch=True).map(lambda secret: f"password={secret}")

IDENTIFIERS = st.one_of(emails, ipv4s, ipv6s, cards, phones, uuids, macs, imeis, ssns, jwts, passwords)


def _message(rules, keyring, text: str) -> str:
    report = {
        "timestamp": "2026-03-01T14:22:11Z",
        "exception": {"type": "E", "value": text},
        "breadcrumbs": [{"message": text}],
        "extra": {"free": text},
    }
    result = anonymize(report, rules, keyring, NOW).report
    return (
        result["exception"]["value"]
        + "\n"
        + result["breadcrumbs"][0]["message"]
        + "\n"
        + result["extra"]["free"]
    )


@settings(max_examples=300, deadline=None)
@given(before=FILLER, identifier=IDENTIFIERS, after=FILLER)
def test_identifiers_in_free_text_are_always_removed(rules, before, identifier, after):
    secret = identifier.removeprefix("password=")
    out = _message(rules, KEYRING, f"{before} {identifier} {after}")
    assert secret not in out
    assert secret.lower() not in out.lower()


DEBUG_DIGITS = st.one_of(
    st.integers(0, 2**64 - 1).map(lambda n: f"0x{n:016x}"),  # addresses
    st.integers(0, 2**40).map(hex),
    st.builds(
        lambda a, b, c, d: f"{a}.{b}.{c}.{d}",
        st.integers(0, 9),
        st.integers(0, 99),
        st.integers(0, 99),
        st.integers(0, 99),
    ),  # version strings like 2.0.1.5
    st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.integers(0, 30), st.integers(0, 99), st.integers(0, 999)),
    # Heap sizes up to 1 TiB (13 digits starting with 1). Beyond that a page multiple that passes Luhn and
    # starts with 2-6 is a card number by shape (hypothesis found 5811095216128); see docs/privacy.md.
    st.integers(1, 2**28).map(lambda n: str(n * 4096)),
    st.integers(10**15, 10**16 - 1).map(str).filter(lambda text: not luhn_valid(text)),  # 16-digit counters
    st.integers(1_500_000_000_000, 1_900_000_000_000).map(str),  # millisecond timestamps
    st.integers(1_500_000_000, 1_900_000_000).map(str),  # second timestamps
)


@settings(max_examples=300, deadline=None)
@given(before=FILLER, value=DEBUG_DIGITS, after=FILLER)
def test_debugging_values_in_free_text_are_never_touched(rules, before, value, after):
    text = f"{before} {value} {after}"
    out = _message(rules, KEYRING, text)
    assert out.split("\n") == [text] * 3


@settings(max_examples=100, deadline=None)
@given(debug_id=st.uuids(), address=st.integers(0, 2**48), size=st.integers(1, 2**32), version=DEBUG_DIGITS)
def test_debug_fields_are_kept_verbatim(rules, debug_id, address, size, version):
    image = {
        "type": "macho",
        "debug_id": str(debug_id),
        "code_id": debug_id.hex,
        "image_addr": hex(address),
        "image_size": size,
        "code_file": "/usr/lib/libobjc.A.dylib",
        "arch": "arm64",
    }
    frame = {
        "instruction_addr": hex(address + 4),
        "function": f"-[Foo bar:{version}]",
        "module": "libobjc.A.dylib",
    }
    report = {
        "release": f"app@{version}",
        "images": [image],
        "threads": [{"id": 0, "frames": [frame]}],
        "exception": {"type": "E", "value": f"missing dSYM {debug_id} for {version}"},
    }
    result = anonymize(report, rules, KEYRING, NOW).report
    assert result["images"] == [image]
    assert result["threads"][0]["frames"] == [frame]
    assert result["release"] == report["release"]
    assert result["exception"]["value"] == report["exception"]["value"]


def test_uuid_that_is_not_a_debug_id_is_removed(rules, keyring):
    stranger = str(uuid.uuid4())
    out = _message(rules, keyring, f"install {stranger} missing")
    assert stranger not in out
