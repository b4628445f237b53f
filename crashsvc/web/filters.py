"""Jinja filters for the pages: dates, ages, counts. They return plain text (autoescaped)."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from crashsvc.models.base import utcnow


def _moment(value: datetime | str | None) -> datetime | None:
    """A datetime, or the API's ISO text of one (the overview snapshot holds text)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return value


def age(moment: datetime | str | None) -> str:
    """'5m ago', '3h ago', '2d ago' — the time since ``moment`` at a glance."""
    moment = _moment(moment)
    if moment is None:
        return "—"
    seconds = max(0, int((utcnow() - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def when(moment: datetime | str | None) -> str:
    moment = _moment(moment)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def number(value: int | None) -> str:
    """1234 → '1,234'; 1234567 → '1.2M'."""
    if value is None:
        return "—"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    return f"{value:,}"


def install(app: Flask) -> None:
    app.add_template_filter(age, "age")
    app.add_template_filter(when, "when")
    app.add_template_filter(number, "number")
