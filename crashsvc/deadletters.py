"""Dead letters: jobs that failed for good, read from RQ's failed registry of the report queue.

A report lands here when its processing failed permanently (``ProcessingFailed``), when its
transient retries ran out, or when it was abandoned by dying workers more often than its retries
allow. Nothing here holds a payload: the failed job record keeps only the report id and an error
type (``workers/jobs.py``), and both the record and the sealed raw payload expire after
``RAW_TTL``; a dead letter whose payload expired can only be dropped.

Used by ``crashsvc failed`` and meant for the web UI's dead-letter page.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry

from crashsvc.queue import RAW_PREFIX
from crashsvc.services import Services

# Messages of these errors are written by crashsvc and never quote a payload; others show as a type.
SANITIZED_ERRORS = {"ProcessingFailed", "TransientFailure", "AbandonedJobError"}


def _registry(services: Services) -> FailedJobRegistry:
    return Queue(services.settings.queue_name, connection=services.redis).failed_job_registry


def _error(job: Job) -> tuple[str, str]:
    """(error type, safe detail) from RQ's failure record of ``job``."""
    result = job.latest_result()
    text = ((result.exc_string if result is not None else "") or "").strip()
    if "AbandonedJobError" in text:
        return "AbandonedJobError", "the worker running it died"
    last = text.splitlines()[-1] if text else ""
    name, _, message = last.partition(":")
    error_type = name.strip().rsplit(".", 1)[-1] or "unknown"
    return error_type, message.strip() if error_type in SANITIZED_ERRORS else ""


def list_dead_letters(services: Services) -> list[dict[str, Any]]:
    """Every dead letter, oldest first: id, job, error type, when it failed, whether it can be retried."""
    registry = _registry(services)
    job_ids = registry.get_job_ids()
    jobs = Job.fetch_many(job_ids, connection=services.redis)
    raw_exists = services.redis.pipeline(transaction=False)
    for job_id in job_ids:
        raw_exists.exists(RAW_PREFIX + job_id)
    has_raw = raw_exists.execute() if job_ids else []
    letters = []
    for job_id, job, raw in zip(job_ids, jobs, has_raw, strict=True):
        if job is None:
            continue
        error_type, detail = _error(job)
        expires = registry.get_expiration_time(job)
        letters.append(
            {
                "id": job_id,
                "job": job.func_name.rsplit(".", 1)[-1],
                "error_type": error_type,
                "detail": detail,
                "failed_at": job.ended_at.astimezone(UTC).isoformat() if job.ended_at else None,
                "expires_at": expires.isoformat() if expires else None,
                "payload_available": bool(raw) or not job.func_name.endswith("process_report"),
            }
        )
    letters.sort(key=lambda letter: letter["failed_at"] or "")
    return letters


def retry_dead_letter(services: Services, job_id: str) -> str:
    """Queue a dead letter again: ``requeued``, ``payload_expired`` (dropped) or ``not_found``."""
    registry = _registry(services)
    try:
        job = Job.fetch(job_id, connection=services.redis)
    except NoSuchJobError:
        return "not_found"
    if job.func_name.endswith("process_report") and not services.redis.exists(RAW_PREFIX + job_id):
        drop_dead_letter(services, job_id)
        return "payload_expired"
    try:
        registry.requeue(job)
    except InvalidJobOperation:
        return "not_found"
    return "requeued"


def drop_dead_letter(services: Services, job_id: str) -> bool:
    """Forget a dead letter and its sealed payload for good; False when there was none."""
    registry = _registry(services)
    removed = job_id in registry.get_job_ids()
    try:
        registry.remove(job_id, delete_job=True)
    except NoSuchJobError:
        services.redis.zrem(registry.key, job_id)
    services.redis.delete(RAW_PREFIX + job_id)
    return removed
