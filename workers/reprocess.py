"""Reprocess a stored report: symbolicate again (late symbols) and regroup, moving it if its group changed.

The stored report is already anonymized, so only the stages after anonymization run again:
``symbolicate`` (which retries only frames still ``symbolicated: false``) and ``group``. If the
signature changed, the report leaves its old group and joins the new one (found or created) in the
same transaction that saves the new data; the move is a conditional update on the report's group,
so running the job twice moves nothing twice.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from sqlalchemy import and_

from crashsvc.models import Report
from crashsvc.models.partitions import update_reports
from crashsvc.symbols.catalog import replace_missing_symbols
from workers import runtime
from workers.context import Note, ProcessingContext
from workers.store import count_report_in_group, find_or_create_group, uncount_report_from_group

log = logging.getLogger("crashsvc.worker")

# Notes the symbolicate stage recomputes on every run over all still-unresolved frames.
RECOMPUTED_NOTES = {("symbolicate", "missing_symbols"), ("symbolicate", "unsymbolicated_frames")}


def reprocess_report(report_id: str, regroup: bool = False) -> str:
    """Re-run symbolicate + group on a stored report; ``regroup`` uses the current default algorithm.

    Returns ``gone`` (no such report), ``moved`` (its group changed) or ``updated``.
    """
    from workers.symbolicate import refresh_symbol_index

    services = runtime.services()
    refresh_symbol_index(services)  # late symbols: this job exists because some became ready
    with services.db.sessions() as session:
        report = session.get(Report, report_id)
        if report is None:
            return "gone"
        ctx = context_from_stored(report, services, regroup)
    run_reprocessing_stages(ctx)
    outcome = save_reprocessed(services, ctx)
    log.info(
        "report_reprocessed", extra={"report_id": report_id, "outcome": outcome, "group_id": ctx.group_id}
    )
    return outcome


def context_from_stored(report: Report, services: Any, regroup: bool = False) -> ProcessingContext:
    """A processing context holding a stored report as the store stage left it."""
    notes = [
        Note(**note)
        for note in report.notes or []
        if (note.get("stage"), note.get("rule")) not in RECOMPUTED_NOTES
    ]
    return ProcessingContext(
        report_id=report.id,
        app_id=report.app_id,
        received_at=report.received_at,
        report=copy.deepcopy(report.data),
        services=services,
        notes=notes,
        install_hash=report.install_hash,
        scrub_version=report.scrub_version,
        missing_symbols=list(report.missing_symbols or []),
        signature=report.signature,
        signature_algorithm=None if regroup else _known_algorithm(report.signature_algorithm),
        signature_explanation=list(report.signature_explanation or []),
        group_id=report.group_id,
        signature_hash=report.signature_hash,
    )


def _known_algorithm(algorithm: str | None) -> str | None:
    """Keep the report's algorithm if the grouping stage still knows it (else its default applies)."""
    from workers.grouping import ALGORITHMS

    return algorithm if algorithm in ALGORITHMS else None


def run_reprocessing_stages(ctx: ProcessingContext) -> None:
    """The pipeline's own symbolicate and group stages (never anonymize: the data already is)."""
    from workers.stages import group_stage, symbolicate_stage

    symbolicate_stage(ctx)
    group_stage(ctx)
    # One "symbolicated_frames" note: the frames resolved on earlier runs plus this one's.
    resolved = [
        note for note in ctx.notes if (note.stage, note.rule) == ("symbolicate", "symbolicated_frames")
    ]
    if len(resolved) > 1:
        resolved[0].count = sum(note.count for note in resolved)
        ctx.notes = [note for note in ctx.notes if note not in resolved[1:]]


def save_reprocessed(services: Any, ctx: ProcessingContext) -> str:
    """Write the reprocessed report and move it between groups if needed, in one transaction."""
    with services.db.transaction() as session:
        report = session.get(Report, ctx.report_id, with_for_update=True)
        if report is None:
            return "gone"
        exception = ctx.report.get("exception") if isinstance(ctx.report.get("exception"), dict) else {}
        exception_type = str(exception["type"])[:500] if exception.get("type") else None
        old_group_id = report.group_id
        group = find_or_create_group(session, ctx, exception_type)
        moved = False
        if group.id != old_group_id:
            same_group = (
                Report.group_id.is_(None) if old_group_id is None else Report.group_id == old_group_id
            )
            changed = update_reports(
                session, and_(Report.id == report.id, same_group), {"group_id": group.id}, report.received_at
            )
            if changed == 1:  # 0: another run moved it already
                if old_group_id is not None:
                    uncount_report_from_group(session, old_group_id, report)
                count_report_in_group(session, group, report)
                moved = True
            session.refresh(report)
        update_reports(
            session,
            Report.id == report.id,
            {
                "data": ctx.report,
                "notes": [note.as_dict() for note in ctx.notes],
                "missing_symbols": ctx.missing_symbols,
                "symbolicated": not ctx.missing_symbols,
                "exception_type": exception_type,
                "signature": ctx.signature,
                "signature_hash": ctx.signature_hash,
                "signature_algorithm": ctx.signature_algorithm,
                "signature_explanation": ctx.signature_explanation,
            },
            report.received_at,
        )
        replace_missing_symbols(session, report, ctx.missing_symbols)
        ctx.group_id = report.group_id
    return "moved" if moved else "updated"
