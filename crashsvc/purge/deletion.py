"""Deleting one report on its user's behalf (``delete_token``) or an operator's, wherever it is.

A report can be in four places: the disk spool, the queue (raw payload + RQ job), a worker's
hands, or the database. Deletion goes through them in an order that leaves no gap:

1. a tombstone ``crashsvc:deleted:<id>`` is set first (TTL: at least RAW_TTL), which every worker
   checks before processing a report *and again after storing one* (``workers/batch.py``);
2. the raw payload, the queued RQ job and any spooled file are removed;
3. the stored report is deleted and uncounted, with its audit event, in one transaction.

A worker that stored the report between 1 and 3 sees the tombstone after its commit and deletes
it; one that commits after 3 sees it too. So once the answer is 204 the report is gone or going.
"""

from __future__ import annotations

import logging
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from crashsvc.audit import record_audit_event
from crashsvc.purge.aggregates import REPORTS
from crashsvc.purge.reports import delete_reports_where
from crashsvc.queue import RAW_PREFIX
from crashsvc.services import Services

log = logging.getLogger("crashsvc.purge")

TOMBSTONE_PREFIX = "crashsvc:deleted:"
SPOOL_SUFFIX = ".spool"


def tombstone_ttl(services: Services) -> int:
    """Long enough to outlive any copy of the raw payload (queue, retries, resends)."""
    settings = services.settings
    return max(settings.raw_ttl, settings.idempotency_ttl) + 3600


def tombstoned(redis: Redis, report_ids: list[str]) -> set[str]:
    """Which of these reports were deleted on request (one round trip)."""
    if not report_ids:
        return set()
    flags = redis.mget([TOMBSTONE_PREFIX + report_id for report_id in report_ids])
    return {report_id for report_id, flag in zip(report_ids, flags, strict=True) if flag is not None}


def delete_report(
    services: Services, report_id: str, *, actor: str, user_id: int | None = None
) -> dict[str, Any]:
    """Delete a report from the spool, the queue and the database; returns where it was found.

    Raises ``RedisError`` when the queue is unreachable and the report is not (or no longer) in
    the database: without the tombstone a queued copy could still be stored later.
    """
    found: dict[str, Any] = {
        "spool": _remove_from_spool(services, report_id),
        "queue": False,
        "stored": False,
    }
    app_id = None
    try:
        redis = services.redis
        redis.set(TOMBSTONE_PREFIX + report_id, b"1", ex=tombstone_ttl(services))
        raw = services.queue.load_raw(report_id)
        if raw is not None:
            app_id = raw.app_id  # only the app: the contents are never read past the header
            found["queue"] = True
        del raw
        redis.delete(RAW_PREFIX + report_id)
        found["queue"] = _remove_job(redis, report_id) or found["queue"]
        queue_error: RedisError | None = None
    except RedisError as error:
        queue_error = error
    with services.db.transaction() as session:
        deleted = delete_reports_where(session, REPORTS.c.id == report_id)
        found["stored"] = bool(deleted.count)
        if deleted.app_ids:
            app_id = deleted.app_ids[0]
        if found["stored"] or found["queue"] or found["spool"]:
            record_audit_event(
                session,
                "report.delete",
                actor,
                app_id=app_id,
                user_id=user_id,
                scope={"report_id": report_id},
                count=1,
                detail={
                    "where": [place for place in ("spool", "queue", "stored") if found[place]],
                    "groups_removed": deleted.groups_removed,
                },
            )
    if queue_error is not None and not found["stored"]:
        raise queue_error
    log.info("report_deleted", extra={"report_id": report_id, "actor": actor.split(":", 1)[0]})
    return found


def _remove_job(redis: Redis, report_id: str) -> bool:
    """Delete the report's RQ job; True if it was still waiting (queued, retrying or failed).

    A job a worker runs right now is left alone: the tombstone covers it.
    """
    try:
        job = Job.fetch(report_id, connection=redis)
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=False)
    if status == JobStatus.STARTED:
        return True
    job.delete(remove_from_queue=True)
    return status != JobStatus.FINISHED


def _remove_from_spool(services: Services, report_id: str) -> bool:
    """Remove a report waiting in the disk spool (Redis was down when it arrived)."""
    spool = getattr(services, "spool", None)
    if spool is None or not spool.directory.is_dir():
        return False
    removed = False
    for path in spool.directory.glob(f"*-{report_id}{SPOOL_SUFFIX}"):
        try:
            path.unlink()
            removed = True
        except FileNotFoundError:
            pass  # the mover took it: it is in the queue now, which the tombstone covers
    return removed


def delete_tombstoned_reports(services: Services, report_ids: list[str]) -> list[str]:
    """After a worker stored these reports: delete any that were deleted on request meanwhile."""
    late = sorted(tombstoned(services.redis, report_ids))
    if late:
        with services.db.transaction() as session:
            delete_reports_where(session, REPORTS.c.id.in_(late))
        for report_id in late:
            log.info("report_deleted_after_store", extra={"report_id": report_id})
    return late
