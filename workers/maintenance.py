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
- moves spooled reports back into the queue (``crashsvc/spool.py``);
- keeps the sealed payloads of reports still waiting to be processed (``keep_waiting_payloads``).

A job can thus run twice (a worker frozen past its heartbeat); processing is idempotent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from itertools import islice

from redis.exceptions import RedisError
from rq import Queue
from rq.registry import StartedJobRegistry
from rq.worker import BaseWorker

from crashsvc.queue import RAW_PREFIX
from crashsvc.services import Services

log = logging.getLogger("crashsvc.worker")

LOCK_PREFIX = "crashsvc:maintenance:"
STUCK_PREFIX = "crashsvc:stuck-since:"
PAYLOAD_REFRESH_PREFIX = "crashsvc:payload-refresh:"
ID_CHUNK = 1000  # report ids per round trip when walking the queue


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


def waiting_report_ids(queue: Queue) -> Iterator[str]:
    """Ids of the jobs not yet done: queued, between dequeue and start, running, or waiting to retry.

    Failed jobs (dead letters) are not among them. Other tasks sharing the queue (symbol builds,
    reprocessing) come out too; they have no raw payload, so nothing is done for them. The lists
    are read in pages while workers take jobs from their head, which shifts the pages: an id may
    be skipped, but only while jobs are being taken, and then it is about to be processed (and
    the next walk, a quarter of ``RAW_TTL`` later, sees it again).
    """
    connection = queue.connection
    for key in (queue.key, queue.intermediate_queue_key):
        start = 0
        while chunk := connection.lrange(key, start, start + ID_CHUNK - 1):
            yield from (raw_id.decode() for raw_id in chunk)
            start += ID_CHUNK
    yield from queue.started_job_registry.get_job_ids(cleanup=False)
    yield from queue.scheduled_job_registry.get_job_ids(cleanup=False)


def keep_waiting_payloads(queue: Queue, raw_ttl: int) -> int:
    """Give the sealed payloads of reports still waiting to be processed their whole lifetime again.

    ``RAW_TTL`` bounds how long raw data may sit in Redis, but a report whose job is still queued,
    running or waiting for a retry has not been stored yet: were its payload to expire first, an
    accepted report would be lost to a database outage or a backlog longer than ``RAW_TTL``. So
    while a worker runs, a payload under half its lifetime gets all of it back (a read of its TTL,
    and a write only then: with ``appendfsync always`` every write is an fsync). A payload that
    expired or was deleted meanwhile is never recreated; dead letters' payloads are left to expire.
    Returns how many payloads were refreshed.
    """
    connection = queue.connection
    refreshed = 0
    ids = waiting_report_ids(queue)
    while chunk := [RAW_PREFIX + report_id for report_id in islice(ids, ID_CHUNK)]:
        pipe = connection.pipeline(transaction=False)
        for key in chunk:
            pipe.ttl(key)
        # -2: no such key (not a report job, or already stored); -1: no expiry (never set so).
        fading = [key for key, ttl in zip(chunk, pipe.execute(), strict=True) if 0 <= ttl < raw_ttl / 2]
        if fading:
            pipe = connection.pipeline(transaction=False)
            for key in fading:
                pipe.expire(key, raw_ttl)
            refreshed += sum(1 for done in pipe.execute() if done)
    if refreshed:
        log.info("waiting_payloads_kept", extra={"reports": refreshed})
    return refreshed


def requeue_abandoned(queue: Queue) -> None:
    """RQ's handling of started jobs whose heartbeat expired: retry (with backoff) or fail."""
    StartedJobRegistry(
        queue.name, connection=queue.connection, job_class=queue.job_class, serializer=queue.serializer
    ).cleanup()


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
            # One worker per quarter of RAW_TTL walks the waiting reports: every payload is seen at
            # least twice before it could expire, whichever worker holds the lock.
            raw_ttl = self.services.settings.raw_ttl
            refresh = PAYLOAD_REFRESH_PREFIX + queue.name
            if redis.set(refresh, self.worker.name, nx=True, ex=max(1, int(raw_ttl / 4))):
                keep_waiting_payloads(queue, raw_ttl)
        self.services.spool.move_pending()

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)
