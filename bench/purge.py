"""Benchmark: purge half of N reports (floor: 1,000,000 of 2,000,000 in <= 60 s) beside a busy writer.

Data is generated with bulk SQL (a recursive CTE on SQLite, ``generate_series`` on PostgreSQL):
``--reports`` rows over ``--groups`` groups, ``--days`` days, 3 app versions, 4 devices, 5,000
installs and ~500 bytes of JSON each; the group aggregates are built from them with
``INSERT … SELECT … GROUP BY``. Then a writer thread stores reports the way the worker does (one
transaction per report: the row plus ``count_report``) for a few seconds alone (its normal rate)
and again during ``ReportPurger.run`` on the older half; the purge's time, the writer's rate
during it, and the process's RSS (sampled per batch) are printed. Groups are checked afterwards
against a recount (sample). With ``--concurrent http`` the load is HTTP ingestion instead (the
real gunicorn + Valkey under ``wrk``, see ``ingest_server``). The rate alone is measured in
``--alone-windows`` windows before the purge and as many after; every window and the purge print
who had the CPU (cores per role, iowait, steal: ``bench/purge_usage.py``), how busy the disk was,
and Valkey's fsync stalls.

    .venv/bin/python bench/purge.py [--reports 2000000] [--database-url URL] [--batch-size N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from sqlalchemy import event, func, select, text  # noqa: E402

from bench.ingest import WRK_SCRIPT, wait_until_up  # noqa: E402
from bench.purge_usage import UsageProbe, children  # noqa: E402
from config.settings import load_settings  # noqa: E402
from crashsvc.db import Database  # noqa: E402
from crashsvc.groups.counters import count_report  # noqa: E402
from crashsvc.migrate import upgrade_database  # noqa: E402
from crashsvc.models import App, Group, Report  # noqa: E402
from crashsvc.models.groups import BREAKDOWN_DIMENSIONS  # noqa: E402
from crashsvc.models.partitions import daily_name, ensure_report_partitions, insert_report_rows  # noqa: E402
from crashsvc.purge.aggregates import aggregate_drift  # noqa: E402
from crashsvc.purge.reports import PurgeScope, ReportPurger  # noqa: E402
from crashsvc.purge.space import SQLITE_RECLAIM_BUDGET_SECONDS  # noqa: E402
from crashsvc.queue import report_id_for  # noqa: E402
from crashsvc.serve import Supervisor  # noqa: E402
from crashsvc.valkey import EmbeddedValkey  # noqa: E402

# Two layouts of the same reports (``--data``). "time": report i arrives (1 - i / N) * days ago, so
# rows are stored in arrival order as a server stores them. "scattered" (adversarial): report i is
# i % days days old, so the deleted half is spread over every table page.
# Ids as crashsvc.queue.report_id_for makes them: 48 bits of the report's hour (Unix ms), version 8,
# then bits that differ per report (a hash of i, and i itself so that ids stay unique).
SQLITE_AGE_SECONDS = {
    "time": "((:reports - 1 - i) * :days * 86400 / :reports)",
    "scattered": "((i % :days) * 86400 + (i % 1440) * 60)",
}
SQLITE_ID = (
    "printf('%08x-%04x-8%03x-%04x-%012x', {hour_ms} / 65536, {hour_ms} % 65536, "
    "(i * 2654435761) % 4096, 32768 + (i * 40503) % 16384, i)"
)
HOUR_MS = "((:now_epoch - {age_seconds}) / 3600 * 3600000)"  # both backends: integer division
SQLITE_AGE = "'-' || {age_seconds} || ' seconds'"
PG_AGE_SECONDS = {
    "time": "((:reports - 1 - i)::bigint * :days * 86400 / :reports)",
    "scattered": "((i % :days) * 86400 + (i % 1440) * 60)::bigint",
}
PG_ID = (
    "lpad(to_hex({hour_ms} / 65536), 8, '0') || '-' || lpad(to_hex({hour_ms} % 65536), 4, '0') || '-8' "
    "|| lpad(to_hex((i::bigint * 2654435761) % 4096), 3, '0') || '-' "
    "|| to_hex(32768 + (i::bigint * 40503) % 16384) || '-' || lpad(to_hex(i), 12, '0')"
)
PG_AGE = "{age_seconds} * interval '1 second'"
SQLITE_FILL = """
WITH RECURSIVE n(i) AS (SELECT :start UNION ALL SELECT i + 1 FROM n WHERE i < :stop - 1)
INSERT INTO bench_reports (id, app_id, group_id, received_at, processed_at, platform, app_version, os_name,
                     os_version, device_model, install_hash, symbolicated, data, notes, missing_symbols,
                     signature_explanation, processing_attempts)
