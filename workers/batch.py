"""Processing reports in batches: the same pipeline as one job, with the database written once per batch.

A worker takes up to ``WORKER_BATCH_SIZE`` queued report ids, loads their payloads with one
``MGET`` and runs each report through the pipeline's stages up to (not including) ``store`` on
its own, so one bad report fails alone. Then the batch is stored in one transaction: all report
rows in one savepoint (one multi-row insert), or, if that fails, each in its own savepoint so a
report already stored (a retried job, a resend) or a bad one rolls back alone. Only the reports
inserted are then counted, all at once (``count_reports_in_groups``: one upsert per aggregate
table, one update for all groups), so exactly-once counting still rests on the report's primary key.

Errors are sorted into two kinds, because they need opposite answers:

- ``TransientFailure``: the database (or its connection) failed, not the report. The report is
  tried again later; see ``workers/worker.py`` for how a worker waits out a database outage.
- ``ProcessingFailed``: the report itself cannot be processed. Retrying changes nothing, so it
  goes straight to the dead letters (``crashsvc failed``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from crashsvc import metrics
from crashsvc.db import is_transient_database_error
from crashsvc.models import Report
from crashsvc.purge.deletion import delete_tombstoned_reports, tombstoned
from crashsvc.queue import RAW_PREFIX
from crashsvc.services import Services
from workers import pipeline
from workers.context import ProcessingContext
from workers.jobs import ProcessingFailed, TransientFailure
from workers.store import StoredReport, count_reports_in_groups, follow_merges, insert_reports

log = logging.getLogger("crashsvc.worker")


@dataclass
class Outcome:
    """What happened to one report of a batch: a result (``stored``, ...) or an error to raise."""

    report_id: str
    result: str | None = None
    error: Exception | None = None


def database_reachable(services: Services) -> bool:
    try:
        with services.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


def _failed(report_id: str, error: BaseException, stage: str) -> Outcome:
    log.error(
        "processing_failed",
        extra={"report_id": report_id, "stage": stage, "error_type": type(error).__name__},
    )
    # Only the type: RQ keeps this message in its failed-job record, and the original text may
    # quote the raw payload.
    return Outcome(report_id, error=ProcessingFailed(f"processing failed: {type(error).__name__}"))


def _transient(report_id: str, error: BaseException) -> Outcome:
    orig = getattr(error, "orig", None)
    # The driver's error code only (SQLITE_BUSY, 57P01, ...): the message may quote SQL parameters.
    code = getattr(orig, "sqlite_errorname", None) or getattr(orig, "sqlstate", None)
    log.warning(
        "database_error", extra={"report_id": report_id, "error_type": type(error).__name__, "code": code}
    )
    return Outcome(report_id, error=TransientFailure(f"database unavailable: {type(error).__name__}"))


def process_reports(services: Services, report_ids: list[str]) -> dict[str, Outcome]:
    """Anonymize, symbolicate, group and store queued reports; one outcome per id."""
    outcomes: dict[str, Outcome] = {}
    try:
        with services.db.sessions() as session:
            stored = set(session.scalars(select(Report.id).where(Report.id.in_(report_ids))))
    except SQLAlchemyError as error:
        if not is_transient_database_error(error):
            raise
        return {report_id: _transient(report_id, error) for report_id in report_ids}
    from workers.symbolicate import refresh_symbol_index

    refresh_symbol_index(services)  # symbols that became ready since the last batch are used now
    contexts: list[ProcessingContext] = []
    stages = [(name, stage) for name, stage in pipeline.STAGES if name != "store"]
    deleted = tombstoned(services.redis, report_ids)  # deleted on request while queued
    for report_id in report_ids:
        if report_id in stored:
            outcomes[report_id] = Outcome(report_id, "already_stored")
        elif report_id in deleted:
            outcomes[report_id] = Outcome(report_id, "deleted")
    to_load = [report_id for report_id in dict.fromkeys(report_ids) if report_id not in outcomes]
    sealed = dict(zip(to_load, services.queue.fetch_raw(to_load), strict=True))
    for report_id in to_load:
        try:
            raw = services.queue.open_raw(report_id, sealed.pop(report_id))
        except Exception as error:  # a payload that cannot be opened will never open
            outcomes[report_id] = _failed(report_id, error, "load")
            continue
        if raw is None:
            log.warning("raw_payload_missing", extra={"report_id": report_id})
            outcomes[report_id] = Outcome(report_id, "raw_missing")
            continue
        ctx = ProcessingContext(
            report_id=raw.report_id,
            app_id=raw.app_id,
            received_at=raw.received_at,
            report=raw.report,
            services=services,
        )
        del raw
        try:
            pipeline.run_pipeline(ctx, stages)
        except Exception as error:
            outcomes[report_id] = (
                _transient(report_id, error)
                if is_transient_database_error(error)
                else _failed(report_id, error, "pipeline")
            )
            continue
        contexts.append(ctx)
    if contexts:
        outcomes.update(_store_all(services, contexts))
    # A deletion that arrived while a report was in the pipeline: its tombstone is checked after the commit.
    delete_tombstoned_reports(
        services, [rid for rid in report_ids if outcomes[rid].result in ("stored", "already_stored")]
    )
    _finish(
        services,
        [outcomes[rid] for rid in report_ids if outcomes[rid].result == "already_stored"],
        [ctx for ctx in contexts if outcomes[ctx.report_id].result == "stored"],
    )
    return outcomes


def _store_all(services: Services, contexts: list[ProcessingContext]) -> dict[str, Outcome]:
    """Store every context in one transaction and count the ones inserted; all transient if the commit fails."""
    outcomes: dict[str, Outcome] = {}
    try:
        with services.db.write_sessions() as session, session.begin():
            inserted = follow_merges(session, _insert_all(session, contexts, outcomes))
            count_reports_in_groups(session, [(report.group_id, report) for report in inserted])
    except SQLAlchemyError as error:
        if not is_transient_database_error(error):
            raise
        return {ctx.report_id: _transient(ctx.report_id, error) for ctx in contexts}
    group_ids = {report.id: report.group_id for report in inserted}
    for ctx in contexts:
        ctx.group_id = group_ids.get(ctx.report_id)
    return outcomes


def _insert_all(
    session: Session, contexts: list[ProcessingContext], outcomes: dict[str, Outcome]
) -> list[StoredReport]:
    """Insert the rows in one savepoint; if that fails, one savepoint each, so only the bad ones fail.

    Rows go in report id order: two workers holding the same reports lock them in the same order.
    """
    contexts = sorted(contexts, key=lambda ctx: ctx.report_id)
    groups: dict[tuple[int, str, str], int] = {}
    try:
        with session.begin_nested():
            inserted = insert_reports(session, contexts, groups)
    except SQLAlchemyError as error:
        if is_transient_database_error(error):
            raise
    else:
        outcomes.update((ctx.report_id, Outcome(ctx.report_id, "stored")) for ctx in contexts)
        return inserted
    groups.clear()  # created in the savepoint that rolled back
    inserted = []
    for ctx in contexts:
        attempt = dict(groups)
        try:
            with session.begin_nested():
                inserted += insert_reports(session, [ctx], attempt)
            groups = attempt
            outcomes[ctx.report_id] = Outcome(ctx.report_id, "stored")
        except IntegrityError as error:
            if session.get(Report, ctx.report_id) is not None:
                outcomes[ctx.report_id] = Outcome(ctx.report_id, "already_stored")
            else:
                outcomes[ctx.report_id] = _failed(ctx.report_id, error, "store")
        except SQLAlchemyError as error:
            if is_transient_database_error(error):
                raise
            outcomes[ctx.report_id] = _failed(ctx.report_id, error, "store")
    return inserted


def _finish(services: Services, already: list[Outcome], stored: list[ProcessingContext]) -> None:
    """Drop the raw payloads of stored reports and count them (one round trip)."""
    done = [outcome.report_id for outcome in already] + [ctx.report_id for ctx in stored]
    if not done:
        return
    pipe = services.redis.pipeline(transaction=False)
    pipe.delete(*(RAW_PREFIX + report_id for report_id in done))
    now = datetime.now(UTC)
    for ctx in stored:
        latency = max((now - ctx.received_at).total_seconds(), 0.0)
        metrics.incr(pipe, "reports_processed_total")
        metrics.observe_latency(pipe, latency)
        log.info(
            "report_processed",
            extra={"report_id": ctx.report_id, "group_id": ctx.group_id, "latency_ms": round(latency * 1000)},
        )
    pipe.execute()
