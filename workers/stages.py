"""Minimal stand-ins for the stages while their packages are being built (replaced on integration)."""

from __future__ import annotations

from workers.context import ProcessingContext


def anonymize_stage(ctx: ProcessingContext) -> None:
    for key in ("user", "breadcrumbs", "context", "tags"):
        if ctx.report.pop(key, None) is not None:
            ctx.note("anonymize", "drop_field", key)
    ctx.scrub_version = "scrub:0"


def symbolicate_stage(ctx: ProcessingContext) -> None:
    from workers.symbolicate import symbolicate_report

    symbolicate_report(ctx)


def group_stage(ctx: ProcessingContext) -> None:
    from workers.grouping import group_signature

    group_signature(ctx)


def store_stage(ctx: ProcessingContext) -> None:
    from workers.store import store_report

    store_report(ctx)