SELECT {id}, :app, :g0 + (i % :groups),
       strftime('%Y-%m-%d %H:%M:%S', :now, {age}) || '.000000',
       :now, 'cocoa', '1.' || (i % 3), 'iOS', '17.' || (i % 2), 'iPhone' || (i % 4), printf('%064x', i % 5000), 1,
       '{{"n":' || i || ',"pad":"' || :pad || '"}}', '[]', '[]', '[]', 1
FROM n
"""
PG_FILL = """
INSERT INTO reports (id, app_id, group_id, received_at, processed_at, platform, app_version, os_name,
                     os_version, device_model, install_hash, symbolicated, data, notes, missing_symbols,
                     signature_explanation, processing_attempts)
SELECT {id}, :app, :g0 + (i % :groups),
       CAST(:now AS timestamptz) - ({age}),
       CAST(:now AS timestamptz), 'cocoa', '1.' || (i % 3), 'iOS', '17.' || (i % 2), 'iPhone' || (i % 4),
       lpad(to_hex(i % 5000), 64, '0'), true,
       CAST('{{"n":' || i || ',"pad":"' || :pad || '"}}' AS json), '[]', '[]', '[]', 1
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
        for d in BREAKDOWN_DIMENSIONS
    ],
    "UPDATE groups SET count = (SELECT count(*) FROM reports r WHERE r.group_id = groups.id), "
    "affected_installs = (SELECT count(*) FROM group_installs i WHERE i.group_id = groups.id)",
]


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def generate(db: Database, reports: int, groups: int, days: int, layout: str) -> tuple[int, datetime]:
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
    if db.is_sqlite:
        age_seconds = SQLITE_AGE_SECONDS[layout]
        fill = SQLITE_FILL.format(
            id=SQLITE_ID.format(hour_ms=HOUR_MS.format(age_seconds=age_seconds)),
            age=SQLITE_AGE.format(age_seconds=age_seconds),
        )
    else:
        age_seconds = PG_AGE_SECONDS[layout]
        fill = PG_FILL.format(
            id=PG_ID.format(hour_ms=HOUR_MS.format(age_seconds=age_seconds)),
            age=PG_AGE.format(age_seconds=age_seconds),
        )
    day = "substr(received_at, 1, 10)" if db.is_sqlite else "CAST(received_at AT TIME ZONE 'UTC' AS date)"
    stamp = now.strftime("%Y-%m-%d %H:%M:%S") if db.is_sqlite else now.isoformat()
    if db.is_sqlite:  # generated into one plain table, then moved to the days' tables (a view takes no rows)
        with db.transaction() as session:
            session.execute(text("CREATE TABLE bench_reports AS SELECT * FROM reports WHERE 0"))
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
                    "reports": reports,
                    "now": stamp,
                    "now_epoch": int(now.timestamp()),
                    "pad": "x" * 450,
                },
            )
    if db.is_sqlite:
        move_to_days(db)
    with db.transaction() as session:
        for statement in AGGREGATES:
            session.execute(text(statement.format(day=day)))
    # Start from settled files, as a server that has been running would: WAL folded in (SQLite),
    # visibility map and statistics built (PostgreSQL's autovacuum would have done it).
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if db.is_sqlite:  # and without the generation's staging table's free pages
            connection.exec_driver_sql("VACUUM")
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        else:
            connection.exec_driver_sql("VACUUM (ANALYZE)")
    return app_id, now


