"""The app overview's data, shared by the page and ``GET /api/v1/apps/<id>/overview``.

Counting an app's distinct installs over 30 days reads every report of the month (about 11 s for
580,000 reports on SQLite, see docs/performance.md#ui), far over the page's 300 ms. So the
overview of a large app is a snapshot in Redis, at most ``FRESH_SECONDS`` old when read: a stale
one is served while one background thread per app (a Redis lock) computes the next. Group
statuses in it are re-read live, so a group resolved a second ago never shows as unresolved.
Apps with at most ``SYNC_REPORTS`` reports are computed in every request (exact and fresh); a
large app's first snapshot answers "computing" until it is ready.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, current_app
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crashsvc.api.serializers import group_json, iso
from crashsvc.db import db_session, get_db
from crashsvc.groups.queries import app_overview, daily_counts
from crashsvc.models import Group
from crashsvc.models.base import utcnow
from crashsvc.symbols.catalog import missing_symbol_summary

SPARK_DAYS = 14
FRESH_SECONDS = 60
SYNC_REPORTS = 50_000
SNAPSHOT_TTL = 24 * 3600
LOCK_SECONDS = 600
_KEY = "crashsvc:overview:{}"
_LOCK = "crashsvc:overview-lock:{}"
log = logging.getLogger("crashsvc.web")


def compute_overview(session: Session, app_id: int, today: date | None = None) -> dict[str, Any]:
    """``app_overview`` plus 14-day sparklines and missing symbol files, as JSON-ready data."""
    today = today or utcnow().date()
    data = app_overview(session, app_id, today)
    listed = {
        group.id for key in ("top_groups", "new_groups_7d", "regressed_groups_7d") for group in data[key]
    }
    sparklines = daily_counts(session, sorted(listed), SPARK_DAYS, today)

    def groups(key: str) -> list[dict[str, Any]]:
        result = []
        for group in data[key]:
            item = group_json(group)
            item.update(
                exception_value=group.exception_value,
                affected_installs=group.affected_installs,
                daily_14d=sparklines.get(group.id, []),
            )
            if key == "top_groups":
                item["reports_30d"] = data["top_group_counts"].get(group.id, 0)
            result.append(item)
        return result

    return {
        "computed_at": iso(utcnow()),
        "reports_30d": data["reports_30d"],
        "affected_installs_30d": data["affected_installs_30d"],
        "daily": [{"date": day.isoformat(), "count": count} for day, count in data["daily"]],
        "new_groups_7d": groups("new_groups_7d"),
        "regressed_groups_7d": groups("regressed_groups_7d"),
        "top_groups": groups("top_groups"),
        "missing_symbols": missing_symbol_summary(session, app_id, days=30, limit=20),
    }


def _age_seconds(snapshot: dict[str, Any]) -> float:
    computed = datetime.fromisoformat(snapshot["computed_at"].replace("Z", "+00:00"))
    return (datetime.now(UTC) - computed).total_seconds()


def _refresh(app: Flask, app_id: int) -> None:
    """Compute and store a snapshot (in a background thread: its own app context and session)."""
    with app.app_context():
        services = app.extensions["crashsvc"]
        try:
            with get_db(app).sessions() as session:
                snapshot = compute_overview(session, app_id)
            services.redis.set(_KEY.format(app_id), json.dumps(snapshot), ex=SNAPSHOT_TTL)
        finally:
            services.redis.delete(_LOCK.format(app_id))


def _refresh_in_background(app_id: int) -> None:
    services = current_app.extensions["crashsvc"]
    if services.redis.set(_LOCK.format(app_id), "1", nx=True, ex=LOCK_SECONDS):
        app = current_app._get_current_object()
        threading.Thread(target=_refresh, args=(app, app_id), name=f"overview-{app_id}", daemon=True).start()


def _with_live_statuses(session: Session, snapshot: dict[str, Any]) -> dict[str, Any]:
    keys = ("top_groups", "new_groups_7d", "regressed_groups_7d")
    ids = {group["id"] for key in keys for group in snapshot[key]}
    if ids:
        live = dict(session.execute(select(Group.id, Group.status).where(Group.id.in_(ids))).all())
        for key in keys:
            for group in snapshot[key]:
                group["status"] = live.get(group["id"], group["status"])
    return snapshot


def overview(app_id: int) -> dict[str, Any] | None:
    """The app's overview for this request, or None while a large app's first snapshot is computed."""
    session = db_session()
    total = session.scalar(select(func.coalesce(func.sum(Group.count), 0)).where(Group.app_id == app_id))
    if total <= SYNC_REPORTS:
        return compute_overview(session, app_id)  # small enough to be exact and fresh every time
    redis = current_app.extensions["crashsvc"].redis
    try:
        raw = redis.get(_KEY.format(app_id))
        if raw is None:
            _refresh_in_background(app_id)
            return None
        snapshot = json.loads(raw)
        if _age_seconds(snapshot) > FRESH_SECONDS:
            _refresh_in_background(app_id)
    except RedisError:
        return compute_overview(session, app_id)  # no cache: slow for a large app, still correct
    return _with_live_statuses(session, snapshot)
