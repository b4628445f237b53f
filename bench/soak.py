"""Soak: mixed native and Sentry-envelope traffic at a fraction of peak ingest, with two workers.

Starts a `crashsvc serve`-like setup on loopback only (embedded Valkey, gunicorn with the serve
flags, two `crashsvc worker` processes, SQLite) in a temporary directory. It first measures peak
ingest for a few seconds, then sends ``--load`` (default 70 %) of it for ``--minutes`` minutes,
sampling queue depth and the workers' resident memory every 10 s. At the end it waits for the
queue to drain and checks that every accepted report is stored exactly once. Bounded in count
and time; stops by itself.

    .venv/bin/python bench/soak.py --minutes 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select  # noqa: E402

from config.settings import load_settings  # noqa: E402
from crashsvc.migrate import upgrade_database  # noqa: E402
from crashsvc.models import App, Group, Report  # noqa: E402
from crashsvc.serve import Supervisor  # noqa: E402
from crashsvc.valkey import EmbeddedValkey, _free_port  # noqa: E402

REPORT = json.loads((ROOT / "tests" / "data" / "ios_crash.json").read_text())


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Traffic:
    """Alternates native reports and Sentry envelopes; remembers the ids answered 2xx."""

    def __init__(self, base: str, app_id: int, key: str):
        self.base, self.app_id, self.key = base, app_id, key
        self.accepted: set[str] = set()
        self.refused = 0
        self.lock = threading.Lock()

    def send_one(self, session: requests.Session, envelope: bool) -> None:
        client_id = str(uuid.uuid4())
        if envelope:
            event = {
                "event_id": client_id.replace("-", ""),
                "platform": "python",
                "level": "fatal",
                "tags": {"crash_reports.opt_in": "true"},
                "exception": {
                    "values": [
                        {
                            "type": "KeyError",
                            "value": "avatar",
                            "stacktrace": {
                                "frames": [{"function": "load_profile", "filename": "app.py", "lineno": 12}]
                            },
                        }
                    ]
                },
            }
            header = json.dumps({"event_id": event["event_id"]})
            payload = json.dumps(event)
            body = f'{header}\n{{"type":"event","length":{len(payload)}}}\n{payload}\n'
            response = session.post(
                f"{self.base}/api/{self.app_id}/envelope/",
                data=body,
                headers={"X-Sentry-Auth": f"Sentry sentry_key={self.key}"},
                timeout=30,
            )
            ok_id = client_id if response.status_code == 200 else None
        else:
            report = dict(REPORT, report_id=client_id)
            response = session.post(
                f"{self.base}/api/v1/reports", json=report, headers={"X-Crashsvc-Key": self.key}, timeout=30
            )
            ok_id = response.json()["id"] if response.status_code in (200, 202) else None
        with self.lock:
            if ok_id:
                self.accepted.add(ok_id)
            else:
                self.refused += 1

    def run(self, rate: float | None, seconds: float, threads: int = 4) -> int:
        """Send for ``seconds`` (as fast as possible when ``rate`` is None); returns requests sent."""
        deadline = time.monotonic() + seconds
        sent = [0]

        def loop(index: int) -> None:
            session = requests.Session()
            started = time.monotonic()
            count = 0
            while time.monotonic() < deadline:
                self.send_one(session, envelope=(count + index) % 2 == 1)
                count += 1
                if rate:
                    wait = started + count / (rate / threads) - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
            with self.lock:
                sent[0] += count

        workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        return sent[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--load", type=float, default=0.7, help="fraction of the measured peak ingest rate")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crashsvc-soak-") as tmp:
        soak(Path(tmp), args.minutes, args.load)


def soak(tmp: Path, minutes: float, load: float) -> None:
    valkey = EmbeddedValkey(tmp / "valkey")
    valkey.start()
    database_url = f"sqlite:///{tmp / 'crashsvc.sqlite3'}"
    upgrade_database(database_url)
    port = _free_port()
    env = dict(
        os.environ,
        CRASHSVC_DATA_DIR=str(tmp / "data"),
        CRASHSVC_REDIS_URL=valkey.url,
        CRASHSVC_DATABASE_URL=database_url,
        CRASHSVC_RATE_LIMIT_PER_MINUTE="0",
        CRASHSVC_LOG_LEVEL="WARNING",
        CRASHSVC_PORT=str(port),
        CRASHSVC_HOST="127.0.0.1",
    )
    settings = load_settings(environ=env)
    engine = create_engine(database_url)
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        app = App(name="soak", ingest_key=uuid.uuid4().hex)
        session.add(app)
        session.flush()
        app_id, key = app.id, app.ingest_key
    supervisor = Supervisor(settings)
    log = open(tmp / "processes.log", "wb")  # noqa: SIM115 - closed in finally
    web = subprocess.Popen(supervisor._web_command(), env=env, stdout=log, stderr=log)
    workers = [
        subprocess.Popen(supervisor._worker_command(i), env=env, stdout=log, stderr=log) for i in range(2)
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        traffic = Traffic(base, app_id, key)
        peak = traffic.run(None, 10) / 10
        rate = peak * load
        print(
            f"{platform.node()}: {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}; "
            f"peak ingest {peak:.0f} req/s, soaking at {rate:.0f} req/s for {minutes} min"
        )
        samples: list[tuple[float, int, list[float]]] = []
        stop = threading.Event()

        def sample() -> None:
            from redis import Redis

            redis = Redis.from_url(valkey.url)
            while not stop.wait(10):
                depth = redis.llen(f"rq:queue:{settings.queue_name}")
                samples.append((time.monotonic(), depth, [rss_mb(w.pid) for w in workers]))
                print(
                    f"  queue depth {depth:6d}   worker RSS MB {', '.join(f'{m:.0f}' for m in samples[-1][2])}"
                )

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        traffic.run(rate, minutes * 60)
        stop.set()
        deadline = time.monotonic() + 600
        with Session(engine) as session:
            while time.monotonic() < deadline:
                stored = session.scalar(select(func.count()).select_from(Report))
                if stored >= len(traffic.accepted):
                    break
                time.sleep(1)
            stored_ids = set(session.scalars(select(Report.id)))
            counted = session.scalar(select(func.coalesce(func.sum(Group.count), 0)))
        print(
            f"accepted {len(traffic.accepted)}, refused {traffic.refused}, stored {len(stored_ids)}, "
            f"group counts {counted}, max queue depth {max((s[1] for s in samples), default=0)}, "
            f"worker RSS first/last MB {samples[0][2] if samples else '-'} / {samples[-1][2] if samples else '-'}"
        )
        # Every request carried a new client id, so accepted == stored == counted means exactly once.
        exactly_once = len(traffic.accepted) == len(stored_ids) == counted
        print("every accepted report stored exactly once:", exactly_once)
        if not exactly_once:
            raise SystemExit(1)
    finally:
        for process in [web, *workers]:
            process.terminate()
        for process in [web, *workers]:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
        valkey.stop()


if __name__ == "__main__":
    main()