def move_to_days(db: Database) -> None:
    """SQLite: each generated report into its day's table, in id order (as a server stores them)."""
    columns = ", ".join(column.name for column in Report.__table__.c)
    with db.transaction() as session:
        days = list(session.scalars(text("SELECT DISTINCT substr(received_at, 1, 10) FROM bench_reports")))
        ensure_report_partitions(session.connection(), first_day=min(date.fromisoformat(day) for day in days))
        for day in sorted(days):
            session.execute(
                text(
                    f"INSERT INTO {daily_name(date.fromisoformat(day))} ({columns}) SELECT {columns} "
                    "FROM bench_reports WHERE substr(received_at, 1, 10) = :day ORDER BY id"
                ),
                {"day": day},
            )
        session.execute(text("DROP TABLE bench_reports"))


def existing_bench_app(db: Database) -> tuple[int, datetime]:
    """The app a ``--generate-only`` run left, and the moment its data was generated for (groups' last_seen)."""
    with db.sessions() as session:
        app_id = session.scalar(select(App.id).where(App.name.like("bench-%")).order_by(App.id.desc()))
        now = session.scalar(select(func.max(Group.last_seen)).where(Group.app_id == app_id))
    return app_id, now


def writer(db: Database, app_id: int, stop: threading.Event, counts: list[int]) -> None:
    """Store reports one transaction each, like a worker: the row and its group counters."""
    with db.sessions() as session:
        group_id = session.scalar(select(Group.id).where(Group.app_id == app_id).limit(1))
    while not stop.is_set():
        with db.transaction() as session:
            now = datetime.now(UTC)
            row = {
                "id": report_id_for(app_id, None, None, now),
                "app_id": app_id,
                "group_id": group_id,
                "received_at": now,
                "platform": "cocoa",
                "app_version": "2.0",
                "os_name": "iOS",
                "install_hash": uuid.uuid4().hex,
                "data": {"n": 1},
            }
            insert_report_rows(session, [row])
            count_report(session, group_id, Report(**row))
        counts[0] += 1


@dataclass
class Beside:
    """What runs beside the purge: the HTTP load (None: the store writer), and what watches it."""

    load: Callable[[threading.Event, list[int]], None] | None = None
    probe: UsageProbe = field(default_factory=UsageProbe)
    valkey: Redis | None = None

    def valkey_counters(self) -> dict[str, int]:
        """Valkey: AOF rewrites so far, and the fsync stalls it logged (latency monitor, >= 10 ms)."""
        if self.valkey is None:
            return {}
        info = self.valkey.info("persistence")
        stalls = self.valkey.execute_command("LATENCY", "HISTORY", "aof-fsync-always")
        return {
            "rewrites": int(info.get("aof_rewrites", 0)),
            "stall_seconds": len(stalls),  # at most one sample per second
            "worst_stall_ms": max((int(ms) for _at, ms in stalls), default=0),
        }


