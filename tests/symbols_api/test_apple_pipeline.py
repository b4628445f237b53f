"""Apple ``.crash`` reports through the pipeline: parsed as the upstream snapshots say, then symbolicated."""

from __future__ import annotations

import io
import posixpath
import zipfile

import pytest
import yaml

from tests.symbol_samples import CRASH_TEXT, MACOS_CRASH_ID, SNAPSHOTS
from tests.symbols_api.conftest import frames_of


def _address(value) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


@pytest.mark.corpus
def test_crash_text_snapshots_through_the_pipeline(corpus, pipeline):
    folder = corpus / "apple" / "crash-text"
    sent = {
        name: pipeline.send(
            {"platform": "cocoa", "apple_crash_report": (folder / f"{name}.crash").read_text()}
        )
        for name in SNAPSHOTS
    }
    pipeline.process()
    for name, report_id in sent.items():
        expected = yaml.safe_load((folder / f"{name}.snap").read_text().split("---\n", 2)[2])
        stored = pipeline.stored(report_id)["report"]
        threads = stored["threads"]
        assert [(t["id"], t["crashed"]) for t in threads] == [
            (t["id"], t["crashed"]) for t in expected["threads"]
        ]
        for got, want in zip(threads, expected["threads"], strict=True):
            assert got.get("name") == want.get("name"), name
            # Nothing was uploaded: every frame stays as parsed (address, module, symbol).
            assert [
                (_address(f["instruction_addr"]), f.get("module"), f.get("function")) for f in got["frames"]
            ] == [
                (_address(f["instruction_addr"]), f.get("module"), f.get("symbol")) for f in want["frames"]
            ], name
            assert not any(f["symbolicated"] for f in got["frames"])
        images = [i for i in stored["images"] if i["type"] == "macho"]
        want_images = expected.get("binary_images") or []
        assert [(_address(i["image_addr"]), posixpath.basename(i["code_file"])) for i in images] == [
            (_address(i["addr"]), posixpath.basename(i["path"])) for i in want_images
        ], name


def _zipped_dsym(corpus) -> bytes:
    bundle = corpus / "apple/macos-crash/crash.dSYM"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                archive.write(path, "crash.dSYM/" + path.relative_to(bundle).as_posix())
    return buffer.getvalue()


@pytest.mark.corpus
def test_crash_text_symbolicated_by_a_zipped_dsym_uploaded_late(corpus, pipeline):
    before = pipeline.run({"platform": "cocoa", "apple_crash_report": CRASH_TEXT})
    assert {m["debug_id"] for m in before["missing_symbols"]} == {
        MACOS_CRASH_ID,
        "1b7d7184-05d6-3a83-bb1b-f9af6aef61f3",
    }

    (row,) = pipeline.upload(("crash.dSYM.zip", _zipped_dsym(corpus)))["files"]  # Info.plist is skipped
    assert (row["debug_id"], row["object_name"]) == (
        MACOS_CRASH_ID,
        "crash.dSYM/Contents/Resources/DWARF/crash",
    )
    pipeline.process()

    after = pipeline.stored(before["id"])
    frames = frames_of(after)
    assert [f["function"] for f in frames[:3]] == [
        "(anonymous namespace)::crash()",
        "(anonymous namespace)::start()",
        "main",
    ]
    assert [f["lineno"] for f in frames[:3]] == [21, 25, 32]
    assert frames[3]["symbolicated"] is False
    assert [m["image"] for m in after["missing_symbols"]] == ["libsystem_kernel.dylib"]
    assert after["group_id"] != before["group_id"]
