"""Slow clients: gunicorn's threaded worker with a kernel receive/send timeout on every connection.

gunicorn's ``gthread`` worker only waits a bounded time for a connection's *first* bytes; once a
request has started, its thread reads from a blocking socket with no timeout, so a client that
sends half a request and stops (slow-loris) holds one of the few threads for ever. Setting
``SO_RCVTIMEO``/``SO_SNDTIMEO`` on each accepted socket bounds every wait: a stalled read fails
after ``CLIENT_READ_TIMEOUT`` seconds, gunicorn drops the connection (or, mid-body, the ingest
endpoint answers 408 ``request_timeout``), and the thread serves others again.

This bounds each *gap*, not a whole request: a client trickling one byte per gap is bounded only
by the header and body size limits. Behind an internet-facing proxy (nginx ``client_body_timeout``)
that case is the proxy's job; see docs/operations.md.

The worker also accepts a new connection only while one of its threads is free. gunicorn's workers
share one listening socket and race to accept; a worker whose threads were all busy still accepted,
and kept-alive connections stay where they land, so a burst of persistent connections (a proxy's
upstream pool, a load generator) could all end up on one worker, behind one GIL, while the others
idled: about half the requests/s (docs/performance.md). Left in the listen backlog instead, a new
connection goes to a worker with a free thread, or waits there no longer than it would have waited
in a busy worker's queue.

When the web workers fill the machine, each is pinned to a CPU of its own (crashsvc/cpu_pinning.py).
"""

from __future__ import annotations

import os
import socket
import struct

from gunicorn.workers.gthread import ThreadWorker

from config.settings import parse_cpu_affinity
from crashsvc.cpu_pinning import pin_web_worker

DEFAULT_TIMEOUT = 15.0


def set_socket_timeouts(sock: socket.socket, seconds: float) -> None:
    """Kernel-level timeouts: unlike ``settimeout`` they survive gunicorn's ``setblocking(True)``."""
    whole = int(seconds)
    value = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


class SlowClientSafeWorker(ThreadWorker):
    """``gthread`` whose connections time out when the client stops sending or reading."""

    def init_process(self) -> None:
        self.client_timeout = float(os.environ.get("CRASHSVC_CLIENT_READ_TIMEOUT") or DEFAULT_TIMEOUT)
        mode = parse_cpu_affinity(os.environ.get("CRASHSVC_WEB_CPU_AFFINITY") or "auto")
        cpu = pin_web_worker(mode, self.cfg.workers, self.age, self.ppid)
        if cpu is not None:
            self.log.info("web worker %s pinned to CPU %s (WEB_CPU_AFFINITY=%s)", self.pid, cpu, mode)
        self.requests_in_threads = 0  # handed to the pool and not finished; main thread only
        super().init_process()

    def enqueue_req(self, conn) -> None:  # type: ignore[no-untyped-def]
        set_socket_timeouts(conn.sock, self.client_timeout)
        self.requests_in_threads += 1
        if self.requests_in_threads >= self.cfg.threads:
            super().set_accept_enabled(False)  # every thread is taken: leave new connections to others
        super().enqueue_req(conn)

    def finish_request(self, conn, fs) -> None:  # type: ignore[no-untyped-def]
        self.requests_in_threads -= 1
        super().finish_request(conn, fs)

    def set_accept_enabled(self, enabled: bool) -> None:
        # gunicorn's loop asks for accepting whenever it is below worker_connections; it is
        # granted only while a thread is free (re-asked after each finished request).
        super().set_accept_enabled(enabled and self.requests_in_threads < self.cfg.threads)
