"""End-to-end worker throughput: queued 40-frame iOS reports → anonymize, symbolicate, group, store.

Runs on loopback only, in a temporary directory: its own embedded Valkey (append-only,
``appendfsync always`` like `crashsvc serve`) and SQLite, or a fresh PostgreSQL database per batch
size (``--postgres``: a server URL; the database is created and dropped), with as many past days'
tables (partitions) as a service keeping ``--past-days`` of reports has. Prints reports/s for one worker
process at each batch size asked for. The stages measured are whatever ``workers.pipeline.STAGES``
holds.

    .venv/bin/python bench/pipeline.py --reports 3000 --batch-sizes 1,50
    .venv/bin/python bench/pipeline.py --batch-sizes 50 --postgres postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rq import Queue  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from config.settings import load_settings  # noqa: E402
from crashsvc.migrate import upgrade_database  # noqa: E402
from crashsvc.models import App, Report  # noqa: E402
from crashsvc.models.partitions import ensure_report_partitions  # noqa: E402
from crashsvc.valkey import EmbeddedValkey  # noqa: E402
from workers import pipeline, runtime  # noqa: E402
from workers.worker import ReportWorker  # noqa: E402


def enqueue(services, app_id: int, report: dict, count: int) -> None:
    received_at = datetime.now(UTC)
    for _ in range(count):
        body = copy.deepcopy(report)
        body["report_id"] = str(uuid.uuid4())
        report_id = str(uuid.uuid4())
        sealed = services.queue.seal(report_id, app_id, received_at, json.dumps(body).encode())
        services.queue.enqueue(report_id, sealed, check_duplicate=False)


@contextmanager
def database(workdir: Path, batch_size: int, postgres: str | None, past_days: int) -> Iterator[str]:
    """A new database for one run: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if not postgres:
        url = f"sqlite:///{workdir / f'bench-{batch_size}.sqlite3'}"
        upgrade_database(url)
        engine = create_engine(url)
        with engine.begin() as connection:  # the days' tables behind the view, as on PostgreSQL
            ensure_report_partitions(
                connection, first_day=datetime.now(UTC).date() - timedelta(days=past_days)
            )
        engine.dispose()
        yield url
        return
    name = f"crashsvc_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{postgres.rpartition('/')[0]}/{name}"
    try:
        upgrade_database(url)
        engine = create_engine(url)
        with engine.begin() as connection:
            ensure_report_partitions(
                connection, first_day=datetime.now(UTC).date() - timedelta(days=past_days)
            )
        engine.dispose()
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(
    reports: int, batch_size: int, workdir: Path, postgres: str | None = None, past_days: int = 0
) -> tuple[float, float]:
    """(reports/s wall, CPU ms per report of this process) for one worker draining ``reports``."""
    runtime.reset()
    valkey = EmbeddedValkey(workdir / f"valkey-{batch_size}")
    valkey.start()
    try:
        with database(workdir, batch_size, postgres, past_days) as database_url:
            return _drain(reports, batch_size, workdir, valkey, database_url)
    finally:
        runtime.reset()
        valkey.stop()


def _drain(reports: int, batch_size: int, workdir: Path, valkey: EmbeddedValkey, database_url: str):
    try:
        settings = load_settings(
            {
                "DATA_DIR": str(workdir / "data"),
                "REDIS_URL": valkey.url,
                "DATABASE_URL": database_url,
                "LOG_LEVEL": "WARNING",
                "WORKER_BATCH_SIZE": str(batch_size),
            }
        )
        services = runtime.init(settings)
        with services.db.transaction() as session:
            app = App(name="bench", ingest_key=uuid.uuid4().hex)
            session.add(app)
            session.flush()
            app_id = app.id
        report = json.loads((ROOT / "tests" / "data" / "ios_crash.json").read_text())
        enqueue(services, app_id, report, min(200, reports))  # warm-up: caches, first group
        queue = Queue(settings.queue_name, connection=services.redis)
        ReportWorker([queue], connection=services.redis).work(burst=True, logging_level="WARNING")
        enqueue(services, app_id, report, reports)
        started, started_cpu = time.perf_counter(), time.process_time()
        ReportWorker([queue], connection=services.redis).work(burst=True, logging_level="WARNING")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        with services.db.sessions() as session:
            stored = session.scalar(select(func.count()).select_from(Report))
        expected = min(200, reports) + reports
        if stored != expected:
            raise SystemExit(f"stored {stored} reports, expected {expected}")
        return reports / elapsed, cpu * 1000 / reports
    finally:
        runtime.reset()


def _fixed_signature(ctx) -> None:
    ctx.signature, ctx.signature_algorithm, ctx.signature_hash = "bench", "sig:0", "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=3000)
    parser.add_argument("--batch-sizes", default="1,50")
    parser.add_argument(
        "--store-only",
        action="store_true",
        help="replace every stage but store by a trivial signature: the worker's own ceiling",
    )
    parser.add_argument("--postgres", help="PostgreSQL server URL (any database): run there, not on SQLite")
    parser.add_argument(
        "--past-days", type=int, default=90, help="the tables (partitions) of that many past days exist"
    )
    args = parser.parse_args()
    if args.store_only:
        pipeline.STAGES = [("group", _fixed_signature), *[s for s in pipeline.STAGES if s[0] == "store"]]
    stages = ", ".join(f"{name}={stage.__module__}.{stage.__name__}" for name, stage in pipeline.STAGES)
    # CPU time beside wall time: the 2-core machine is shared, wall time includes waiting for a core.
    print(
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d}, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"stages: {stages}")
    with tempfile.TemporaryDirectory(prefix="crashsvc-bench-") as tmp:
        for batch_size in (int(value) for value in args.batch_sizes.split(",")):
            rate, cpu = run(args.reports, batch_size, Path(tmp), args.postgres, args.past_days)
            print(
                f"batch size {batch_size:>3}: {rate:7.1f} reports/s, CPU {cpu:.2f} ms/report "
                f"(one worker process, {args.reports} reports, "
                f"{'PostgreSQL, ' + str(args.past_days) + ' past days' if args.postgres else 'SQLite'}; "
                f"load average now {os.getloadavg()[0]:.1f})"
            )


if __name__ == "__main__":
    main()
