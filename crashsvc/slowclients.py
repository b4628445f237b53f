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
"""

from __future__ import annotations

import os
import socket
import struct

from gunicorn.workers.gthread import ThreadWorker

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
        super().init_process()

    def enqueue_req(self, conn) -> None:  # type: ignore[no-untyped-def]
        set_socket_timeouts(conn.sock, self.client_timeout)
        super().enqueue_req(conn)
