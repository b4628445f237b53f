"""Synthetic data for ``bench/ui.py``: an app with N reports in G groups, written with bulk inserts.

Group sizes follow a Zipf-like curve (a few huge groups, a long tail), reports spread over 90 days
weighted to recent ones; the group aggregates (counts, day counts, breakdowns, installs, versions)
are computed while generating so they match the reports exactly, as the worker would leave them.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from crashsvc.auth import hash_password, new_ingest_key
from crashsvc.models import App, Group, Membership, ReportMissingSymbol, User
from crashsvc.models.groups import GroupBreakdown, GroupDayCount, GroupHistory
from crashsvc.models.partitions import insert_report_rows

VERSIONS = ["2.0.0", "2.1.0", "2.2.0", "2.3.0", "2.4.0", "2.4.1", "2.5.0"]
OS = {"cocoa": ("iOS", ["16.7.2", "17.4.1", "17.5.1", "18.0"]), "android": ("Android", ["12", "13", "14"])}
DEVICES = {
    "cocoa": [f"iPhone{n},{m}" for n in (13, 14, 15) for m in (1, 2, 3)],
    "android": [f"Pixel {n}" for n in (6, 7, 8)] + ["SM-S911B", "SM-A546B"],
}
EXCEPTIONS = [
    "EXC_BAD_ACCESS",
    "EXC_CRASH",
    "NSInvalidArgumentException",
    "NSRangeException",
    "java.lang.NullPointerException",
    "java.lang.IllegalStateException",
    "SIGSEGV",
    "SIGABRT",
]
STATUSES = ["unresolved"] * 14 + ["resolved"] * 3 + ["ignored"] * 2 + ["regressed"]
PASSWORD = "bench password 1"
CHUNK = 5000


def _report_data(platform: str, exception: str, message: str, function: str) -> dict[str, Any]:
    frames = [
        {"function": "__pthread_kill", "module": "libsystem_kernel.dylib", "in_app": False},
        {"function": "abort", "module": "libsystem_c.dylib", "in_app": False},
        {"function": function, "module": "MyApp", "filename": "Feature.swift", "lineno": 42, "in_app": True},
        {"function": "UIApplicationMain", "module": "UIKitCore", "in_app": False},
        {"function": "main", "module": "MyApp", "filename": "main.swift", "lineno": 7, "in_app": True},
    ]
    return {
        "platform": platform,
        "exception": {"type": exception, "value": message},
        "threads": [{"id": 0, "name": "main", "crashed": True, "frames": frames}],
        "breadcrumbs": [{"category": "ui.click", "message": "checkout button"}],
    }


def group_sizes(reports: int, groups: int, rng: random.Random) -> list[int]:
    weights = [1 / (rank + 1) ** 0.9 for rank in range(groups)]
    total = sum(weights)
    sizes = [max(1, int(reports * weight / total)) for weight in weights]
    sizes[0] += reports - sum(sizes)  # the remainder (±) goes to the biggest group
    rng.shuffle(sizes)
    return sizes


def populate(engine: Engine, reports: int, groups: int, seed: int = 7) -> dict[str, Any]:
    """Fill an empty, migrated database; returns ids the benchmark needs."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    with engine.begin() as conn:
        app_id = conn.execute(
            insert(App)
            .values(name="Bench app", ingest_key=new_ingest_key(), created_at=now)
            .returning(App.id)
        ).scalar_one()
        user_id = conn.execute(
            insert(User)
            .values(
                email="bench@example.com",
                password_hash=hash_password(PASSWORD),
                is_admin=False,
                created_at=now,
            )
            .returning(User.id)
        ).scalar_one()
        conn.execute(insert(Membership).values(user_id=user_id, app_id=app_id, role="developer"))
    sizes = group_sizes(reports, groups, rng)
    group_rows, platforms = [], []
    for index in range(groups):
        platform = "cocoa" if rng.random() < 0.7 else "android"
        exception = rng.choice(EXCEPTIONS)
        function = f"MyApp.Feature{index % 97}.handler{index}()"
        platforms.append((platform, exception, function))
        group_rows.append(
            {
                "app_id": app_id,
                "algorithm": "sig:1",
                "signature_hash": uuid.uuid4().hex,
                "signature": f"{exception} | {function}",
                "exception_type": exception,
                "exception_value": f"failure {index} in checkout step {index % 13}",
                "platform": platform,
                "status": rng.choice(STATUSES),
            }
        )
    with engine.begin() as conn:
        group_ids = list(conn.execute(insert(Group).returning(Group.id), group_rows).scalars())
    day_counts: dict[tuple[int, Any], int] = Counter()
    breakdowns: dict[tuple[int, str, str], int] = Counter()
    aggregates: dict[int, dict[str, Any]] = defaultdict(dict)
    installs: dict[int, set[str]] = defaultdict(set)
    install_pool = [uuid.uuid4().hex for _ in range(50_000)]
    batch: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    written = 0
    for group_id, size, (platform, exception, function) in zip(group_ids, sizes, platforms, strict=True):
        os_name, os_versions = OS[platform]
        data = json.loads(json.dumps(_report_data(platform, exception, "message", function)))
        for _ in range(size):
            received = now - timedelta(seconds=int(90 * 86400 * rng.random() ** 2))
            version = VERSIONS[min(len(VERSIONS) - 1, int((1 - (now - received).days / 91) * len(VERSIONS)))]
            os_version, device = rng.choice(os_versions), rng.choice(DEVICES[platform])
            install = rng.choice(install_pool)
            report_id = str(uuid.uuid4())
            batch.append(
                {
                    "id": report_id,
                    "app_id": app_id,
                    "group_id": group_id,
                    "received_at": received,
                    "occurred_at": received,
                    "processed_at": received,
                    "platform": platform,
                    "app_version": version,
                    "os_name": os_name,
                    "os_version": os_version,
                    "device_model": device,
                    "exception_type": exception,
                    "exception_value": "message",
                    "install_hash": install,
                    "signature": f"{exception} | {function}",
                    "signature_algorithm": "sig:1",
                    "symbolicated": True,
                    "data": data,
                    "notes": [],
                    "missing_symbols": [],
                    "signature_explanation": [],
                    "processing_attempts": 1,
                }
            )
            if rng.random() < 0.05:
                missing.append(
                    {
                        "report_id": report_id,
                        "symbol_key": f"{rng.randrange(40):08x}-0000-0000-0000-000000000000",
                        "app_id": app_id,
                        "image": f"Framework{rng.randrange(40)}",
                        "type": "macho",
                        "received_at": received,
                    }
                )
            day_counts[(group_id, received.date())] += 1
            for dimension, value in (
                ("app_version", version),
                ("os_name", os_name),
                ("os_version", os_version),
                ("device_model", device),
            ):
                breakdowns[(group_id, dimension, value)] += 1
            agg = aggregates[group_id]
            if "first" not in agg or received < agg["first"][0]:
                agg["first"] = (received, version)
            if "last" not in agg or received > agg["last"][0]:
                agg["last"] = (received, version)
            installs[group_id].add(install)
            if len(batch) >= CHUNK:
                written += _flush(engine, batch, missing)
    written += _flush(engine, batch, missing)
    _write_aggregates(engine, group_ids, sizes, aggregates, installs, day_counts, breakdowns, now)
    return {"app_id": app_id, "group_ids": group_ids, "sizes": sizes, "reports": written}


