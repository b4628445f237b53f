"""The report worker: an RQ worker that runs jobs in its own process, in batches.

RQ's default worker forks a work horse for every job (~47 jobs/s here); processing a report is
short and the worker's caches (SymCaches, the app's services) are what make it fast, so jobs run
in-process like ``SimpleWorker``. On top of that a worker takes up to ``WORKER_BATCH_SIZE`` queued
jobs at once and stores their reports in one database transaction (``workers/batch.py``), while
every job keeps its own RQ bookkeeping: its own execution in the started registry, its own
success, retry or failure record.

Failures, by kind:

- a report that cannot be processed fails alone, at once, into RQ's failed registry (the dead
  letters, ``crashsvc failed``): retrying it would change nothing;
- a transient database error while the database answers a ping is retried by RQ with the
  job's backoff (``JOB_RETRY_BACKOFF``), up to ``JOB_RETRIES`` times;
- a database that does not answer at all costs no retry: the batch goes back to the front of the
  queue and the worker stops taking jobs until the database is back (ingestion keeps accepting;
  the queue grows);
- a worker that dies mid-batch leaves jobs whose heartbeat expires within
  ``WORKER_HEARTBEAT_TTL``; another worker's maintenance retries them (``workers/maintenance.py``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis import Redis
from rq import Queue, SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.timeouts import JobTimeoutException
from rq.utils import now
from rq.worker import WorkerStatus

from crashsvc import metrics
from crashsvc.purge.schedule import start_retention_scheduler
from crashsvc.queue import PROCESS_REPORT_JOB
from workers import runtime
from workers.batch import Outcome, database_reachable, process_reports
from workers.jobs import TransientFailure
from workers.maintenance import WorkerMaintenance

log = logging.getLogger("crashsvc.worker")


class ReportWorker(SimpleWorker):
    """SimpleWorker that processes batches of reports with the process's services, built once."""

    def __init__(self, *args: Any, batch_size: int | None = None, **kwargs: Any):
        self.services = runtime.services()
        settings = self.services.settings
        self.batch_size = batch_size or settings.worker_batch_size
        self.heartbeat_ttl = settings.worker_heartbeat_ttl
        super().__init__(*args, **kwargs)
        self.maintenance: WorkerMaintenance | None = None

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # Short, and refreshed by the maintenance thread: a dead worker's jobs expire quickly.
        return self.heartbeat_ttl

    def work(self, *args: Any, **kwargs: Any) -> bool:
        settings = self.services.settings
        self.maintenance = WorkerMaintenance(
            self, self.services, self.heartbeat_ttl, settings.worker_maintenance_interval
        )
        self.maintenance.start()
        retention = start_retention_scheduler(
            self.services
        )  # the daily purge; see crashsvc/purge/schedule.py
        try:
            return super().work(*args, **kwargs)
        finally:
            self.maintenance.stop()
            if retention is not None:
                retention.stop()

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Run ``job`` and up to ``batch_size - 1`` more jobs already waiting in ``queue``."""
        if job.func_name != PROCESS_REPORT_JOB:  # follow-up tasks (symbol builds, reprocessing) run alone
            return super().execute_job(job, queue)
        jobs = [job] + self._take_more(queue, self.batch_size - 1)
        batch = self._start(jobs, queue)
        try:
            with self.death_penalty_class(
                job.timeout or self.queue_class.DEFAULT_TIMEOUT, JobTimeoutException, job_id=job.id
            ):
                outcomes = process_reports(self.services, [member.id for member in jobs])
        except Exception as error:  # a timeout or an unexpected error: the whole batch is retried
            log.error("batch_failed", extra={"error_type": type(error).__name__, "reports": len(batch)})
            outcomes = {
                member.id: Outcome(member.id, error=TransientFailure(type(error).__name__)) for member in jobs
            }
        self._finish(batch, queue, outcomes)
        self.set_state(WorkerStatus.IDLE)

    def _take_more(self, queue: Queue, count: int) -> list[Job]:
        """Up to ``count`` more waiting jobs, moved to RQ's intermediate list in one round trip."""
        if count <= 0:
            return []
        pipe = self.connection.pipeline(transaction=False)
        for _ in range(count):
            pipe.lmove(queue.key, queue.intermediate_queue_key)
        job_ids = [job_id.decode() for job_id in pipe.execute() if job_id is not None]
        jobs = self.job_class.fetch_many(job_ids, connection=self.connection, serializer=self.serializer)
        for job_id, fetched in zip(job_ids, jobs, strict=True):
            if fetched is None:  # deleted meanwhile (as RQ's own dequeue skips it)
                self.connection.lrem(queue.intermediate_queue_key, 1, job_id)
        tasks = [
            fetched for fetched in jobs if fetched is not None and fetched.func_name != PROCESS_REPORT_JOB
        ]
        if tasks:  # not reports: back to the front of the queue, each for its own turn
            with self.connection.pipeline() as pipe:
                for task in reversed(tasks):
                    pipe.lrem(queue.intermediate_queue_key, 1, task.id)
                    queue.push_job_id(task.id, pipeline=pipe, at_front=True)
                pipe.execute()
        return [fetched for fetched in jobs if fetched is not None and fetched not in tasks]

    def _start(self, jobs: list[Job], queue: Queue) -> list[tuple[Job, Execution]]:
        """RQ's start bookkeeping (execution, STARTED, out of the intermediate list) for a whole batch."""
        batch = []
        with self.connection.pipeline() as pipe:
            for job in jobs:
                execution = Execution.create(job, self.heartbeat_ttl, pipeline=pipe, worker_name=self.name)
                self.executions[execution.id] = execution
                job.heartbeat(now(), self.heartbeat_ttl, pipeline=pipe)
                job.prepare_for_execution(self.name, pipeline=pipe)
                pipe.persist(job.key)
                pipe.lrem(queue.intermediate_queue_key, 1, job.id)
                batch.append((job, execution))
            self.heartbeat(self.heartbeat_ttl, pipeline=pipe)
            self.set_state(WorkerStatus.BUSY, pipeline=pipe)
            pipe.execute()
        return batch

    def _succeed(self, succeeded: list[tuple[Job, Execution, str]]) -> None:
        """RQ's success bookkeeping (result, FINISHED, registries, counters) for many jobs at once.

        What ``handle_job_success`` does, minus dependents and repeats (report jobs have neither).
        """
        if not succeeded:
            return
        with self.connection.pipeline() as pipe:
            for job, execution, result in succeeded:
                job.ended_at = now()
                job._result = result
                result_ttl = job.get_result_ttl(self.default_result_ttl)
                self.increment_successful_job_count(pipeline=pipe)
                self.increment_total_working_time(job.ended_at - (job.started_at or job.ended_at), pipe)
                job._handle_success(
                    result_ttl,
                    pipeline=pipe,
                    worker_name=self.name,
                    execution_id=execution.id,
                    execution_started_at=execution.created_at,
                    execution_ended_at=job.ended_at,
                )
                job.cleanup(result_ttl, pipeline=pipe, remove_from_queue=False)
                self.cleanup_execution(job, pipeline=pipe, execution=execution)
            pipe.execute()

    def _finish(self, batch: list[tuple[Job, Execution]], queue: Queue, outcomes: dict[str, Outcome]) -> None:
        transient = [
            (job, execution)
            for job, execution in batch
            if isinstance(outcomes[job.id].error, TransientFailure)
        ]
        database_down = bool(transient) and not database_reachable(self.services)
        if database_down:
            self._put_back(transient, queue)
            batch = [member for member in batch if member not in transient]
        self._succeed(
            [
                (job, execution, outcomes[job.id].result or "")
                for job, execution in batch
                if outcomes[job.id].error is None
            ]
        )
        for job, execution in batch:
            outcome = outcomes[job.id]
            if outcome.error is None:
                continue
            if isinstance(outcome.error, TransientFailure):
                metrics.incr(self.connection, "reports_retried_total")
            else:
                job.retries_left = 0  # the report itself failed: straight to the dead letters
            error = outcome.error
            self._finalize_failure(job, queue, execution, (type(error), error, error.__traceback__))
        if database_down:
            self._wait_for_database()

    def _put_back(self, members: list[tuple[Job, Execution]], queue: Queue) -> None:
        """Return jobs to the front of the queue, in order, without spending one of their retries."""
        with self.connection.pipeline() as pipe:
            pipe.multi()  # explicit, so RQ's enqueue joins this transaction instead of opening one
            for job, execution in reversed(members):
                self.cleanup_execution(job, pipeline=pipe, execution=execution)
                queue.enqueue_job(job, pipeline=pipe, at_front=True)
            pipe.execute()
        log.warning("database_unreachable_batch_requeued", extra={"reports": len(members)})

    def _wait_for_database(self) -> None:
        """Take no more jobs until the database answers again (backoff up to DB_RETRY_MAX_DELAY)."""
        delay, longest = 0.5, self.services.settings.db_retry_max_delay
        self.set_state(WorkerStatus.SUSPENDED)
        while not self._stop_requested and not database_reachable(self.services):
            log.warning("database_unreachable_waiting", extra={"retry_in_s": delay})
            time.sleep(delay)
            delay = min(delay * 2, longest)
        log.info("database_reachable_resuming")


def run_worker(burst: bool = False, name: str | None = None, with_scheduler: bool = True) -> bool:
    services = runtime.init()
    connection: Redis = services.redis
    queue = Queue(services.settings.queue_name, connection=connection)
    worker = ReportWorker([queue], connection=connection, name=name)
    return worker.work(burst=burst, with_scheduler=with_scheduler, logging_level=services.settings.log_level)
