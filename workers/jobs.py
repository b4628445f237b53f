"""RQ jobs. They take report ids, never payloads, and running one twice changes nothing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from crashsvc import metrics
from crashsvc.models import Report
from workers import runtime
from workers.context import ProcessingContext
from workers.pipeline import run_pipeline

log = logging.getLogger("crashsvc.worker")


class ProcessingFailed(Exception):
    """A stage failed. Carries only the stage-independent error type: RQ stores this message in
    its failed-job record, and the original exception's text may quote the raw payload."""


def process_report(report_id: str) -> str:
    """Anonymize, symbolicate, group and store one queued report; returns what happened."""
    services = runtime.services()
    with services.db.sessions() as session:
        already_stored = session.get(Report, report_id) is not None
    if already_stored:
        services.queue.delete_raw(report_id)
        return "already_stored"
    raw = services.queue.load_raw(report_id)
    if raw is None:
        log.warning("raw_payload_missing", extra={"report_id": report_id})
        return "raw_missing"
    ctx = ProcessingContext(report_id=raw.report_id, app_id=raw.app_id, received_at=raw.received_at,
                            report=raw.report, services=services)
    del raw
    try:
        run_pipeline(ctx)
    except Exception as error:
        metrics.incr(services.redis, "reports_failed_total")
        log.error("processing_failed", extra={"report_id": report_id, "error_type": type(error).__name__})
        # `from None` drops the original traceback and message from what RQ records.
        raise ProcessingFailed(f"processing failed: {type(error).__name__}") from None
    services.queue.delete_raw(report_id)
    latency = (datetime.now(UTC) - ctx.received_at).total_seconds()
    pipe = services.redis.pipeline(transaction=False)
    metrics.incr(pipe, "reports_processed_total")
    metrics.observe_latency(pipe, max(latency, 0.0))
    pipe.execute()
    log.info("report_processed", extra={"report_id": report_id, "group_id": ctx.group_id,
                                        "latency_ms": round(latency * 1000)})
    return "stored"
