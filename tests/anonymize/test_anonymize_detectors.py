"""Each detector on what it must match and, just as important, on what it must not match."""

from __future__ import annotations

from collections import Counter

import pytest

from workers.anonymize.detectors import ScanState
from workers.anonymize.scanner import scrub_text


def scan(rules, text: str, state: ScanState | None = None) -> tuple[str, Counter[str]]:
    hits: Counter[str] = Counter()
    return scrub_text(text, rules.text_detectors, rules.actions, state or ScanState(), hits), hits


MATCHES = [
    ("email", "mail jane.doe+x@example.co.uk now", "jane.doe+x@example.co.uk"),
    ("email", "q=jane%40example.com&x=1", "jane%40example.com"),
    ("phone", "call +1 (415) 555-0132 today", "555-0132"),
    ("phone", "tel: 0151 23456789", "23456789"),
    ("phone", "phone=4155550132", "4155550132"),
    ("ip", "from 203.0.113.9 ok", "203.0.113.9"),
    ("ip", "client ip 8.8.4.4", "8.8.4.4"),
    ("ipv6", "peer 2001:db8::ff00:42:8329 gone", "2001:db8::ff00:42:8329"),
    ("mac", "bssid 00-1A-2B-3C-4D-5E", "00-1A-2B-3C-4D-5E"),
    ("card", "pay 4111-1111-1111-1111 ok", "4111-1111-1111-1111"),
    ("iban", "to NL91 ABNA 0417 1643 00", "NL91 ABNA 0417 1643 00"),
    ("ssn", "ssn 536-22-8841", "536-22-8841"),
    ("imei", "imei 35-209900-176148-1", "35-209900-176148-1"),
    ("jwt", "t=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig", "eyJhbGciOiJub25lIn0"),
    ("bearer", "Authorization: Bearer abc123def456ghi", "abc123def456ghi"),
    ("pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIBOg\n-----END RSA PRIVATE KEY-----", "MIIBOg"),
    ("api_key", "key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
    ("url_secrets", "GET https://u:p4ss@h.example.com/a?token=zz#frag", "p4ss"),
    ("userpath", "open /Users/jdoe/Documents/x.txt", "jdoe"),
    ("userpath", r"C:\Users\Jane Doe\AppData\x.dll", "Jane Doe"),
    ("userpath", r"at C:\Users/jdoe/app/main.js", "jdoe"),  # mixed separators (Node on Windows)
    ("userpath", r"at C:/Users\jdoe\app\main.js", "jdoe"),
    (
        "container_path",
        "/var/mobile/Containers/Data/Application/9F8E7D6C-5B4A-3C2D-1E0F-A9B8C7D6E5F4/x",
        "9F8E7D6C-5B4A-3C2D-1E0F-A9B8C7D6E5F4",
    ),
    ("gps", "at 52.520008, 13.404954", "52.520008"),
    ("gps", "at 48°51'24\"N", "48°51"),
    ("device_name", "paired with Anna's iPhone 15", "Anna's iPhone"),
    ("device_name", "iPhone de Marie crashed", "Marie"),
    ("hostname", "host Johns-MacBook-Pro.local up", "Johns-MacBook-Pro"),
    ("postal_address", "ship to 221 Baker Street now", "221 Baker Street"),
    ("postal_address", "ship to 12, rue de la Paix", "12, rue de la Paix"),
    (
        "uuid_like_install_id",
        "idfv 6D92078A-8246-4BA4-AE5B-76104861E7DC",
        "6D92078A-8246-4BA4-AE5B-76104861E7DC",
    ),
    ("labelled_value", "login failed: password = 'hunter2'", "hunter2"),
    ("labelled_value", 'payload {"name": "Jane Q. Doe", "ok": 1}', "Jane Q. Doe"),
    ("cookie", "Cookie: sid=abc; theme=dark", "theme=dark"),
    ("push_token", "fcm dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYq", "APA91b"),
    ("cell_id", "cell_id=28940321", "28940321"),
]


@pytest.mark.parametrize(
    ("rule", "text", "secret"), MATCHES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MATCHES)]
)
def test_detector_removes(rules, rule, text, secret):
    out, hits = scan(rules, text)
    assert secret not in out
    assert hits[rule] >= 1


NOT_MATCHES = [
    ("email", "loaded icon@2x.png and app@2.0.1"),
    ("phone", "version 2.0.1.5 build 10.0.19041.1"),
    ("phone", "address 0x00000001045a3b2c and 0x1a2b3c4d"),
    ("phone", "heap 536870912 bytes, 2147483648 max"),
    ("phone", "ts 1709302931000 and 1709302931"),
    ("phone", "date 2024-03-15 10:22:33 and 15/03/2024"),
    ("phone", "counter 1234567890123456"),
    ("ip", "app 2.0.1.5 on iOS 17.4.1"),
    ("ip", "not an ip 300.1.2.3"),
    ("ipv6", "std::vector<int>::iterator at 10:22:33 with ::1"),
    ("mac", "time 10:22:33:44 fine"),
    ("card", "counter 1234567890123456 and ms 1709302931000123"),
    ("card", "4111 1111 1111 1112 fails luhn"),
    ("iban", "GB82WEST12345698765433 has a bad check"),
    ("iban", "hash de89370400440532013000 is lower-case hex-ish"),
    ("ssn", "build 000-12-3456 and 123-00-4567 and 666-12-3456"),
    ("imei", "frame count 123456789012345 fails luhn"),
    ("jwt", "eyJ alone is not a token"),
    ("bearer", "token expired; token refreshed"),
    ("pem", "BEGIN PRIVATE KEY without dashes"),
    ("api_key", "AKIA too short"),
    ("url_secrets", "https://api.example.com/v1/items/42"),
    ("userpath", "/Users/Shared/App and /users/42/avatar"),
    ("container_path", "/usr/lib/system/libsystem_kernel.dylib"),
    ("gps", "values 1.5, 2.5 and 2.0.1.5"),
    ("device_name", "the app's iPhone support"),
    ("hostname", "api.example.com and com.apple.main-thread"),
    ("postal_address", "42 items in queue"),
    ("uuid_like_install_id", "trace 4bf92f3577b34da6a3ce929d0e0e4736"),
    ("labelled_value", "thread_name: main, filename: App.swift, keyboard: shown"),
    ("cookie", "cookies were cleared"),
    ("push_token", "APA91b alone"),
    ("cell_id", "cells=12"),
]


@pytest.mark.parametrize(
    ("rule", "text"), NOT_MATCHES, ids=[f"{m[0]}-{i}" for i, m in enumerate(NOT_MATCHES)]
)
def test_detector_leaves_alone(rules, rule, text):
    out, hits = scan(rules, text)
    assert hits[rule] == 0
    assert out == text


def test_debug_id_mentioned_in_text_is_kept(rules):
    state = ScanState()
    state.add_debug_id("3b4c9f2e-8d71-4a65-9e0f-12ab34cd56ef")
    text = "missing dSYM 3B4C9F2E-8D71-4A65-9E0F-12AB34CD56EF"
    assert scan(rules, text, state)[0] == text


def test_home_owner_becomes_a_known_identity_value(rules):
    state = ScanState()
    scan(rules, "/Users/jdoe/Library", state)
    assert "jdoe" in state.known_values


def test_url_keeps_host_and_path(rules):
    out, _ = scan(rules, "see https://user:pw@api.example.com:8443/v1/x?y=1#z.")
    assert out == "see https://api.example.com:8443/v1/x."
