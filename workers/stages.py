"""Minimal stand-ins for the stages while their packages are being built (replaced on integration)."""

from __future__ import annotations

import hashlib

from workers.context import ProcessingContext


def anonymize_stage(ctx: ProcessingContext) -> None:
    for key in ("user", "breadcrumbs", "context", "tags"):
        if ctx.report.pop(key, None) is not None:
            ctx.note("anonymize", "drop_field", key)
    ctx.scrub_version = "scrub:0"


def symbolicate_stage(ctx: ProcessingContext) -> None:
    return None


def group_stage(ctx: ProcessingContext) -> None:
    exception = ctx.report.get("exception") or {}
    frames = exception.get("frames") or next(
        (t.get("frames") for t in ctx.report.get("threads") or [] if t.get("crashed")), []) or []
    top = next((f.get("function") for f in frames if f.get("function")), "<unknown>")
    ctx.signature = f"{exception.get('type') or 'crash'} | {top}"
    ctx.signature_algorithm = "sig:0"
    ctx.signature_hash = hashlib.sha256(ctx.signature.encode()).hexdigest()


def store_stage(ctx: ProcessingContext) -> None:
    from workers.store import store_report

    store_report(ctx)
