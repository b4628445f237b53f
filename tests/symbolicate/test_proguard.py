"""Java/Kotlin frames through ProGuard/R8 mappings: corpus mappings and a hand-written one.

Expected values for the corpus mappings are the upstream assertions: getsentry/symbolic
py/tests/test_proguard.py (symbolic_proguard.txt, UUID a48ca62b-…) and getsentry/rust-proguard
tests/retrace.rs::test_inlines (mapping-inlines.txt, UUID 3828bd45-…).
"""

from __future__ import annotations

import pytest

from crashsvc.symbols import UploadMetadata
from tests.symbol_samples import HAND_WRITTEN, android_report
from workers.symbolicate import symbolicate_report


@pytest.mark.corpus
def test_symbolic_proguard_mapping(corpus, store, index, make_ctx):
    (stored,) = store.add_upload(corpus / "android/proguard/symbolic_proguard.txt")
    index.add(stored)
    assert stored.kind == "proguard" and stored.debug_id == "a48ca62b-df26-544e-a8b9-2a5ce210d1d5"
    frames = [
        {"platform": "java", "module": "android.support.constraint.a.b", "function": "a", "lineno": 116},
        {"platform": "java", "module": "io.sentry.sample.MainActivity", "function": "a", "lineno": 1},
    ]
    ctx = make_ctx(android_report(frames, stored.debug_id))
    symbolicate_report(ctx)
    out = ctx.report["threads"][0]["frames"]
    assert [(f["module"], f["function"], f["lineno"]) for f in out] == [
        ("android.support.constraint.solver.ArrayRow", "createRowDefinition", 116),
        ("io.sentry.sample.MainActivity", "bar", 54),
        ("io.sentry.sample.MainActivity", "foo", 44),
        ("io.sentry.sample.MainActivity", "onClickHandler", 40),
    ]
    assert [f.get("inlined", False) for f in out] == [False, True, True, False]
    assert out[0]["in_app"] is False and out[1]["in_app"] is True
    assert out[0]["raw_module"] == "android.support.constraint.a.b" and out[0]["raw_lineno"] == 116


@pytest.mark.corpus
def test_r8_inlines_mapping_by_version_and_build(corpus, store, index, make_ctx):
    (stored,) = store.add_upload(
        corpus / "android/proguard/mapping-inlines.txt", UploadMetadata(app_version="2.0.1", build="42")
    )
    index.add(stored)
    assert stored.debug_id == "3828bd45-950f-5e77-9737-b6b3a1d80299"
    frames = [
        {"platform": "java", "module": "io.sentry.sample.MainActivity", "function": "t", "lineno": 1},
        {"platform": "java", "module": "android.view.View", "function": "performClick", "lineno": 7125},
    ]
    ctx = make_ctx(android_report(frames))  # no image: found through app version + build
    symbolicate_report(ctx)
    out = ctx.report["threads"][0]["frames"]
    assert [(f["function"], f.get("lineno")) for f in out] == [
        ("bar", 54),
        ("foo", 44),
        ("onClickHandler", 40),
        ("performClick", 7125),
    ]
    assert out[-1]["symbolicated"] is False and out[-1]["module"] == "android.view.View"


def test_hand_written_mapping_frames_and_exception_type(store, index, make_ctx, tmp_path):
    mapping = tmp_path / "mapping.txt"
    mapping.write_text(HAND_WRITTEN)
    (stored,) = store.add_upload(mapping)
    index.add(stored)
    frames = [{"platform": "java", "module": "a.a", "function": "a", "lineno": 2, "filename": "SourceFile"}]
    report = android_report(frames, stored.debug_id, exception={"type": "b", "module": "a", "value": "empty"})
    ctx = make_ctx(report)
    symbolicate_report(ctx)
    out = report["threads"][0]["frames"]
    assert [(f["module"], f["function"], f["lineno"], f.get("inlined", False)) for f in out] == [
        ("com.example.shop.CartActivity", "validate", 31, True),
        ("com.example.shop.CartActivity", "onCheckout", 21, False),
    ]
    assert out[0]["filename"] == "CartActivity.java"
    assert report["exception"]["type"] == "EmptyCartException"
    assert report["exception"]["module"] == "com.example.shop"
    assert (report["exception"]["raw_type"], report["exception"]["raw_module"]) == ("b", "a")


def test_listed_mapping_not_uploaded_is_missing(make_ctx):
    frames = [{"platform": "java", "module": "a.a", "function": "a", "lineno": 2}]
    ctx = make_ctx(android_report(frames, "0b5b6f8d-0000-5000-8000-000000000001"))
    symbolicate_report(ctx)
    assert ctx.report["threads"][0]["frames"][0]["symbolicated"] is False
    assert ctx.missing_symbols == [
        {
            "image": "proguard mapping",
            "debug_id": "0b5b6f8d-0000-5000-8000-000000000001",
            "arch": None,
            "type": "proguard",
        }
    ]
