"""`crashsvc serve` (what `make run` starts): embedded Valkey, gunicorn and a worker, stopped by SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(env, *args, stdin: str | None = None) -> str:
    return subprocess.run(
        [sys.executable, "-m", "crashsvc.cli", *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
    except OSError:
        return None, None


def valkey_nice(data_dir: Path) -> int:
    """The nice value of the Valkey server whose command line names ``data_dir``."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = (Path("/proc") / pid / "cmdline").read_bytes()
        except OSError:
            continue
        if b"valkey-server" in cmdline and str(data_dir.resolve()).encode() in cmdline:
            return os.getpriority(os.PRIO_PROCESS, int(pid))
    raise AssertionError("no embedded Valkey process found")


def serve_env(data_dir: Path, port: int, **settings: str) -> dict[str, str]:
    """This process's environment without its CRASHSVC_ settings, plus a data dir, a port and ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CRASHSVC_")}
    env.update(CRASHSVC_DATA_DIR=str(data_dir), CRASHSVC_PORT=str(port), CRASHSVC_WEB_WORKERS="1")
    env.update({f"CRASHSVC_{name}": value for name, value in settings.items()})
    return env


def start_serve(env: dict[str, str], **options) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "crashsvc.cli", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **options,
    )


@pytest.mark.timeout(180)
def test_serve_runs_the_whole_service_and_stops_cleanly(tmp_path):
    data_dir = tmp_path / "var"
    port = free_port()
    env = serve_env(data_dir, port, LOG_LEVEL="WARNING")
    user_email = "ops@example.com"
    cli(env, "users", "create", user_email, "--admin", "--password-stdin", stdin="a long password\n")
    app = json.loads(cli(env, "apps", "create", "Served", "--json"))
    token = json.loads(cli(env, "tokens", "create", "--user", user_email, "--json"))["token"]
    assert app["dsn"] == f"http://{app['ingest_key']}@127.0.0.1:{port}/{app['id']}"

    server = start_serve(env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http("GET", f"{base}/readyz")[0] == 200)
        report = json.loads((ROOT / "tests" / "data" / "ios_crash.json").read_text())
        status, body = http("POST", f"{base}/api/v1/reports", report, {"X-Crashsvc-Key": app["ingest_key"]})
        assert status == 202, body
        auth = {"Authorization": f"Bearer {token}"}
        stored = wait_for(
            lambda: (lambda r: r[1] if r[1] and r[1].get("status") == "processed" else None)(
                http("GET", f"{base}/api/v1/reports/{body['id']}", headers=auth)
            )
        )
        assert stored["group_id"]
        assert (data_dir / "valkey" / "appendonly").is_dir(), "the embedded Valkey persists to an AOF"
        if os.geteuid() == 0:  # where raising a priority is allowed, serve raises Valkey's
            assert valkey_nice(data_dir) == -10
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output[-3000:]
    assert f"crashsvc is running at http://127.0.0.1:{port}" in output
    assert "crashsvc: stopped" in output
    assert "203.0.113.7" not in output and "alice@example.com" not in output


def test_the_procfiles_web_runs_the_same_gunicorn_as_serve():
    """The worker class (slow clients, accept balance, CPU pinning), limits and log format are the
    service's own, wherever it runs; only the address and the worker count are the platform's."""
    import shlex

    from config.settings import load_settings
    from crashsvc.serve import Supervisor

    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    procfile = shlex.split(line.removeprefix("web:"))
    serve = Supervisor(load_settings({}))._web_command()
    serve = serve[serve.index("gunicorn") :]

    def options(command: list[str]) -> dict[str, str]:
        return {
            flag: value
            for flag, value in zip(command, command[1:], strict=False)
            if flag.startswith("--") and flag not in ("--bind", "--workers")
        }

    assert procfile[0] == "gunicorn" and procfile[-1] == serve[-1]
    assert options(procfile) == options(serve)


@pytest.mark.timeout(180)
def test_ctrl_c_stops_every_child_in_order_without_a_traceback(tmp_path):
    # A terminal's Ctrl-C signals its whole foreground process group at once; serve is started
    # in a group of its own here and the group gets SIGINT, as `make run` does in a terminal.
    # Valkey used to get it too and shut down before the workers, which printed the RQ
    # scheduler's connection tracebacks on their way out.
    port = free_port()
    server = start_serve(serve_env(tmp_path / "var", port, WORKERS="2"), start_new_session=True)
    try:
        wait_for(lambda: http("GET", f"http://127.0.0.1:{port}/readyz")[0] == 200)
        time.sleep(2)  # the workers' schedulers are up and holding their locks
    finally:
        os.killpg(server.pid, signal.SIGINT)
        output, _ = server.communicate(timeout=90)
    assert server.returncode == 0, output[-3000:]
    assert "crashsvc: stopped" in output
    assert "Traceback" not in output and "ConnectionError" not in output, output[-3000:]