@contextmanager
def ingest_server(url: str, ingest_key: str, fsync: str = "always", split: str = "serve") -> Iterator[Beside]:
    """Valkey and gunicorn (2 workers, 4 threads each), on the purge's database; yields an HTTP load.

    The load (``wrk``, 16 connections, ``tests/data/ios_crash.json`` with a fresh id each) runs in
    1-second rounds (at most 1 s of the rate falls after the purge) until its event is set, adding
    accepted (202) reports to ``counts[0]`` and each round's rate to the rest of ``counts``.

    ``split`` "serve": the web command and Valkey priority ``crashsvc serve`` runs (one gunicorn of
    2 slow-client-safe workers, each pinned to a CPU of its own on a 2-core machine, and Valkey at
    ``EMBEDDED_VALKEY_NICE``), 16 connections from one ``wrk``; that worker class accepts only
    while a thread is free, so the split stays even. The figures before 2026-11-29 13:30 UTC used
    the other two:

    ``split``: with one gunicorn of 2 workers ("shared", the figures before 2026-11-29 08:00) the
    workers race to accept each round's 16 new connections on their shared socket, and the split
    lands anywhere from 16/0 to 8/8: a round with every connection on one worker (one GIL, about one
    core) takes about half the rate of an even one, and the rate alone moved between 565 and 976
    reports/s in windows of the same run. "even" (default): two gunicorns of one worker each, on two
    ports, each driven by its own ``wrk`` with 8 of the 16 connections, so every round splits 8/8.
    """
    work = Path(tempfile.mkdtemp(prefix="purge-bench-ingest-"))
    valkey = EmbeddedValkey(
        work / "valkey",
        fsync=fsync,
        nice=load_settings({}).embedded_valkey_nice if split == "serve" else None,
    )
    valkey.start()
    env = dict(
        os.environ,
        CRASHSVC_DATA_DIR=str(work),
        CRASHSVC_DATABASE_URL=url,
        CRASHSVC_REDIS_URL=valkey.url,
        CRASHSVC_RATE_LIMIT_PER_MINUTE="0",
        CRASHSVC_LOG_LEVEL="WARNING",
    )
    ports, workers, per_wrk = (
        ([18766, 18767], "1", ["-t1", "-c8"]) if split == "even" else ([18766], "2", ["-t2", "-c16"])
    )
    webs = []
    for port in ports:
        command = (
            Supervisor(load_settings({"PORT": str(port), "WEB_WORKERS": workers}, environ=env))._web_command()
            if split == "serve"
            else [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", workers,
                  "--worker-class", "gthread", "--threads", "4", "--access-logfile", "/dev/null",
                  "crashsvc.app:create_app()"]
        )  # fmt: skip
        webs.append(subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL))
        # One at a time: two apps starting together on a fresh data dir race to create its
        # secrets file (crashsvc/keys.py), and one of them fails to boot.
        wait_until_up(port)
    report = json.loads((ROOT / "tests" / "data" / "ios_crash.json").read_text())
    report["report_id"] = "REPORT_ID"
    script = work / "post.lua"
    script.write_text(WRK_SCRIPT % {"key": ingest_key, "body": json.dumps(report)})

    def one_round() -> tuple[int, float]:
        started = time.monotonic()
        runs = [
            subprocess.Popen(
                ["wrk", *per_wrk, "-d1s", "-s", str(script), f"http://127.0.0.1:{port}/api/v1/reports"],
                stdout=subprocess.PIPE, text=True,
            )
            for port in ports
        ]  # fmt: skip
        accepted = 0
        for run in runs:
            out = run.communicate()[0]
            if run.returncode:
                raise RuntimeError(f"wrk exited with {run.returncode}")
            requests = int(re.search(r"RESULT (\d+)", out).group(1))
            rejected = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            accepted += requests - (int(rejected.group(1)) if rejected else 0)
        return accepted, accepted / (time.monotonic() - started)

    def load(stop: threading.Event, counts: list[int]) -> None:
        while not stop.is_set():
            accepted, per_second = one_round()
            counts[0] += accepted
            counts.append(per_second)

    client = Redis.from_url(valkey.url)
    try:
        one_round()  # warm-up
        client.config_set("latency-monitor-threshold", 10)
        roles = {
            "web": lambda: [pid for web in webs for pid in (web.pid, *children(web.pid))],
            "valkey": lambda: [valkey.process.pid],
        }
        yield Beside(load, UsageProbe(roles), client)
    finally:
        client.close()
        for web in webs:
            web.terminate()
        for web in webs:
            web.wait(10)
        valkey.stop()


@dataclass
class Phase:
    """One measured stretch: the concurrent rate, and where the CPU, disk and Valkey's fsyncs went."""

    name: str
    rate: float
    usage: str
    rounds: list[float]
    valkey: dict[str, int]

    def line(self, unit: str) -> str:
        text = f"{self.name}: {self.rate:.0f} {unit}"
        if self.rounds:
            ordered = sorted(self.rounds)
            text += (
                f" (1 s rounds: min {ordered[0]:.0f}, median {ordered[len(ordered) // 2]:.0f}, "
                f"max {ordered[-1]:.0f})"
            )
        if self.valkey:
            text += (
                f"; Valkey AOF rewrites {self.valkey['rewrites']}, seconds with an fsync stall >= 10 ms "
                f"{self.valkey['stall_seconds']} (worst {self.valkey['worst_stall_ms']} ms)"
            )
        return f"{text}\n    {self.usage}"


