"""The pipeline stage fills the context's grouping fields and notes why frames were skipped."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.grouping.conftest import CASES_DIR
from workers.context import ProcessingContext
from workers.grouping import UnknownAlgorithm, compute_signature, group_signature


def context(path: str, **fields: object) -> ProcessingContext:
    report = json.loads((CASES_DIR / path).read_text(encoding="utf-8"))["report"]
    return ProcessingContext("r-1", 1, datetime(2026, 11, 29, tzinfo=UTC), report, **fields)


def test_stage_fills_signature_fields_and_notes() -> None:
    ctx = context("ios/nsrange_feed_cell_abort_frames.json")
    group_signature(ctx)
    expected = compute_signature(ctx.report)
    assert ctx.signature == "NSRangeException | MyApp.FeedViewController.cell"
    assert ctx.signature_hash == expected.hash
    assert ctx.signature_algorithm == "sig:1"
    assert ctx.fingerprint is None
    assert ctx.signature_explanation == expected.explanation
    rules = [note.rule for note in ctx.notes]
    assert "skip_frame:objc_exception_throw" in rules
    note = next(n for n in ctx.notes if n.rule == "skip_frame:objc_exception_throw")
    assert note.stage == "group" and note.path.startswith("threads[1].frames[")
    assert note.detail.startswith("sig1/cocoa/irrelevant.txt:")


def test_stage_is_idempotent() -> None:
    ctx = context("ios/nsrange_feed_cell_abort_frames.json")
    group_signature(ctx)
    first = (ctx.signature_hash, list(ctx.notes))
    group_signature(ctx)
    assert (ctx.signature_hash, ctx.notes) == first


def test_stage_keeps_other_stages_notes_and_records_fingerprints() -> None:
    ctx = context("ios/fingerprint_override.json")
    ctx.note("anonymize", "email", "breadcrumbs[0].message")
    group_signature(ctx)
    assert ctx.notes[0].stage == "anonymize"
    assert ctx.fingerprint == ["database-unavailable"]
    assert any(note.rule == "client_fingerprint" for note in ctx.notes)


def test_stage_uses_a_pinned_algorithm_and_rejects_unknown_ones() -> None:
    ctx = context("ios/nsrange_feed_cell_v1.json", signature_algorithm="sig:1")
    group_signature(ctx)
    assert ctx.signature_algorithm == "sig:1"
    with pytest.raises(UnknownAlgorithm):
        group_signature(context("ios/nsrange_feed_cell_v1.json", signature_algorithm="sig:0"))


def test_stage_on_a_report_without_frames() -> None:
    ctx = ProcessingContext("r-2", 1, datetime(2026, 11, 29, tzinfo=UTC), {"platform": "cocoa"})
    group_signature(ctx)
    assert ctx.signature == "<no frames>"
    assert [note.rule for note in ctx.notes] == ["no_frames"]
