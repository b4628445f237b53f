"""RQ jobs. They take report ids, never payloads, and running one twice changes nothing."""

from __future__ import annotations

from workers import runtime


class ProcessingFailed(Exception):
    """A stage failed. Carries only the stage-independent error type: RQ stores this message in
    its failed-job record, and the original exception's text may quote the raw payload."""


class TransientFailure(Exception):
    """The database failed, not the report: the job is retried with backoff (RQ ``Retry``)."""


def process_report(report_id: str) -> str:
    """Anonymize, symbolicate, group and store one queued report; returns what happened.

    ``ReportWorker`` runs batches through ``workers.batch.process_reports`` directly; this is the
    same work for one report, for any other RQ worker.
    """
    from workers.batch import process_reports  # the batch module imports the errors above

    outcome = process_reports(runtime.services(), [report_id])[report_id]
    if outcome.error is not None:
        raise outcome.error
    assert outcome.result is not None
    return outcome.result
