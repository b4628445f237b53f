"""A worker's background thread: heartbeats, abandoned jobs, and the spool.

RQ notices a dead worker's job only when the job's entry in the started registry expires, and a
``SimpleWorker`` sets that expiry to the job timeout plus a minute (6 minutes here); RQ's own
maintenance then runs every 10 minutes, and only between jobs. A killed worker's reports would
wait up to a quarter of an hour. Instead, each report worker:

- gives its executions a short lifetime (``WORKER_HEARTBEAT_TTL``) and refreshes it from this
  thread every third of that while the job runs, so a live worker's jobs never expire;
- every ``WORKER_MAINTENANCE_INTERVAL`` (one worker at a time, by a Redis lock) lets RQ clean the
  started registry (``StartedJobRegistry.cleanup``: an expired job is retried with the job's
  backoff while it has retries, else recorded as failed with ``AbandonedJobError``), and puts back
  jobs stuck between dequeue and start (RQ would mark those failed after a minute);
- moves spooled reports back into the queue (``crashsvc/spool.py``).

A job can thus run twice (a worker frozen past its heartbeat); processing is idempotent.
"""

from __future__ import annotations

import logging
import threading
import time

from redis.exceptions import RedisError
from rq import Queue
from rq.registry import StartedJobRegistry
from rq.worker import BaseWorker

from crashsvc.services import Services

log = logging.getLogger("crashsvc.worker")

LOCK_PREFIX = "crashsvc:maintenance:"
STUCK_PREFIX = "crashsvc:stuck-since:"


def requeue_stuck_dequeued(queue: Queue, grace_seconds: int) -> int:
    """Put back jobs moved to RQ's intermediate list by a worker that died before starting them."""
    connection = queue.connection
    started = set(queue.started_job_registry.get_job_ids(cleanup=False))
    moved = 0
    for raw_id in connection.lrange(queue.intermediate_queue_key, 0, -1):
        job_id = raw_id.decode()
        if job_id in started:
            continue
        marker = STUCK_PREFIX + job_id
        if connection.set(marker, time.time(), nx=True, ex=grace_seconds * 10):
            continue  # first sighting: it may be starting right now
        if time.time() - float(connection.get(marker) or time.time()) < grace_seconds:
            continue
        pipe = connection.pipeline(transaction=True)
        pipe.lrem(queue.intermediate_queue_key, 1, job_id)
        pipe.lpush(queue.key, job_id)  # at the front: it was next in line
        pipe.delete(marker)
        pipe.execute()
        moved += 1
        log.warning("stuck_job_requeued", extra={"report_id": job_id})
    return moved


def requeue_abandoned(queue: Queue) -> None:
    """RQ's handling of started jobs whose heartbeat expired: retry (with backoff) or fail."""
    StartedJobRegistry(queue.name, connection=queue.connection, job_class=queue.job_class,
                       serializer=queue.serializer).cleanup()


class WorkerMaintenance(threading.Thread):
    """Runs beside a ``ReportWorker`` for its whole life."""

    def __init__(self, worker: BaseWorker, services: Services, heartbeat_ttl: int, interval: float):
        super().__init__(name="crashsvc-worker-maintenance", daemon=True)
        self.worker = worker
        self.services = services
        self.heartbeat_ttl = heartbeat_ttl
        self.interval = interval
        self.stopping = threading.Event()
        self._last_maintenance = 0.0

    def run(self) -> None:
        tick = min(self.heartbeat_ttl / 3, self.interval)
        while not self.stopping.wait(tick):
            try:
                self.refresh_heartbeats()
                if time.monotonic() - self._last_maintenance >= self.interval:
                    self._last_maintenance = time.monotonic()
                    self.maintain()
            except (RedisError, OSError) as error:
                # Redis down: the main loop waits for it too; the spool keeps what arrives meanwhile.
                log.warning("maintenance_failed", extra={"error_type": type(error).__name__})

    def refresh_heartbeats(self) -> None:
        executions = list(self.worker.executions.values())
        pipe = self.services.redis.pipeline(transaction=False)
        self.worker.heartbeat(self.heartbeat_ttl, pipeline=pipe)
        for queue in self.worker.queues:
            for execution in executions:
                execution.heartbeat(queue.started_job_registry, self.heartbeat_ttl, pipeline=pipe)
        pipe.execute()

    def maintain(self) -> None:
        redis = self.services.redis
        for queue in self.worker.queues:
            lock = LOCK_PREFIX + queue.name
            if redis.set(lock, self.worker.name, nx=True, ex=max(1, int(self.interval))):
                requeue_abandoned(queue)
                requeue_stuck_dequeued(queue, self.heartbeat_ttl)
        self.services.spool.move_pending()

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)
