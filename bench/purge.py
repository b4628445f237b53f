"""Benchmark: purge half of N reports (floor: 1,000,000 of 2,000,000 in <= 60 s) beside a busy writer.

Data is generated with bulk SQL (a recursive CTE on SQLite, ``generate_series`` on PostgreSQL):
``--reports`` rows over ``--groups`` groups, ``--days`` days, 3 app versions, 4 devices, 5,000
installs and ~500 bytes of JSON each; the group aggregates are built from them with
``INSERT … SELECT … GROUP BY``. Then a writer thread stores reports the way the worker does (one
transaction per report: the row plus ``count_report``) for a few seconds alone (its normal rate)
and again during ``ReportPurger.run`` on the older half; the purge's time, the writer's rate
during it, and the process's RSS (sampled per batch) are printed. Groups are checked afterwards
against a recount (sample).

    .venv/bin/python bench/purge.py [--reports 2000000] [--database-url URL] [--batch-size 20000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402

from crashsvc.db import Database  # noqa: E402
from crashsvc.groups.counters import count_report  # noqa: E402
from crashsvc.migrate import upgrade_database  # noqa: E402
from crashsvc.models import App, Group, Report  # noqa: E402
from crashsvc.purge.aggregates import aggregate_drift  # noqa: E402
from crashsvc.purge.reports import PurgeScope, ReportPurger  # noqa: E402

SQLITE_FILL = """
WITH RECURSIVE n(i) AS (SELECT :start UNION ALL SELECT i + 1 FROM n WHERE i < :stop - 1)
INSERT INTO reports (id, app_id, group_id, received_at, processed_at, platform, app_version, os_version,
                     device_model, install_hash, symbolicated, data, notes, missing_symbols,
                     signature_explanation, processing_attempts)
SELECT printf('%08x-0000-4000-8000-%012x', i, i), :app, :g0 + (i % :groups),
       strftime('%Y-%m-%d %H:%M:%S', :now, '-' || (i % :days) || ' days', '-' || (i % 1440) || ' minutes')
         || '.000000',
       :now, 'cocoa', '1.' || (i % 3), '17.' || (i % 2), 'iPhone' || (i % 4), printf('%064x', i % 5000), 1,
       '{"n":' || i || ',"pad":"' || :pad || '"}', '[]', '[]', '[]', 1
FROM n
"""
PG_FILL = """
INSERT INTO reports (id, app_id, group_id, received_at, processed_at, platform, app_version, os_version,
                     device_model, install_hash, symbolicated, data, notes, missing_symbols,
                     signature_explanation, processing_attempts)
SELECT lpad(to_hex(i), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), :app, :g0 + (i % :groups),
       CAST(:now AS timestamptz) - (i % :days) * interval '1 day' - (i % 1440) * interval '1 minute',
       CAST(:now AS timestamptz), 'cocoa', '1.' || (i % 3), '17.' || (i % 2), 'iPhone' || (i % 4),
       lpad(to_hex(i % 5000), 64, '0'), true,
       CAST('{"n":' || i || ',"pad":"' || :pad || '"}' AS json), '[]', '[]', '[]', 1
