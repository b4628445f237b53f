"""Slow-loris against the real gunicorn command of `crashsvc serve`: stalled clients are cut off."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import time

import pytest

from config.settings import load_settings
from crashsvc.serve import Supervisor
from tests.factories import Factory

STALLED = 10  # more than the 4 threads of the single gunicorn worker


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def _wait_until_healthy(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    """Wait for the web server on ``port`` to answer /healthz; raise if it exits or times out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if _get(port, "/healthz") == 200:
                return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.1)


def _serve_web_command(app, port: int, web_workers: int, **env: str) -> tuple[list[str], dict[str, str]]:
    """The gunicorn command `crashsvc serve` would run for this test app's data, and its environment."""
    settings = app.extensions["crashsvc"].settings
    environ = dict(
        os.environ,
        CRASHSVC_DATA_DIR=str(settings.data_dir),
        CRASHSVC_REDIS_URL=settings.redis_url,
        CRASHSVC_DATABASE_URL=settings.database_url_resolved,
        CRASHSVC_LOG_LEVEL="WARNING",
        **{f"CRASHSVC_{key}": value for key, value in env.items()},
    )
    serve = Supervisor(load_settings({"PORT": str(port), "WEB_WORKERS": str(web_workers)}, environ=environ))
    return serve._web_command(), environ


@pytest.fixture
def gunicorn(make_app, tmp_path):
    app = make_app()
    port = _free_port()
    command, env = _serve_web_command(app, port, 1, RATE_LIMIT_PER_MINUTE="0", CLIENT_READ_TIMEOUT="1")
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    _wait_until_healthy(port, process)
    yield port, Factory(app)
    process.terminate()
    process.wait(20)
    log.close()


def _stall(port: int, partial: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(partial)
    return sock


@pytest.mark.fault
def test_stalled_requests_do_not_tie_up_the_server(gunicorn):
    port, factory = gunicorn
    key = factory.app_row().ingest_key
    half_headers = b"POST /api/v1/reports HTTP/1.1\r\nHost: crashsvc\r\nX-Crashsvc-Key: "
    half_body = (
        f"POST /api/v1/reports HTTP/1.1\r\nHost: crashsvc\r\nX-Crashsvc-Key: {key}\r\n"
        'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"opt_in": true, '
    ).encode()
    stalled = [_stall(port, half_headers if index % 2 else half_body) for index in range(STALLED)]
    try:
        # Other clients are served although every thread was handed a stalled request.
        assert _get(port, "/healthz") == 200
        body = json.dumps(factory.report()).encode()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request(
            "POST",
            "/api/v1/reports",
            body=body,
            headers={"X-Crashsvc-Key": key, "Content-Type": "application/json"},
        )
        assert connection.getresponse().status == 202
        connection.close()
        # The server gave up on each stalled request (closed it, or answered 408 mid-body).
        for sock in stalled:
            sock.settimeout(30)
            answer = sock.recv(4096)
            assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:80]
    finally:
        for sock in stalled:
            sock.close()
    assert factory.services.queue.depth() == 1, "only the complete report was queued"


@pytest.mark.fault
def test_64_kib_header_is_refused_and_the_server_keeps_serving(gunicorn):
    port, factory = gunicorn
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        sock.sendall(
            b"POST /api/v1/reports HTTP/1.1\r\nHost: crashsvc\r\nX-Crashsvc-Key: "
            + b"k" * (64 * 1024)
            + b"\r\nContent-Length: 2\r\n\r\n{}"
        )
        answer = sock.recv(4096)
    finally:
        sock.close()
    assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431")), answer[:80]
    assert _get(port, "/healthz") == 200
    assert factory.services.queue.depth() == 0
