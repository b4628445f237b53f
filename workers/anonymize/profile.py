"""Coarsen what is kept for debugging but would fingerprint a person: times, locale, time zone, device gauges."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_LANGUAGE = re.compile(r"^([A-Za-z]{2,3})(?:[-_].*)?$")


def truncate_to_hour(when: datetime) -> str:
    """``2026-03-01T14:00:00Z``: the hour is enough to correlate with releases and outages."""
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:00:00Z")


def seconds_before(event: datetime, earlier: datetime) -> float:
    """Seconds from ``earlier`` to the event, rounded to milliseconds (negative if it came after)."""
    return round((event - earlier).total_seconds(), 3)


def language_only(locale: object) -> str | None:
    """``en_US`` / ``pt-BR`` → ``en`` / ``pt``; the region narrows down where someone lives."""
    if not isinstance(locale, str):
        return None
    match = _LANGUAGE.match(locale.strip())
    return match.group(1).lower() if match else None


def utc_offset(timezone: object, at: datetime) -> str | None:
    """``Europe/Berlin`` → ``+01:00`` at the event time; a zone name is a finer location than its offset."""
    if not isinstance(timezone, str) or not timezone.strip():
        return None
    text = timezone.strip()
    match = _OFFSET.match(text)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        return f"{sign}{hours:02d}:{minutes:02d}" if hours <= 14 and minutes < 60 else None
    if text.upper() in {"UTC", "GMT", "Z"}:
        return "+00:00"
    try:
        offset = at.astimezone(ZoneInfo(text)).utcoffset() or timedelta(0)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def power_of_two_bucket(value: object) -> int | None:
    """Free memory or storage rounded down to a power of two: enough to see "nearly full"."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    number = int(value)
    return 0 if number == 0 else 1 << (number.bit_length() - 1)


def battery_bucket(value: object) -> int | None:
    """Battery level rounded down to a multiple of 10 percent."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        return None
    return int(value // 10 * 10)
