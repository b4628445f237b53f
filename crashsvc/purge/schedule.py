"""The retention purge, run by the workers once per ``RETENTION_PURGE_INTERVAL``.

Why not RQ's scheduler: rq 3.0's ``CronScheduler`` (``rq cron``) is a separate process with its own
config file, and what it does is enqueue a job; a purge job on the report queue would occupy a
report worker for minutes and run into ``JOB_TIMEOUT``. Instead every worker runs this small
thread: it wakes every few minutes and the one that wins ``SET crashsvc:retention:due NX EX
<interval>`` runs the purge in-process, in batches, beside report processing. The key's expiry is
the schedule, so one purge happens per interval across all workers, and a worker killed mid-purge
leaves consistent data that the next run finishes. Deployments that prefer cron or a Kubernetes
CronJob set ``RETENTION_PURGE_IN_WORKER=false`` and run ``crashsvc purge --retention --yes``.
"""

from __future__ import annotations

import logging
import threading

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from crashsvc.purge.reports import PurgeScope, ReportPurger
from crashsvc.services import Services

log = logging.getLogger("crashsvc.purge")

DUE_KEY = "crashsvc:retention:due"
CHECK_EVERY = 300.0  # seconds between a worker's looks at the schedule


def run_retention_purge_if_due(services: Services) -> bool:
    """Run the retention purge if no worker has in this interval; True when this call ran it."""
    interval = services.settings.retention_purge_interval
    if not services.redis.set(DUE_KEY, "running", nx=True, ex=interval):
        return False
    purger = ReportPurger(services.db, actor="worker:retention")
    result = purger.run(PurgeScope(), services.settings.default_retention_days)
    log.info(
        "retention_purge_finished",
        extra={
            "deleted": result.total,
            "batches": result.batches,
            "seconds": round(result.seconds, 1),
            "reclaimed_bytes": result.space.reclaimed if result.space else 0,
        },
    )
    return True


class RetentionScheduler(threading.Thread):
    """A worker's daemon thread that runs the retention purge when it is due."""

    def __init__(self, services: Services, check_every: float = CHECK_EVERY):
        super().__init__(name="crashsvc-retention", daemon=True)
        self.services = services
        self.check_every = check_every
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.check_every):
            try:
                run_retention_purge_if_due(self.services)
            except (RedisError, SQLAlchemyError, OSError) as error:
                # The next interval tries again; batches already committed stay consistent.
                log.warning("retention_purge_failed", extra={"error_type": type(error).__name__})

    def stop(self) -> None:
        self.stopping.set()


def start_retention_scheduler(services: Services) -> RetentionScheduler | None:
    """Start the thread unless the deployment runs the purge from an external scheduler."""
    if not services.settings.retention_purge_in_worker:
        return None
    scheduler = RetentionScheduler(services)
    scheduler.start()
    return scheduler
