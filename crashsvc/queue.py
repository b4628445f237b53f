"""The one module the web side uses to hand reports to the worker.

A report is queued as two things written in one Redis transaction: its sealed (encrypted) raw
payload under its own key with a TTL, and an RQ job that carries only the report id. The job is
named by string, so the web code never imports worker internals.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hiredis
import zstandard
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.utils import utcformat, utcparse
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

from crashsvc import metrics
from crashsvc.ingest.schema import parse_time
from crashsvc.keys import PayloadSealer

PROCESS_REPORT_JOB = "workers.jobs.process_report"
BUILD_SYMCACHES_JOB = "workers.symbol_jobs.build_symcaches"
REPROCESS_REPORT_JOB = "workers.reprocess.reprocess_report"
TASK_RETRY_INTERVAL = [5, 30, 120, 600]  # follow-up tasks: a failed SymCache build or reprocess
RAW_PREFIX = "crashsvc:raw:"
SEEN_PREFIX = "crashsvc:seen:"
ACCEPT_SCRIPT = Path(__file__).with_name("accept_report.lua")
ID_NAMESPACE = uuid.UUID("6f1c1f0e-3d3a-4c6e-9b59-4f0f6c1e2a11")

# zstandard's (de)compressor objects are not thread-safe (gunicorn runs threads), and building one
# per call costs more than the compression itself: one per thread.
_codecs = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    if not hasattr(_codecs, "compressor"):
        _codecs.compressor = zstandard.ZstdCompressor(level=1)
    return _codecs.compressor


def _decompressor() -> zstandard.ZstdDecompressor:
    if not hasattr(_codecs, "decompressor"):
        _codecs.decompressor = zstandard.ZstdDecompressor()
    return _codecs.decompressor


HOUR_MS = 3_600_000


def report_id_for(app_id: int, client_report_id: str | None, crash_time: Any, received_at: datetime) -> str:
    """Server id of a report: in time order, and the same for every resend of a client's report.

    Why time order: the id is the reports' primary key and a purge deletes the oldest reports.
    With random ids every deleted row's key sat on a different page of the key index, so each
    purge batch rewrote most of that index; in time order a batch's keys share their pages (the
    purge's CPU fell by a third, docs/performance.md, Purge). Inserts append, too.

    Layout (an RFC 9562 version-8 UUID): 48 bits of Unix milliseconds, *truncated to the hour*
    (the anonymizer stores the crash time to the hour, so the id tells nothing the stored report
    does not), then 74 bits of a hash of (app, client id): a resend carries the same id and
    timestamp, so it gets the same server id. Without a client id: the hour of arrival and random
    bits. With a client id but no usable ``timestamp``: the version-5 id of earlier releases.
    """
    if client_report_id:
        hour_ms = crash_hour_ms(crash_time)
        if hour_ms is None:
            return str(uuid.uuid5(ID_NAMESPACE, f"{app_id}:{client_report_id.lower()}"))
        tail = hashlib.sha256(f"{app_id}:{client_report_id.lower()}".encode()).digest()[:10]
    else:
        hour_ms = int(received_at.timestamp() * 1000) // HOUR_MS * HOUR_MS
        tail = os.urandom(10)
    raw = bytearray(hour_ms.to_bytes(6, "big") + tail)
    raw[6] = 0x80 | (raw[6] & 0x0F)  # version 8
    raw[8] = 0x80 | (raw[8] & 0x3F)  # RFC 9562 variant
    return str(uuid.UUID(bytes=bytes(raw)))


def crash_hour_ms(crash_time: Any) -> int | None:
    """A validated report ``timestamp`` as the Unix ms of its hour (the hour the anonymizer stores)."""
    when = parse_time(crash_time)
    if when is None:
        return None
    milliseconds = int(when.timestamp() * 1000)
    if not 0 <= milliseconds < 2**48:
        return None
    return milliseconds // HOUR_MS * HOUR_MS


@dataclass(frozen=True)
class RawReport:
    report_id: str
    app_id: int
    received_at: datetime
    report: dict[str, Any]


class ReportQueue:
    """Queues report ids (RQ) with their sealed payloads, and reads them back in the worker."""

    def __init__(
        self,
        redis: Redis,
        sealer: PayloadSealer,
        queue_name: str,
        raw_ttl: int,
        idempotency_ttl: int,
        job_timeout: int,
        job_retries: int,
        retry_backoff: list[int] | None = None,
    ):
        self.redis = redis
        self.sealer = sealer
        self.queue = Queue(queue_name, connection=redis)
        self.raw_ttl = raw_ttl
        self.idempotency_ttl = idempotency_ttl
        self.job_timeout = job_timeout
        self.job_retries = job_retries
        self._accept_script = redis.register_script(ACCEPT_SCRIPT.read_text())
        self.retry_backoff = retry_backoff or [5, 30, 120, 600, 1800]
        self._template: EnqueueTemplate | None | bool = (
            False  # False: not built yet; None: RQ's layout not understood
        )
        self._template_lock = threading.Lock()
        self._own = threading.local()  # each web thread's own connection for the accept

    # -- the web side -------------------------------------------------------------------------
    def seal(self, report_id: str, app_id: int, received_at: datetime, report_json: bytes) -> bytes:
        header = json.dumps({"app_id": app_id, "received_at": received_at.isoformat()}).encode()
        return self.sealer.seal(_compressor().compress(header + b"\n" + report_json), report_id)

    def accept(
        self, report_id: str, sealed: bytes, check_duplicate: bool, rate_key: str = "", rate_limit: int = 0
    ) -> int:
        """Queue a sealed report in one atomic round trip: 1 accepted, 0 a resend, -1 rate-limited.

        A Lua script checks the rate limit and the idempotency marker, stores the raw payload and
        replays RQ's own enqueue commands, so a report is either fully queued or not at all, a
        resend never queues a second job, and with ``appendfsync always`` one request costs one
        fsync group instead of one per command.
        """
        command = self.accept_command(report_id, sealed, check_duplicate, rate_key, rate_limit)
        try:
            return int(self._call_on_own_connection(*command))
        except NoScriptError:  # a restarted or flushed server: load it and go on
            key_count = command[2]
            keys, args = command[3 : 3 + key_count], command[3 + key_count :]
            return int(self._accept_script(keys=keys, args=args))

    def accept_command(
        self, report_id: str, sealed: bytes, check_duplicate: bool, rate_key: str = "", rate_limit: int = 0
    ) -> tuple:
        """The accept as one ``EVALSHA`` command (see ``accept_report.lua`` for its layout).

        EVALSHA directly: redis-py's Script wrapper and command helpers (argument copies,
        deprecation checks) cost a measurable share of the edge's own time per report.
        """
        keys = (
            rate_key or "crashsvc:rate:none",
            SEEN_PREFIX + report_id,
            RAW_PREFIX + report_id,
            metrics.COUNTERS_KEY,
        )
        args: list = [
            rate_limit,
            120,
            "1" if check_duplicate else "0",
            self.idempotency_ttl,
            sealed,
            self.raw_ttl,
        ]
        for command in self._rq_enqueue_commands(report_id):
            args.append(len(command))
            args.extend(command)
        return ("EVALSHA", self._accept_script.sha, len(keys), *keys, *args)

    def _call_on_own_connection(self, *command: Any) -> Any:
        """Send one command on this thread's own pooled connection, past redis-py's client layer.

        Why: ``Redis.execute_command`` (pool checkout and release, the retry wrapper, the
        operation-duration instrumentation) costs ~80 µs of CPU per call on this service's hosts,
        three times the send and the parse themselves, and the accept is on every report's path
        (docs/performance.md, Ingest). A broken or timed-out connection is dropped and the command
        goes through ``execute_command`` once, so the client's reconnects, retries and errors
        stay what callers see.
        """
        own = self._own
        connection = getattr(own, "connection", None)
        if connection is None or own.pid != os.getpid():  # a forked child must not share its parent's socket
            own.connection, own.pid = self.redis.connection_pool.get_connection(), os.getpid()
            connection = own.connection
        try:
            # hiredis packs the ~60 arguments in C; redis-py's packer first copies them in a
            # generator (~30 µs per accept). Both produce the same RESP bytes.
            connection.send_packed_command([hiredis.pack_command(command)])
            return connection.read_response()
        except (RedisConnectionError, RedisTimeoutError, OSError):
            connection.disconnect()
            return self.redis.execute_command(*command)

    def enqueue(self, report_id: str, sealed: bytes, check_duplicate: bool) -> bool:
        """Queue without a rate limit (the spool mover); False when it was a resend."""
        return self.accept(report_id, sealed, check_duplicate) == 1

    def _rq_enqueue_commands(self, report_id: str) -> list[tuple]:
        """The commands RQ would send to enqueue this job: from a per-process template when RQ's
        output for a probe job matches it, else recorded from RQ itself for this job."""
        template = self._enqueue_template()
        if template is not None:
            return template.render(report_id)
        return self._record_rq_enqueue_commands(report_id)

    def _enqueue_template(self) -> EnqueueTemplate | None:
        if self._template is False:
            with self._template_lock:
                if self._template is False:
                    self._template = EnqueueTemplate.build(
                        self._record_rq_enqueue_commands, self.queue.serializer
                    )
        return self._template  # type: ignore[return-value]

    def _record_rq_enqueue_commands(self, report_id: str) -> list[tuple]:
        """The commands RQ would send to enqueue this job, recorded from a pipeline never executed.

        RQ stays the authority on its own data layout (job hash, queue list, queue set); the
        foundation tests run real RQ workers on jobs queued this way, so a change in RQ that
        breaks this shows up there.
        """
        recorder = self.redis.pipeline(transaction=True)
        recorder.multi()
        self.queue.enqueue_job(self._job(report_id), pipeline=recorder)
        commands = [args for args, _options in recorder.command_stack if args[0] not in ("MULTI", "EXEC")]
        recorder.reset()
        return commands

    def _job(self, report_id: str) -> Job:
        retry = Retry(max=self.job_retries, interval=self.retry_backoff) if self.job_retries else None
        return self.queue.create_job(
            PROCESS_REPORT_JOB,
            args=(report_id,),
            job_id=report_id,
            timeout=self.job_timeout,
            result_ttl=600,
            failure_ttl=self.raw_ttl,
            retry=retry,
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
        return self.open_raw(report_id, self.redis.get(RAW_PREFIX + report_id))

    def fetch_raw(self, report_ids: list[str]) -> list[bytes | None]:
        """The sealed payloads of many reports in one round trip (None where gone)."""
        return self.redis.mget([RAW_PREFIX + report_id for report_id in report_ids]) if report_ids else []

    def open_raw(self, report_id: str, sealed: bytes | None) -> RawReport | None:
        """Unseal and parse a payload from ``fetch_raw``; raises if it cannot be opened."""
        if sealed is None:
            return None
        plain = _decompressor().decompress(
            self.sealer.open(sealed, report_id), max_output_size=64 * 1024 * 1024
        )
        header, _, body = plain.partition(b"\n")
        meta = json.loads(header)
        return RawReport(
            report_id=report_id,
            app_id=int(meta["app_id"]),
            received_at=datetime.fromisoformat(meta["received_at"]).astimezone(UTC),
            report=json.loads(body),
        )

    def delete_raw(self, report_id: str) -> None:
        self.redis.delete(RAW_PREFIX + report_id)

    def depth(self) -> int:
        return self.queue.count

    def oldest_waiting_seconds(self) -> float:
        """How long the job at the head of the queue has waited since it was (re)queued; 0 when none.

        Why a gauge of it: a payload waits at most ``RAW_TTL`` unless a worker renews it, so a queue
        that nobody consumes must page someone long before that (docs/operations.md).
        """
        head = self.redis.lindex(self.queue.key, 0)
        enqueued_at = self.redis.hget(Job.key_for(head.decode()), "enqueued_at") if head else None
        if not enqueued_at:
            return 0.0
        return max(
            0.0, (datetime.now(UTC) - utcparse(enqueued_at.decode()).replace(tzinfo=UTC)).total_seconds()
        )

    def live_workers(self) -> int:
        """Workers registered on the report queue whose heartbeat key has not expired.

        RQ's own ``Worker.count`` counts registrations, which a killed worker leaves behind until a
        worker cleans them; EXISTS counts only the keys a heartbeat keeps alive, and changes nothing.
        """
        registered = list(self.redis.smembers(WORKERS_BY_QUEUE_KEY % self.queue.name))
        return int(self.redis.exists(*registered)) if registered else 0

    def enqueue_task(self, job_name: str, *args: Any, description: str = "", pipeline: Any = None) -> str:
        """Queue a follow-up job (symbol builds, reprocessing) by name on the report queue; its id.

        Tasks share the report queue so every worker runs them; like report jobs they take ids and
        are idempotent, so the retries declared here are safe.
        """
        retry = Retry(max=self.job_retries, interval=TASK_RETRY_INTERVAL) if self.job_retries else None
        job = self.queue.enqueue_call(
            job_name,
            args=args,
            timeout=self.job_timeout,
            result_ttl=600,
            failure_ttl=self.raw_ttl,
            retry=retry,
            description=description or job_name,
            pipeline=pipeline,
        )
        return job.id


class EnqueueTemplate:
    """RQ's enqueue commands for a report job, recorded once per process with slots for what varies.

    Building RQ's ``Job`` and recording its pipeline for every report cost about as much as
    validating it. The only things that differ between two report jobs are the id (in the job key,
    the queue push and the description), the pickled call in ``data`` and the two timestamps, so
    the template fills exactly those. ``build`` proves the template against RQ's own output for a
    second probe id and returns None when they differ (a new RQ with another layout): the queue
    then records every job from RQ as before, slower but never wrong.
    """

    PROBES = ("00000000-0000-4000-8000-00000000a11a", "00000000-0000-4000-8000-00000000b22b")
    TIMESTAMP_FIELDS = frozenset({"created_at", "enqueued_at"})

    def __init__(self, commands: list[tuple], probe: str, serializer: Any):
        self.serializer = serializer
        self.parts: list[tuple[tuple, list[tuple[int, str]]]] = []  # (command, [(arg index, slot)])
        for command in commands:
            slots: list[tuple[int, str]] = []
            for index, arg in enumerate(command):
                field = (
                    _text(command[index - 1])
                    if command[0] == "HSET" and index >= 3 and index % 2 == 1
                    else None
                )
                text = _text(arg)
                if field in self.TIMESTAMP_FIELDS:
                    slots.append((index, "now"))
                elif field == "data":
                    slots.append((index, "data"))
                elif text == f"rq:job:{probe}":
                    slots.append((index, "job_key"))
                elif text == probe:
                    slots.append((index, "id"))
                elif text == f"process report {probe}":
                    slots.append((index, "description"))
                elif text is not None and probe in text:
                    raise ValueError(f"the probe id appears where the template has no slot: {command[0]}")
            self.parts.append((command, slots))

    @classmethod
    def build(cls, record: Callable[[str], list[tuple]], serializer: Any) -> EnqueueTemplate | None:
        first, second = cls.PROBES
        try:
            template = cls(record(first), first, serializer)
            expected = record(second)
            rendered = template.render(second)
        except (ValueError, TypeError, AttributeError):
            return None
        return template if cls._same_but_time(expected, rendered) else None

    @classmethod
    def _same_but_time(cls, expected: list[tuple], rendered: list[tuple]) -> bool:
        if len(expected) != len(rendered):
            return False
        for want, got in zip(expected, rendered, strict=True):
            if len(want) != len(got):
                return False
            for index, (a, b) in enumerate(zip(want, got, strict=True)):
                field = (
                    _text(want[index - 1]) if want[0] == "HSET" and index >= 3 and index % 2 == 1 else None
                )
                if field in cls.TIMESTAMP_FIELDS:
                    if len(str(a)) != len(str(b)):
                        return False
                elif a != b:
                    return False
        return True

    def render(self, report_id: str) -> list[tuple]:
        values = {
            "job_key": f"rq:job:{report_id}",
            "id": report_id,
            "description": f"process report {report_id}",
            "now": utcformat(datetime.now(UTC)),
        }
        commands = []
        for command, slots in self.parts:
            if not slots:
                commands.append(command)
                continue
            args = list(command)
            for index, slot in slots:
                if slot == "data":
                    args[index] = zlib.compress(
                        self.serializer.dumps((PROCESS_REPORT_JOB, None, (report_id,), {}))
                    )
                else:
                    args[index] = values[slot]
            commands.append(tuple(args))
        return commands


def _text(value: Any) -> str | None:
    """A command argument as text, or None when it is not text (pickled data, numbers)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return None
    return None
