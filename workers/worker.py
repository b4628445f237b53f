"""The report worker: an RQ worker that runs jobs in its own process (no fork per job).

RQ's default worker forks a work horse for every job (~47 jobs/s here); processing a report is
short and the worker's caches (SymCaches, the app's services) are what make it fast, so jobs run
in-process like ``SimpleWorker``. A crash of the process is handled by RQ's started-job registry:
another worker's maintenance re-queues jobs whose worker died.
"""

from __future__ import annotations

from redis import Redis
from rq import Queue, SimpleWorker

from workers import runtime


class ReportWorker(SimpleWorker):
    """SimpleWorker that builds the process's services once before the first job."""


def run_worker(burst: bool = False, name: str | None = None, with_scheduler: bool = True) -> bool:
    services = runtime.init()
    connection: Redis = services.redis
    queue = Queue(services.settings.queue_name, connection=connection)
    worker = ReportWorker([queue], connection=connection, name=name)
    return worker.work(burst=burst, with_scheduler=with_scheduler, logging_level=services.settings.log_level)
