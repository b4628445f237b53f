"""Helpers for purge tests: reports through the real pipeline, bulk rows, aging, consistency checks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from crashsvc.models import Group, Report
from crashsvc.models.partitions import insert_report_rows, update_reports
from crashsvc.purge.aggregates import aggregate_drift, recount_group


def post_reports(
    client: Any, factory: Any, app_row: Any, count: int, *, kinds: int = 3
) -> list[dict[str, Any]]:
    """Post ``count`` reports spread over ``kinds`` exception types, installs and versions; the answers."""
    answers = []
    for index in range(count):
        report = factory.report(report_id=str(uuid.uuid4()))
        report["exception"] = dict(report["exception"], type=f"EXC_KIND_{index % kinds}")
        report["threads"][0]["frames"][-1]["function"] = f"crash_site_{index % kinds}"
        report["app"] = dict(report["app"], version=f"2.{index % 2}")
        report["user"] = {"id": f"install-{index % 5}"}
        response = client.post("/api/v1/reports", json=report, headers={"X-Crashsvc-Key": app_row.ingest_key})
        assert response.status_code == 202, response.get_json()
        answers.append(response.get_json())
    return answers


def age_reports(db: Any, report_ids: list[str], days: float) -> None:
    """Make reports look ``days`` older, then recount their groups so aggregates match (like real old data)."""
    with db.transaction() as session:
        received = {
            row.id: row.received_at
            for row in session.execute(select(Report.id, Report.received_at).where(Report.id.in_(report_ids)))
        }
        for report_id, moment in received.items():
            update_reports(session, Report.id == report_id, {"received_at": moment - timedelta(days=days)})
        groups = set(session.scalars(select(Report.group_id).where(Report.id.in_(report_ids))))
        for group_id in groups:
            recount_group(session, group_id)


def bulk_reports(db: Any, app_id: int, count: int, *, groups: int = 4, days: int = 30) -> list[int]:
    """Insert ``count`` minimal reports with plain SQL (fast), spread over groups, days and installs."""
    now = datetime.now(UTC)
    with db.transaction() as session:
        group_ids = []
        for index in range(groups):
            group = Group(
                app_id=app_id,
                algorithm="sig:1",
                signature_hash=uuid.uuid4().hex,
                signature=f"bulk_{index}",
                count=0,
                affected_installs=0,
                first_seen=now,
                last_seen=now,
            )
            session.add(group)
            session.flush()
            group_ids.append(group.id)
        rows = [
            {
                "id": str(uuid.uuid4()),
                "app_id": app_id,
                "group_id": group_ids[index % groups],
                "received_at": now - timedelta(days=index % days, minutes=index % 1000),
                "processed_at": now,
                "platform": "cocoa",
                "app_version": f"1.{index % 3}",
                "os_version": "17.5",
                "device_model": f"iPhone{index % 4}",
                "install_hash": f"{index % 50:064x}",
                "symbolicated": True,
                "data": {"n": index},
                "notes": [],
                "missing_symbols": [],
                "signature_explanation": [],
                "processing_attempts": 1,
            }
            for index in range(count)
        ]
        insert_report_rows(session, rows)
        for group_id in group_ids:
            recount_group(session, group_id)
    return group_ids


def assert_consistent(db: Any) -> None:
    """Every group's stored aggregates equal a recount of the reports it has now."""
    with db.sessions() as session:
        drift = {
            group_id: aggregate_drift(session, group_id) for group_id in session.scalars(select(Group.id))
        }
    assert {k: v for k, v in drift.items() if v} == {}


def report_count(db: Any, **where: Any) -> int:
    with db.sessions() as session:
        query = select(func.count()).select_from(Report)
        for name, value in where.items():
            query = query.where(getattr(Report, name) == value)
        return session.scalar(query)
