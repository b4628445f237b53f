"""Every expected look-up in corpus/expected/native_lookups.json, through the store and the stage."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from workers.symbolicate import symbolicate_report

IMAGE_ADDR = 0x10000


def _cases() -> list[dict]:
    root = Path(
        os.environ.get("CRASHSVC_TEST_CORPUS", Path(__file__).parents[2] / ".." / "shared" / "corpus")
    )
    path = root / "expected" / "native_lookups.json"
    return json.loads(path.read_text()) if path.is_file() else []


def _case_id(case: dict) -> str:
    return f"{Path(case['debug_file']).name}@{case['addr']}"


def _symbolicate(case, corpus, store, index, make_ctx):
    stored = store.add_upload(corpus / case["debug_file"])
    index.add_all(stored)
    debug_id = stored[0].debug_id
    addr = IMAGE_ADDR + int(case["addr"], 16)
    frame = {"instruction_addr": hex(addr)}
    # A caller frame holds a return address: put a crashing frame in front so it is looked up as one.
    frames = [{"instruction_addr": hex(IMAGE_ADDR)}, frame] if case.get("caller_frame") else [frame]
    report = {
        "platform": "native",
        "threads": [{"id": 0, "crashed": True, "frames": frames}],
        "images": [
            {
                "type": "macho",
                "debug_id": debug_id,
                "code_file": "/app/" + Path(case["debug_file"]).name,
                "image_addr": hex(IMAGE_ADDR),
                "image_size": 0x10000000,
                "arch": case["arch"],
            }
        ],
    }
    ctx = make_ctx(report)
    symbolicate_report(ctx)
    produced = report["threads"][0]["frames"]
    if case.get("caller_frame"):
        # Drop whatever the crashing frame expanded into: keep frames carrying the caller's address.
        produced = [f for f in produced if f["instruction_addr"] == hex(addr)]
    return produced, ctx


@pytest.mark.corpus
@pytest.mark.parametrize("case", _cases(), ids=_case_id)
def test_expected_native_lookup(case, corpus, store, index, make_ctx):
    frames, ctx = _symbolicate(case, corpus, store, index, make_ctx)
    assert all(frame["symbolicated"] for frame in frames)
    assert all(frame["instruction_addr"] == frames[0]["instruction_addr"] for frame in frames)
    if "expect_len" in case:
        assert len(frames) == case["expect_len"]
    for i, expected in enumerate(case.get("expect", [])):
        _assert_frame(frames[i], expected)
    for i, expected in case.get("expect_index", {}).items():
        _assert_frame(frames[int(i)], expected)
    if "expect_outermost" in case:
        outer = frames[-1]
        want = case["expect_outermost"]
        assert want["function_contains"] in outer["function"]
        assert outer["filename"] == want["path_basename"]
        assert outer["lineno"] == want["line"]
    assert ctx.missing_symbols == []
    assert [frame.get("inlined", False) for frame in frames] == [True] * (len(frames) - 1) + [False]


def _assert_frame(frame: dict, expected: dict) -> None:
    # Expectations carry symbol names as stored in the debug file; the frame keeps them in raw_function.
    assert frame["raw_function"] == expected["function"]
    if "path" in expected:
        assert frame["abs_path"] == expected["path"]
    if "line" in expected:
        assert frame["lineno"] == expected["line"]


@pytest.mark.corpus
def test_mangled_names_are_demangled(corpus, store, index, make_ctx):
    case = next(c for c in _cases() if c["addr"] == "0xdc15")
    frames, _ = _symbolicate(case, corpus, store, index, make_ctx)
    assert [f["function"] for f in frames] == [
        "(anonymous namespace)::crash()",
        "(anonymous namespace)::start()",
        "main",
    ]
    assert frames[0]["filename"] == "main.cpp"
