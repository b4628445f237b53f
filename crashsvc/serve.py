"""`crashsvc serve` (and `make run`): the whole service in the foreground, stopped by one Ctrl-C.

Starts, in order: the embedded Valkey (unless CRASHSVC_REDIS_URL is set), migrations, gunicorn
and the workers. A worker that dies is restarted; SIGINT/SIGTERM stop every child cleanly: the web
and the workers first, Valkey last. Each child runs in a process group of its own, so a terminal's
Ctrl-C reaches the supervisor only (``crashsvc.valkey.supervised_child``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from config.settings import Settings
from crashsvc.migrate import upgrade_database
from crashsvc.valkey import EmbeddedValkey, supervised_child

# Gunicorn's access log without the client address (%(h)s) or user agent: crashsvc never logs them.
ACCESS_LOG_FORMAT = '{"ts":"%(t)s","method":"%(m)s","path":"%(U)s","status":%(s)s,"bytes":%(B)s,"ms":%(M)s}'


class Supervisor:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.valkey: EmbeddedValkey | None = None
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = False

    def _env(self, redis_url: str) -> dict[str, str]:
        env = dict(os.environ)
        env["CRASHSVC_REDIS_URL"] = redis_url
        env["CRASHSVC_DATA_DIR"] = str(self.settings.data_dir.resolve())
        env["CRASHSVC_CLIENT_READ_TIMEOUT"] = str(self.settings.client_read_timeout)
        env["CRASHSVC_WEB_CPU_AFFINITY"] = self.settings.web_cpu_affinity
        return env

    def _web_command(self) -> list[str]:
        s = self.settings
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"{s.host}:{s.port}",
            "--workers",
            str(s.web_workers),
            "--worker-class",
            "crashsvc.slowclients.SlowClientSafeWorker",
            "--threads",
            "4",
            "--timeout",
            "30",
            "--graceful-timeout",
            "10",
            "--limit-request-field_size",
            "16384",
            "--access-logfile",
            "-",
            "--access-logformat",
            ACCESS_LOG_FORMAT,
            "crashsvc.app:create_app()",
        ]

    def _worker_command(self, index: int) -> list[str]:
        return [sys.executable, "-m", "crashsvc.cli", "worker", "--name", f"crashsvc-{os.getpid()}-{index}"]

    def run(self) -> int:
        data_dir = self.settings.data_dir.resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        redis_url = self.settings.redis_url
        if not redis_url:
            self.valkey = EmbeddedValkey(
                data_dir / "valkey", nice=self.settings.embedded_valkey_nice, supervised=True
            )
            self.valkey.start()
            redis_url = self.valkey.url
        upgrade_database(self.settings.database_url_resolved)
        env = self._env(redis_url)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        self.children["web"] = subprocess.Popen(self._web_command(), env=env, **supervised_child())
        for index in range(self.settings.workers):
            self.children[f"worker-{index}"] = subprocess.Popen(
                self._worker_command(index), env=env, **supervised_child()
            )
        self._announce(redis_url)
        try:
            while not self.stopping:
                time.sleep(0.5)
                for name, child in list(self.children.items()):
                    if child.poll() is not None and not self.stopping:
                        if name == "web":
                            print("crashsvc: web server exited; stopping", file=sys.stderr)
                            self.stopping = True
                            break
                        print(f"crashsvc: {name} exited ({child.returncode}); restarting", file=sys.stderr)
                        self.children[name] = subprocess.Popen(
                            self._worker_command(int(name.split("-")[1])), env=env, **supervised_child()
                        )
        finally:
            self._shutdown()
        return 0

    def _stop(self, _signum, _frame) -> None:
        self.stopping = True

    def _shutdown(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for child in self.children.values():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        if self.valkey is not None:
            self.valkey.stop()
        print("crashsvc: stopped", file=sys.stderr)

    def _announce(self, redis_url: str) -> None:
        url = self.settings.public_url
        where = "embedded Valkey" if self.valkey else redis_url.split("@")[-1]
        print(
            f"""
crashsvc is running at {url}  (queue: {where}; data: {self.settings.data_dir})

Next steps, in another terminal (from this directory):
  .venv/bin/crashsvc users create you@example.com --admin
  .venv/bin/crashsvc apps create "My App" --json          # prints the ingest key and the Sentry DSN
  .venv/bin/crashsvc tokens create --user you@example.com --scopes read,write,symbols

Stop with Ctrl-C.
""",
            flush=True,
        )
