"""Native frames through the full pipeline: our gcc-built ELF, and every corpus native look-up."""

from __future__ import annotations

import json

import pytest

from tests.conftest import corpus_dir
from tests.symbols_api.conftest import SymbolsPipeline, elf_debug_id, frames_of

BASE = 0x555555550000


def elf_report(
    debug_id: str, frames: list[dict], libc_id: str = "11111111-2222-3333-4444-555555555555"
) -> dict:
    return {
        "platform": "native",
        "device": {"arch": "x86_64"},
        "exception": {"type": "SIGSEGV", "value": "Segmentation fault"},
        "threads": [{"id": 1, "crashed": True, "frames": frames}],
        "images": [
            {
                "type": "elf",
                "debug_id": debug_id,
                "code_file": "/opt/demo/prog",
                "image_addr": hex(BASE),
                "image_size": 0x10000,
            },
            {
                "type": "elf",
                "debug_id": libc_id,
                "code_file": "/usr/lib/x86_64-linux-gnu/libc.so.6",
                "image_addr": "0x7f0000000000",
                "image_size": 0x200000,
            },
        ],
    }


def test_gcc_elf_uploaded_then_report_is_symbolicated(pipeline, gcc_program):
    binary, symbols = gcc_program
    uploaded = pipeline.upload(binary)
    (row,) = uploaded["files"]
    assert (row["kind"], row["file_format"], row["status"]) == ("native", "elf", "pending")
    assert uploaded["job_id"]
    pipeline.process()  # the SymCache build job
    listed = pipeline.client.get(
        f"/api/v1/apps/{pipeline.app_row.id}/symbols", headers=pipeline.auth
    ).get_json()
    assert [(f["debug_id"], f["status"]) for f in listed["files"]] == [(row["debug_id"], "ready")]

    frames = [
        {"instruction_addr": hex(BASE + symbols["crash_here"])},  # crashing instruction, inlined code
        {"instruction_addr": hex(BASE + symbols["after_call_last"])},  # return address into call_last
        {"instruction_addr": "0x7f0000001234"},  # libc: no symbols uploaded
    ]
    stored = pipeline.run(elf_report(row["debug_id"], frames))
    out = frames_of(stored)
    assert [f["function"] for f in out[:3]] == ["read_value", "crash_here", "call_last"]
    assert [f["lineno"] for f in out[:3]] == [4, 8, 13]
    assert [f.get("inlined", False) for f in out[:3]] == [True, False, False]
    assert all(f["symbolicated"] and f["filename"] == "prog.c" for f in out[:3])
    assert out[3]["symbolicated"] is False
    assert stored["missing_symbols"] == [
        {
            "image": "libc.so.6",
            "debug_id": "11111111-2222-3333-4444-555555555555",
            "arch": "x86_64",
            "type": "elf",
        }
    ]
    assert stored["symbolicated"] is False  # libc is still missing
    assert "crash_here" in stored["signature"] or "read_value" in stored["signature"]


def test_symbols_of_another_app_are_not_used(pipeline, factory, gcc_program):
    binary, symbols = gcc_program
    other = factory.app_row()
    factory.member(pipeline.user, other, "developer")
    pipeline.upload_to(other.id, binary)
    pipeline.process()
    stored = pipeline.run(
        elf_report(elf_debug_id(binary), [{"instruction_addr": hex(BASE + symbols["crash_here"])}])
    )
    assert frames_of(stored)[0]["symbolicated"] is False
    assert stored["missing_symbols"][0]["debug_id"] == elf_debug_id(binary)


def _native_cases() -> list[dict]:
    path = corpus_dir() / "expected" / "native_lookups.json"
    return json.loads(path.read_text()) if path.is_file() else []


IMAGE_ADDR = 0x10000


@pytest.mark.corpus
def test_every_expected_native_lookup_through_the_pipeline(corpus, client, factory):
    cases = _native_cases()
    # Several corpus files share a debug id (a binary, its dSYM, Breakpad files): one app per file,
    # so each expectation is checked against the file it was written for.
    apps, debug_ids = {}, {}
    for debug_file in sorted({case["debug_file"] for case in cases}):
        apps[debug_file] = SymbolsPipeline(client, factory)
        files = apps[debug_file].upload(corpus / debug_file)["files"]
        debug_ids[debug_file] = {f["arch"]: f["debug_id"] for f in files}
    factory.process_queue()
    report_ids = []
    for case in cases:
        pipeline = apps[case["debug_file"]]
        addr = IMAGE_ADDR + int(case["addr"], 16)
        frame = {"instruction_addr": hex(addr)}
        frames = [{"instruction_addr": hex(IMAGE_ADDR)}, frame] if case.get("caller_frame") else [frame]
        ids = debug_ids[case["debug_file"]]
        report = {
            "platform": "native",
            "exception": {"type": "SIGSEGV"},
            "threads": [{"id": 0, "crashed": True, "frames": frames}],
            "images": [
                {
                    "type": "macho",
                    "debug_id": ids.get(case["arch"]) or next(iter(ids.values())),
                    "code_file": "/app/" + case["debug_file"].rsplit("/", 1)[-1],
                    "image_addr": hex(IMAGE_ADDR),
                    "image_size": 0x10000000,
                    "arch": case["arch"],
                }
            ],
        }
        report_ids.append(pipeline.send(report))
    factory.process_queue()
    assert len(cases) >= 5
    for case, report_id in zip(cases, report_ids, strict=True):
        stored = apps[case["debug_file"]].stored(report_id)
        addr = hex(IMAGE_ADDR + int(case["addr"], 16))
        produced = [f for f in frames_of(stored) if f["instruction_addr"] == addr]
        assert produced and all(f["symbolicated"] for f in produced), json.dumps([case, stored])
        assert stored["missing_symbols"] == [], case
        if "expect_len" in case:
            assert len(produced) == case["expect_len"], case
        for i, expected in enumerate(case.get("expect", [])):
            _assert_frame(produced[i], expected)
        for i, expected in case.get("expect_index", {}).items():
            _assert_frame(produced[int(i)], expected)
        if "expect_outermost" in case:
            outer, want = produced[-1], case["expect_outermost"]
            assert want["function_contains"] in outer["function"]
            assert (outer["filename"], outer["lineno"]) == (want["path_basename"], want["line"])


def _assert_frame(frame: dict, expected: dict) -> None:
    assert frame["raw_function"] == expected["function"]
    if "path" in expected:
        assert frame["abs_path"] == expected["path"]
    if "line" in expected:
        assert frame["lineno"] == expected["line"]