def rate(
    db: Database,
    app_id: int,
    beside: Beside,
    name: str,
    during: Callable[[], Any] | None = None,
    seconds: float = 5.0,
) -> tuple[Phase, Any]:
    """Stores (or, with an HTTP load, reports accepted) per second, alone or while ``during`` runs."""
    stop, counts = threading.Event(), [0]
    if beside.load is None:
        thread = threading.Thread(target=writer, args=(db, app_id, stop, counts))
    else:
        thread = threading.Thread(target=beside.load, args=(stop, counts))
    before = beside.valkey_counters()
    if beside.valkey is not None:
        beside.valkey.execute_command("LATENCY", "RESET")
    first = beside.probe.snapshot()
    thread.start()
    outcome = during() if during else time.sleep(seconds)
    stop.set()
    thread.join()
    last = beside.probe.snapshot()
    after = beside.valkey_counters()
    if after:
        after["rewrites"] -= before["rewrites"]
    phase = Phase(
        name, counts[0] / (last.at - first.at), beside.probe.describe(first, last), counts[1:], after
    )
    return phase, outcome


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=2_000_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--data",
        choices=("time", "scattered"),
        default="time",
        help="Reports stored in arrival order (realistic) or every age on every page.",
    )
    parser.add_argument(
        "--batch-size", type=int, help="Reports per batch (default: the purge's, per backend)."
    )
    parser.add_argument("--database-url")
    parser.add_argument("--pause-ratio", type=float, help="Rest after each batch (fraction of its time).")
    parser.add_argument(
        "--concurrent",
        choices=("store", "http"),
        default="store",
        help="What runs beside the purge: a writer storing reports as the worker does, or HTTP ingestion.",
    )
    parser.add_argument(
        "--reclaim",
        choices=("bounded", "full"),
        default="bounded",
        help="SQLite: return free pages to the file system within the purge's time budget, or all of them.",
    )
    parser.add_argument(
        "--reclaim-budget",
        type=float,
        default=SQLITE_RECLAIM_BUDGET_SECONDS,
        help="SQLite, --reclaim bounded: seconds spent returning free pages.",
    )
    parser.add_argument(
        "--secure-delete",
        choices=("build", "fast"),
        default="build",
        help="SQLite: the purge's connections keep secure_delete=ON (crashsvc/db.py sets it; runs before "
        "9a5434d had Debian's build default, also ON) or use FAST (freed pages keep their old bytes) - "
        "to measure what it costs; FAST is not a crashsvc option.",
    )
    parser.add_argument(
        "--nice", type=int, default=0, help="Lower the purging thread's CPU priority by this."
    )
    parser.add_argument(
        "--alone-windows",
        type=int,
        default=3,
        help="5-second windows of the load alone, before and again after the purge.",
    )
    parser.add_argument(
        "--http-split",
        choices=("serve", "even", "shared"),
        default="serve",
        help="HTTP: crashsvc serve's web command and Valkey priority; two single-worker gthread servers "
        "with 8 connections each; or one 2-worker gthread server (racing to accept).",
    )
    parser.add_argument(
        "--valkey-fsync",
        choices=("always", "everysec", "no"),
        default="always",
        help="HTTP: Valkey's appendfsync (always, as crashsvc serve; the others only to tell disk from CPU).",
    )
    stage = parser.add_mutually_exclusive_group()
    stage.add_argument(
        "--generate-only",
        action="store_true",
        help="Build the data into --database-url and stop (a template to copy for timed runs).",
    )
    stage.add_argument(
        "--existing",
        action="store_true",
        help="Purge data a --generate-only run left in --database-url (a copy: it is changed).",
    )
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='purge-bench-')}/bench.sqlite3"
    db = Database(url)
    if args.secure_delete == "fast" and db.is_sqlite:
        event.listen(db.engine, "connect", lambda raw, _record: raw.execute("PRAGMA secure_delete=FAST"))
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}"
    )
    if args.existing:
        app_id, now = existing_bench_app(db)
        with db.sessions() as session:
            total = session.scalar(select(func.count()).select_from(Report).where(Report.app_id == app_id))
        print(f"{db.engine.dialect.name}: {total:,} reports generated for {now:%Y-%m-%d %H:%M}; {machine}")
    else:
        upgrade_database(url)
        with db.engine.begin() as connection:  # the days of the data, as a running service has them
            ensure_report_partitions(
                connection, first_day=(datetime.now(UTC) - timedelta(days=args.days + 1)).date()
            )
        started = time.monotonic()
        app_id, now = generate(db, args.reports, args.groups, args.days, args.data)
        print(
            f"{db.engine.dialect.name}: {args.reports:,} reports ({args.data}) generated in "
            f"{time.monotonic() - started:.0f} s; {machine}"
        )
        if args.generate_only:
            return
    with db.sessions() as session:
        ingest_key = session.scalar(select(App.ingest_key).where(App.id == app_id))
    if args.concurrent == "http":
        with ingest_server(url, ingest_key, args.valkey_fsync, args.http_split) as beside:
            purge(db, app_id, now, args, beside)
    else:
        purge(db, app_id, now, args, Beside())
    db.dispose()