def _flush(engine: Engine, batch: list[dict[str, Any]], missing: list[dict[str, Any]]) -> int:
    count = len(batch)
    if batch:
        with engine.begin() as conn:
            insert_report_rows(conn, batch)
            if missing:
                conn.execute(insert(ReportMissingSymbol), missing)
    batch.clear()
    missing.clear()
    return count


def _write_aggregates(engine, group_ids, sizes, aggregates, installs, day_counts, breakdowns, now) -> None:
    from sqlalchemy import update

    with engine.begin() as conn:
        for group_id, size in zip(group_ids, sizes, strict=True):
            agg = aggregates[group_id]
            conn.execute(
                update(Group)
                .where(Group.id == group_id)
                .values(
                    count=size,
                    affected_installs=len(installs[group_id]),
                    first_seen=agg["first"][0],
                    last_seen=agg["last"][0],
                    first_version=agg["first"][1],
                    last_version=agg["last"][1],
                )
            )
        rows = [{"group_id": g, "day": d, "count": c} for (g, d), c in day_counts.items()]
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(GroupDayCount), rows[start : start + CHUNK])
        rows = [
            {"group_id": g, "dimension": dim, "value": v, "count": c} for (g, dim, v), c in breakdowns.items()
        ]
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(GroupBreakdown), rows[start : start + CHUNK])
        history = [
            {
                "group_id": g,
                "at": now - timedelta(days=1),
                "action": "regressed",
                "from_status": "resolved",
                "to_status": "regressed",
                "detail": {},
            }
            for g in group_ids[::20]
        ]
        conn.execute(insert(GroupHistory), history)
