"""The one module the web side uses to hand reports to the worker.

A report is queued as two things written in one Redis transaction: its sealed (encrypted) raw
payload under its own key with a TTL, and an RQ job that carries only the report id. The job is
named by string, so the web code never imports worker internals.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import zstandard
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from crashsvc.keys import PayloadSealer

PROCESS_REPORT_JOB = "workers.jobs.process_report"
RAW_PREFIX = "crashsvc:raw:"
SEEN_PREFIX = "crashsvc:seen:"
ID_NAMESPACE = uuid.UUID("6f1c1f0e-3d3a-4c6e-9b59-4f0f6c1e2a11")

_compressor = zstandard.ZstdCompressor(level=3)
_decompressor = zstandard.ZstdDecompressor()


def report_id_for(app_id: int, client_report_id: str | None) -> str:
    """Server id of a report: derived from the client's id (so resends map to it) or random."""
    if client_report_id:
        return str(uuid.uuid5(ID_NAMESPACE, f"{app_id}:{client_report_id.lower()}"))
    return str(uuid.uuid4())


@dataclass(frozen=True)
class RawReport:
    report_id: str
    app_id: int
    received_at: datetime
    report: dict[str, Any]


class ReportQueue:
    """Queues report ids (RQ) with their sealed payloads, and reads them back in the worker."""

    def __init__(self, redis: Redis, sealer: PayloadSealer, queue_name: str, raw_ttl: int,
                 idempotency_ttl: int, job_timeout: int, job_retries: int):
        self.redis = redis
        self.sealer = sealer
        self.queue = Queue(queue_name, connection=redis)
        self.raw_ttl = raw_ttl
        self.idempotency_ttl = idempotency_ttl
        self.job_timeout = job_timeout
        self.job_retries = job_retries

    # -- the web side -------------------------------------------------------------------------
    def seal(self, report_id: str, app_id: int, received_at: datetime, report_json: bytes) -> bytes:
        header = json.dumps({"app_id": app_id, "received_at": received_at.isoformat()}).encode()
        return self.sealer.seal(_compressor.compress(header + b"\n" + report_json), report_id)

    def enqueue(self, report_id: str, sealed: bytes, check_duplicate: bool) -> bool:
        """Queue a sealed report in one round trip; False when ``report_id`` was already accepted.

        The idempotency marker, the raw payload and the job are written in one MULTI/EXEC, so a
        report is either fully queued or not at all. A resend still pushes a job (its outcome is
        only known after EXEC); processing is idempotent, so that job changes nothing.
        """
        pipe = self.redis.pipeline(transaction=True)
        pipe.multi()  # explicit, so RQ adds its commands to this transaction instead of opening one
        if check_duplicate:
            pipe.set(SEEN_PREFIX + report_id, b"1", nx=True, ex=self.idempotency_ttl)
        pipe.set(RAW_PREFIX + report_id, sealed, nx=True, ex=self.raw_ttl)
        self.queue.enqueue_job(self._job(report_id), pipeline=pipe)
        results = pipe.execute()
        return bool(results[0]) if check_duplicate else True

    def _job(self, report_id: str) -> Job:
        retry = Retry(max=self.job_retries, interval=[5, 30, 120, 600, 1800]) if self.job_retries else None
        return self.queue.create_job(
            PROCESS_REPORT_JOB, args=(report_id,), job_id=report_id, timeout=self.job_timeout,
            result_ttl=600, failure_ttl=self.raw_ttl, retry=retry,
            description=f"process report {report_id}",
        )

    def status(self, report_id: str) -> str | None:
        """``queued`` or ``failed`` for a report still in the queue's hands; None if unknown."""
        try:
            job = Job.fetch(report_id, connection=self.redis)
        except NoSuchJobError:
            job = None
        if job is not None:
            status = job.get_status(refresh=False)
            if status == JobStatus.FAILED:
                return "failed"
            if status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
                return "queued"
        if self.redis.exists(RAW_PREFIX + report_id):
            return "queued"
        return None

    # -- the worker side ----------------------------------------------------------------------
    def load_raw(self, report_id: str) -> RawReport | None:
        sealed = self.redis.get(RAW_PREFIX + report_id)
        if sealed is None:
            return None
        plain = _decompressor.decompress(self.sealer.open(sealed, report_id), max_output_size=64 * 1024 * 1024)
        header, _, body = plain.partition(b"\n")
        meta = json.loads(header)
        return RawReport(report_id=report_id, app_id=int(meta["app_id"]),
                         received_at=datetime.fromisoformat(meta["received_at"]).astimezone(UTC),
                         report=json.loads(body))

    def delete_raw(self, report_id: str) -> None:
        self.redis.delete(RAW_PREFIX + report_id)

    def depth(self) -> int:
        return self.queue.count
