"""The pipeline's stages: each hands the context to its package (imported when first used)."""

from __future__ import annotations

from workers.context import ProcessingContext


def anonymize_stage(ctx: ProcessingContext) -> None:
    from workers.anonymize import anonymize_report

    anonymize_report(ctx)


def symbolicate_stage(ctx: ProcessingContext) -> None:
    from workers.symbolicate import symbolicate_report

    symbolicate_report(ctx)


def group_stage(ctx: ProcessingContext) -> None:
    from workers.grouping import group_signature

    group_signature(ctx)


def store_stage(ctx: ProcessingContext) -> None:
    from workers.store import store_report

    store_report(ctx)
