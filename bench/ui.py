"""Benchmark: the triage pages server-side with 1,000,000 reports in 10,000 groups.

Floors (p95, server-side: the Flask app called in-process, template rendering included, no network):
group list (any filter, first page) and group detail ≤ 150 ms; app overview ≤ 300 ms.

The data is generated straight into the database with bulk inserts (``bench/ui_data.py``), on a
fresh SQLite file and/or a fresh PostgreSQL database (created and dropped here). Then a signed-in
developer's session requests each page ``--runs`` times after one warm-up request.

    .venv/bin/python bench/ui.py [--reports 1000000] [--groups 10000] [--runs 20]
        [--sqlite] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Exits non-zero when a p95 is above its floor. Figures go to docs/performance.md (## UI).
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.ui_data import PASSWORD, populate  # noqa: E402
from crashsvc.db import make_engine  # noqa: E402
from crashsvc.migrate import upgrade_database  # noqa: E402
from crashsvc.valkey import EmbeddedValkey  # noqa: E402

FLOORS_MS = {"list": 150, "detail": 150, "overview": 300}


def scenarios(app_id: int, group_ids: list[int], sizes: list[int]) -> list[tuple[str, str, list[str]]]:
    """(kind, label, paths): each path is requested round-robin, ``runs`` times in all."""
    base = f"/apps/{app_id}/groups"
    biggest = [group for _, group in sorted(zip(sizes, group_ids, strict=True), reverse=True)[:5]]
    typical = group_ids[:: max(1, len(group_ids) // 15)][:15]
    return [
        ("list", "default (last seen)", [base]),
        ("list", "sort=count", [f"{base}?sort=count"]),
        ("list", "sort=affected_installs", [f"{base}?sort=affected_installs"]),
        ("list", "sort=first_seen", [f"{base}?sort=first_seen"]),
        ("list", "status=resolved", [f"{base}?status=resolved"]),
        ("list", "search 'checkout step 7'", [f"{base}?q=checkout+step+7"]),
        ("list", "search (no match)", [f"{base}?q=zzzz-no-such"]),
        ("list", "app_version=2.3.0", [f"{base}?app_version=2.3.0"]),
        ("list", "os_version=17.5.1", [f"{base}?os_version=17.5.1"]),
        ("list", "os_name=Android", [f"{base}?os_name=Android"]),
        ("list", "platform=android", [f"{base}?platform=android"]),
        ("list", "last 7 days", [f"{base}?since={{since7}}"]),
        (
            "list",
            "all filters",
            [f"{base}?status=unresolved&app_version=2.5.0&platform=cocoa&q=EXC&sort=count"],
        ),
        ("list", "page 20", [f"{base}?page=20"]),
        ("detail", "largest groups", [f"/groups/{group}" for group in biggest]),
        ("detail", "typical groups", [f"/groups/{group}" for group in typical]),
        ("overview", "overview", [f"/apps/{app_id}"]),
    ]


def sign_in(client) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": "bench@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.status_code


def measure(app, paths_by_scenario, runs: int) -> list[dict]:
    from datetime import timedelta

    from crashsvc.models.base import utcnow

    since7 = (utcnow().date() - timedelta(days=6)).isoformat()
    client = app.test_client()
    sign_in(client)
    results = []
    for kind, label, paths in paths_by_scenario:
        paths = [path.replace("{since7}", since7) for path in paths]
        for path in paths:  # warm-up: first request per path (the overview: until its snapshot exists)
            started = time.perf_counter()
            while (status := client.get(path).status_code) == 202:
                time.sleep(0.5)
            assert status == 200, path
            if kind == "overview":
                print(
                    f"  first overview snapshot ready after {time.perf_counter() - started:.1f} s", flush=True
                )
        timings = []
        for run in range(runs):
            path = paths[run % len(paths)]
            start = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, path
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(round(0.95 * len(timings))) - 1)]
        results.append(
            {
                "kind": kind,
                "label": label,
                "median": statistics.median(timings),
                "p95": p95,
                "floor": FLOORS_MS[kind],
            }
        )
    return results


def existing(engine) -> dict | None:
    """The ids of data a previous run left (``--reuse``), or None when the database is empty."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, app_id, count FROM groups ORDER BY id")).all()
    if not rows:
        return None
    return {
        "app_id": rows[0].app_id,
        "group_ids": [row.id for row in rows],
        "sizes": [row.count for row in rows],
        "reports": sum(row.count for row in rows),
    }


def run_backend(name: str, url: str, args, valkey_url: str, data_dir: Path) -> list[dict]:
    from crashsvc.app import create_app

    upgrade_database(url)
    engine = make_engine(url)
    start = time.perf_counter()
    info = existing(engine) if args.reuse else None
    info = info or populate(engine, args.reports, args.groups)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    print(
        f"[{name}] generated {info['reports']:,} reports in {len(info['group_ids']):,} groups "
        f"in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    app = create_app(
        {"DATABASE_URL": url, "REDIS_URL": valkey_url, "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"}
    )
    try:
        return measure(app, scenarios(info["app_id"], info["group_ids"], info["sizes"]), args.runs)
    finally:
        app.extensions["crashsvc"].close()


def report(name: str, results: list[dict]) -> bool:
    ok = True
    print(f"\n{name}: p95 / median in ms (floor)")
    for row in results:
        passed = row["p95"] <= row["floor"]
        ok &= passed
        print(
            f"  {row['kind']:8} {row['label']:28} p95 {row['p95']:7.1f}  median {row['median']:7.1f}  "
            f"(≤ {row['floor']}) {'ok' if passed else 'OVER'}"
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sqlite", action="store_true", help="run on a fresh SQLite file")
    parser.add_argument(
        "--postgres", metavar="ADMIN_URL", help="run on a fresh database created through this URL"
    )
    parser.add_argument(
        "--sqlite-file", type=Path, help="keep the SQLite database here (not in a temporary folder)"
    )
    parser.add_argument("--reuse", action="store_true", help="measure the data already in --sqlite-file")
    args = parser.parse_args()
    if not args.sqlite and not args.postgres:
        args.sqlite = True
    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, Python {platform.python_version()}, "
        f"{args.reports:,} reports / {args.groups:,} groups, {args.runs} runs per scenario",
        flush=True,
    )
    ok = True
    with tempfile.TemporaryDirectory(prefix="crashsvc-bench-ui-") as tmp:
        tmp_path = Path(tmp)
        valkey = EmbeddedValkey(tmp_path / "valkey", fsync="everysec")
        valkey.start()
        try:
            if args.sqlite:
                url = f"sqlite:///{args.sqlite_file or tmp_path / 'bench.sqlite3'}"
                ok &= report("SQLite", run_backend("sqlite", url, args, valkey.url, tmp_path / "data-sqlite"))
            if args.postgres:
                name = f"crashsvc_bench_{uuid.uuid4().hex[:8]}"
                admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                try:
                    url = f"{args.postgres.rpartition('/')[0]}/{name}"
                    ok &= report(
                        "PostgreSQL", run_backend("postgresql", url, args, valkey.url, tmp_path / "data-pg")
                    )
                finally:
                    with admin.connect() as conn:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    admin.dispose()
        finally:
            valkey.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
