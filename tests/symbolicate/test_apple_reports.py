"""Apple ``.crash`` and ``.ips`` reports: parsed like apple-crash-report-parser, then symbolicated."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.symbol_samples import CRASH_TEXT, MACOS_CRASH_ID, SNAPSHOTS
from workers.symbolicate import symbolicate_report
from workers.symbolicate.apple_text import AppleReportError, parse_crash_text


@pytest.mark.corpus
@pytest.mark.parametrize("name", SNAPSHOTS)
def test_crash_text_matches_parser_snapshot(corpus, name):
    folder = corpus / "apple" / "crash-text"
    snapshot = (folder / f"{name}.snap").read_text().split("---\n", 2)[2]  # drop the insta header
    assert parse_crash_text((folder / f"{name}.crash").read_text()) == yaml.safe_load(snapshot)


@pytest.mark.corpus
def test_xcode16_header_with_fractional_seconds(corpus):
    parsed = parse_crash_text((corpus / "apple/crash-text/xcode16.crash").read_text())
    assert parsed["timestamp"] == "2020-03-28T01:06:51.496900Z"
    assert parsed["code_type"] == "ARM-64 (Native)"


def test_bad_image_uuid_is_a_parse_error():
    with pytest.raises(AppleReportError):
        parse_crash_text("Binary Images:\n 0x1 - 0x2 +a x86_64  <nothex> /a\n")


@pytest.mark.corpus
def test_crash_text_report_is_symbolicated(corpus, store, index, make_ctx):
    index.add_all(store.add_upload(corpus / "apple/macos-crash/crash.dSYM"))
    ctx = make_ctx({"platform": "cocoa", "apple_crash_report": CRASH_TEXT})
    symbolicate_report(ctx)
    report = ctx.report
    frames = report["threads"][0]["frames"]
    assert [f["function"] for f in frames[:3]] == [
        "(anonymous namespace)::crash()",
        "(anonymous namespace)::start()",
        "main",
    ]
    assert [f["lineno"] for f in frames[:3]] == [21, 25, 32]
    assert all(f["in_app"] and f["instruction_addr"] == "0x10000dc15" for f in frames[:3])
    assert frames[3]["symbolicated"] is False and frames[3]["in_app"] is False
    assert report["exception"] == {
        "type": "EXC_BAD_ACCESS (SIGSEGV)",
        "value": "KERN_INVALID_ADDRESS at 0x0000000000000000",
    }
    assert report["device"] == {"arch": "x86_64"}
    assert "0123456789abcdef" not in json.dumps(
        {k: v for k, v in report.items() if k != "apple_crash_report"}
    )
    assert ctx.missing_symbols == [
        {
            "image": "libsystem_kernel.dylib",
            "debug_id": "1b7d7184-05d6-3a83-bb1b-f9af6aef61f3",
            "arch": "x86_64",
            "type": "macho",
        }
    ]


@pytest.mark.corpus
def test_ips_report_is_symbolicated(corpus, store, index, make_ctx):
    index.add_all(store.add_upload(corpus / "apple/macos-crash/crash.dSYM"))
    header = {"app_name": "crash", "bug_type": "309", "os_version": "macOS 14.2"}
    body = {
        "cpuType": "X86-64",
        "faultingThread": 0,
        "exception": {"type": "EXC_BAD_ACCESS", "signal": "SIGSEGV", "codes": "0x1, 0x0"},
        "threads": [
            {
                "id": 9001,
                "triggered": True,
                "queue": "com.apple.main-thread",
                "frames": [
                    {"imageOffset": 0xDC15, "imageIndex": 0},
                    {"imageOffset": 3114, "imageIndex": 1, "symbol": "__pthread_kill"},
                ],
            }
        ],
        "usedImages": [
            {
                "base": 0x100000000,
                "size": 0x20000,
                "uuid": MACOS_CRASH_ID,
                "arch": "x86_64",
                "path": "/Applications/Crash.app/Contents/MacOS/crash",
                "name": "crash",
            },
            {
                "base": 0x7FFF61BC6000,
                "size": 0x3A000,
                "uuid": "1b7d7184-05d6-3a83-bb1b-f9af6aef61f3",
                "arch": "x86_64",
                "path": "/usr/lib/system/libsystem_kernel.dylib",
            },
        ],
    }
    ctx = make_ctx({"platform": "cocoa", "apple_crash_report": json.dumps(header) + "\n" + json.dumps(body)})
    symbolicate_report(ctx)
    thread = ctx.report["threads"][0]
    assert thread["crashed"] is True and thread["name"] == "com.apple.main-thread"
    assert [f["lineno"] for f in thread["frames"][:3]] == [21, 25, 32]
    assert (
        thread["frames"][3]["function"] == "__pthread_kill" and thread["frames"][3]["symbolicated"] is False
    )
    assert ctx.report["exception"]["mechanism"] == {"type": "mach", "signal": "SIGSEGV"}


def test_redacted_incident_identifier_is_not_an_error():
    """The anonymizer runs first (identifier replaced, clock coarsened); the report must still parse."""
    parsed = parse_crash_text(
        "Incident Identifier: [id]\nCrashReporter Key:   [redacted]\nDate/Time:       2024-02-01 10:00:00\n"
    )
    assert parsed["incident_identifier"] == "00000000-0000-0000-0000-000000000000"
    assert "timestamp" not in parsed


def test_unparseable_apple_report_leaves_a_note(make_ctx):
    ctx = make_ctx({"platform": "cocoa", "apple_crash_report": "Report Version:  not-a-number\n"})
    symbolicate_report(ctx)
    assert "threads" not in ctx.report
    assert [(n.rule, n.path) for n in ctx.notes] == [("invalid_apple_crash_report", "apple_crash_report")]