def purge(db: Database, app_id: int, now: datetime, args: argparse.Namespace, beside: Beside) -> None:
    unit = "HTTP reports accepted/s" if beside.load else "stores/s"
    load_before = os.getloadavg()
    # The rate alone drifts on a shared machine (843-1,176 HTTP reports/s between runs minutes
    # apart): it is measured in several windows before the purge and as many after, and the rate
    # during the purge is compared with their mean (the spread is printed beside it).
    alone = [rate(db, app_id, beside, f"alone before {i + 1}")[0] for i in range(args.alone_windows)]
    samples: list[float] = []
    purger = ReportPurger(
        db,
        actor="bench",
        batch_size=args.batch_size,
        pause_ratio=args.pause_ratio,
        reclaim_budget=None if args.reclaim == "full" else args.reclaim_budget,
        progress=lambda _app, _n: samples.append(rss_mib()),
    )
    # Both layouts: those older than days / 2 (half of them) go.
    scope = PurgeScope(older_than=timedelta(days=args.days / 2) - timedelta(seconds=1))

    def run() -> Any:
        if args.nice:
            os.nice(args.nice)  # Linux: this thread only (the writer thread keeps its priority)
        return purger.run(scope, 90, now=now)

    during, result = rate(db, app_id, beside, "during the purge", run)
    alone += [rate(db, app_id, beside, f"alone after {i + 1}")[0] for i in range(args.alone_windows)]
    for phase in alone[: args.alone_windows] + [during] + alone[args.alone_windows :]:
        print(phase.line(unit))
    rates = [phase.rate for phase in alone]
    normal_mean = sum(rates) / len(rates)
    before_mean = sum(rates[: args.alone_windows]) / args.alone_windows
    after_mean = sum(rates[args.alone_windows :]) / args.alone_windows
    space = result.space
    print(
        f"purged {result.total:,} reports in {result.batches} batches of {purger.batch_size} "
        f"({result.days_dropped} of them whole days dropped): "
        f"{result.seconds:.1f} s total = {result.seconds - result.rest_seconds - result.reclaim_seconds:.1f} s "
        f"deleting + {result.rest_seconds:.1f} s resting + {result.reclaim_seconds:.1f} s reclaiming space "
        f"({space.reclaimed / 1024**2 if space else 0:,.0f} MiB returned to the OS, {space.note if space else ''}; "
        f"pause ratio {purger.pause_ratio}, reclaim {args.reclaim})"
    )
    if space is not None and space.free_before_reclaim is not None:
        print(
            f"free inside the database after deleting: {space.free_before_reclaim / 1024**2:,.0f} MiB; "
            f"still free after the reclaim: {(space.free_after or 0) / 1024**2:,.0f} MiB"
        )
    print(
        f"{args.concurrent}: {before_mean:.0f} {unit} alone before, {after_mean:.0f} alone after "
        f"(windows {min(rates):.0f}-{max(rates):.0f}), {during.rate:.0f} during the purge "
        f"(**{during.rate / normal_mean:.0%} of the mean alone**, {during.rate / before_mean:.0%} of before); "
        f"purge nice +{args.nice}, secure_delete {args.secure_delete}; HTTP split {args.http_split if beside.load else '-'}, "
        f"Valkey appendfsync {args.valkey_fsync if beside.load else '-'}"
    )
    print(
        f"RSS per batch: first {samples[0]:.0f} MiB, max {max(samples):.0f} MiB, last {samples[-1]:.0f} MiB"
    )
    load_after = os.getloadavg()
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    with db.sessions() as session:
        ids = list(session.scalars(select(Group.id).where(Group.app_id == app_id).limit(5)))
        drift = {gid: aggregate_drift(session, gid) for gid in ids}
    print("aggregates equal a recount (5 groups):", not any(drift.values()))


if __name__ == "__main__":
    main()
