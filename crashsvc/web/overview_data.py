"""The app overview's data, shared by the page and ``GET /api/v1/apps/<id>/overview``."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from crashsvc.api.serializers import group_json
from crashsvc.groups.queries import app_overview, daily_counts
from crashsvc.models.base import utcnow
from crashsvc.symbols.catalog import missing_symbol_summary

SPARK_DAYS = 14


def overview(session: Session, app_id: int, today: date | None = None) -> dict[str, Any]:
    """``app_overview`` plus 14-day sparklines for the listed groups and the missing symbol files."""
    today = today or utcnow().date()
    data = app_overview(session, app_id, today)
    listed = {group.id for key in ("top_groups", "new_groups_7d", "regressed_groups_7d") for group in data[key]}
    data["sparklines"] = daily_counts(session, sorted(listed), SPARK_DAYS, today)
    data["missing_symbols"] = missing_symbol_summary(session, app_id, days=30, limit=20)
    return data


def overview_json(data: dict[str, Any]) -> dict[str, Any]:
    def groups(key: str) -> list[dict[str, Any]]:
        result = []
        for group in data[key]:
            item = group_json(group)
            item["affected_installs"] = group.affected_installs
            item["daily_14d"] = data["sparklines"].get(group.id, [])
            if key == "top_groups":
                item["reports_30d"] = data["top_group_counts"].get(group.id, 0)
            result.append(item)
        return result

    return {
        "reports_30d": data["reports_30d"],
        "affected_installs_30d": data["affected_installs_30d"],
        "daily": [{"date": day.isoformat(), "count": count} for day, count in data["daily"]],
        "new_groups_7d": groups("new_groups_7d"),
        "regressed_groups_7d": groups("regressed_groups_7d"),
        "top_groups": groups("top_groups"),
        "missing_symbols": data["missing_symbols"],
    }
