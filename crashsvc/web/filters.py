"""Jinja filters for the pages: dates, ages, counts. They return plain text (autoescaped)."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from crashsvc.models.base import utcnow


def age(moment: datetime | None) -> str:
    """'5m ago', '3h ago', '2d ago' — the time since ``moment`` at a glance."""
    if moment is None:
        return "—"
    seconds = max(0, int((utcnow() - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def when(moment: datetime | None) -> str:
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