FROM generate_series(:start, :stop - 1) AS i
"""
AGGREGATES = [
    "INSERT INTO group_day_counts (group_id, day, count) SELECT group_id, {day}, count(*) FROM reports "
    "GROUP BY group_id, {day}",
    "INSERT INTO group_installs (group_id, install_hash, count) SELECT group_id, install_hash, count(*) "
    "FROM reports GROUP BY group_id, install_hash",
    *[
        f"INSERT INTO group_breakdowns (group_id, dimension, value, count) SELECT group_id, '{d}', {d}, count(*) "
        f"FROM reports GROUP BY group_id, {d}"
        for d in ("app_version", "os_version", "device_model")
    ],
    "UPDATE groups SET count = (SELECT count(*) FROM reports r WHERE r.group_id = groups.id), "
    "affected_installs = (SELECT count(*) FROM group_installs i WHERE i.group_id = groups.id)",
]


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def generate(db: Database, reports: int, groups: int, days: int) -> int:
    now = datetime.now(UTC)
    with db.transaction() as session:
        app = App(name=f"bench-{uuid.uuid4().hex[:6]}", ingest_key=uuid.uuid4().hex)
        session.add(app)
        session.flush()
        rows = [
            Group(
                app_id=app.id,
                algorithm="sig:1",
                signature_hash=uuid.uuid4().hex,
                signature=f"g{i}",
                count=0,
                affected_installs=0,
                first_seen=now - timedelta(days=days),
                last_seen=now,
            )
            for i in range(groups)
        ]
        session.add_all(rows)
        session.flush()
        app_id, g0 = app.id, rows[0].id
    fill = SQLITE_FILL if db.is_sqlite else PG_FILL
    day = "substr(received_at, 1, 10)" if db.is_sqlite else "CAST(received_at AT TIME ZONE 'UTC' AS date)"
    stamp = now.strftime("%Y-%m-%d %H:%M:%S") if db.is_sqlite else now.isoformat()
    chunk = 200_000
    for start in range(0, reports, chunk):
        with db.transaction() as session:
            session.execute(
                text(fill),
                {
                    "start": start,
                    "stop": min(start + chunk, reports),
                    "app": app_id,
                    "g0": g0,
                    "groups": groups,
                    "days": days,
                    "now": stamp,
                    "pad": "x" * 450,
                },
            )
    with db.transaction() as session:
        for statement in AGGREGATES:
            session.execute(text(statement.format(day=day)))
    return app_id


def writer(db: Database, app_id: int, stop: threading.Event, counts: list[int]) -> None:
    """Store reports one transaction each, like a worker: the row and its group counters."""
    with db.sessions() as session:
        group_id = session.scalar(select(Group.id).where(Group.app_id == app_id).limit(1))
    while not stop.is_set():
        with db.transaction() as session:
            report = Report(
                id=str(uuid.uuid4()),
                app_id=app_id,
                group_id=group_id,
                received_at=datetime.now(UTC),
                platform="cocoa",
                app_version="2.0",
                install_hash=uuid.uuid4().hex,
                data={"n": 1},
            )
            session.add(report)
            session.flush()
            count_report(session, group_id, report)
        counts[0] += 1


def rate(
    db: Database, app_id: int, during: callable | None = None, seconds: float = 5.0
) -> tuple[float, object]:
    stop, counts = threading.Event(), [0]
    thread = threading.Thread(target=writer, args=(db, app_id, stop, counts))
    started = time.monotonic()
    thread.start()
    outcome = during() if during else time.sleep(seconds)
    stop.set()
    thread.join()
    return counts[0] / (time.monotonic() - started), outcome


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=2_000_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--database-url")
    parser.add_argument("--pause-ratio", type=float, help="Rest after each batch (fraction of its time).")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='purge-bench-')}/bench.sqlite3"
    upgrade_database(url)
    db = Database(url)
    started = time.monotonic()
    app_id = generate(db, args.reports, args.groups, args.days)
    print(
        f"{db.engine.dialect.name}: {args.reports:,} reports generated in {time.monotonic() - started:.0f} s; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}"
    )
    normal, _ = rate(db, app_id)
    samples: list[float] = []
    purger = ReportPurger(
        db,
        actor="bench",
        batch_size=args.batch_size,
        pause_ratio=args.pause_ratio,
        progress=lambda _app, _n: samples.append(rss_mib()),
    )
    # received_at = now - (i % days) days - (i % 1440) minutes: those with i % days >= days / 2 go.
    scope = PurgeScope(older_than=timedelta(days=args.days // 2) - timedelta(seconds=1))
    during, result = rate(db, app_id, lambda: purger.run(scope, 90))
    print(
        f"purged {result.total:,} reports in {result.batches} batches of {args.batch_size}: "
        f"{result.seconds:.1f} s total (space: {result.space.reclaimed / 1024**2 if result.space else 0:,.0f} MiB "
        f"reclaimed, {result.space.note if result.space else ''})"
    )
    print(
        f"writer: {normal:.0f} stores/s alone, {during:.0f} stores/s during the purge ({during / normal:.0%})"
    )
    print(
        f"RSS per batch: first {samples[0]:.0f} MiB, max {max(samples):.0f} MiB, last {samples[-1]:.0f} MiB"
    )
    with db.sessions() as session:
        ids = list(session.scalars(select(Group.id).where(Group.app_id == app_id).limit(5)))
        drift = {gid: aggregate_drift(session, gid) for gid in ids}
    print("aggregates equal a recount (5 groups):", not any(drift.values()))
    db.dispose()


if __name__ == "__main__":
    main()
