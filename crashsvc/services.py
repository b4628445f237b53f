"""Everything a process needs at run time, built once from settings: the web app and the worker share it."""

from __future__ import annotations

from collections.abc import Callable

from redis import Redis

from config.settings import Settings
from crashsvc.auth import IngestKeyCache
from crashsvc.db import Database
from crashsvc.keys import PayloadSealer, derive_key, load_or_create_secrets
from crashsvc.queue import ReportQueue
from crashsvc.spool import Spool


class Services:
    """Settings, secrets, database, Redis and the report queue; nothing connects until used."""

    def __init__(self, settings: Settings):
        if not settings.redis_url:
            raise ValueError(
                "CRASHSVC_REDIS_URL is not set (`crashsvc serve` starts an embedded Valkey and "
                "sets it for its children)"
            )
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.secrets = load_or_create_secrets(settings.data_dir, settings.secret_key, settings.server_key)
        self.sealer = PayloadSealer(derive_key(self.secrets.server_key, "raw-payload"))
        self.delete_key = derive_key(self.secrets.server_key, "delete-token")
        self.db = Database(settings.database_url_resolved)
        self.redis = Redis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
        )
        self.queue = ReportQueue(
            self.redis,
            self.sealer,
            settings.queue_name,
            settings.raw_ttl,
            settings.idempotency_ttl,
            settings.job_timeout,
            settings.job_retries,
            settings.job_retry_backoff,
        )
        self.ingest_keys = IngestKeyCache()
        self._gauges: list[Callable[[], dict[str, tuple[float, str]]]] = []
        # Where accepted reports wait while Redis is unreachable; see crashsvc/spool.py.
        self.spool = Spool(
            settings.spool_path, settings.spool_max_bytes, self.queue, settings.spool_move_interval
        )
        self.add_gauges(self.spool.gauges)
        self.add_gauges(self._queue_gauges)
        if self.spool.stats()[0]:
            self.spool.start_mover()  # reports left by a process that stopped while Redis was down

    def add_gauges(self, source: Callable[[], dict[str, tuple[float, str]]]) -> None:
        self._gauges.append(source)

    def extra_gauges(self) -> dict[str, tuple[float, str]]:
        gauges: dict[str, tuple[float, str]] = {}
        for source in self._gauges:
            gauges.update(source())
        return gauges

    def _queue_gauges(self) -> dict[str, tuple[float, str]]:
        # ZCARD, not the registries' count(): that would run RQ's cleanup from a web request.
        queue = self.queue.queue
        pipe = self.redis.pipeline(transaction=False)
        for registry in (queue.started_job_registry, queue.scheduled_job_registry, queue.failed_job_registry):
            pipe.zcard(registry.key)
        running, scheduled, failed = pipe.execute()
        return {
            "jobs_running": (running, "Report jobs a worker is processing now."),
            "jobs_retry_scheduled": (scheduled, "Jobs waiting for their retry backoff to pass."),
            "dead_letters": (failed, "Jobs that failed for good (see `crashsvc failed list`)."),
            "workers": (self.queue.live_workers(), "Workers alive on the report queue."),
            "oldest_waiting_seconds": (
                round(self.queue.oldest_waiting_seconds(), 3),
                "Seconds the oldest waiting job has waited since it was queued.",
            ),
        }

    def close(self) -> None:
        self.spool.stop_mover()
        self.db.dispose()
        self.redis.close()
