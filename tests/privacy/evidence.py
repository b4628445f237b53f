"""Where planted values could end up, read back as text: every table, every Redis key, logs, responses.

Each reader returns one string to search; ``leaks`` looks for every planted value in the forms it could
take on the way (as sent, lower-cased, URL-encoded, JSON-escaped), so an escaped copy counts too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import zlib
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from redis import Redis
from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine

from crashsvc.models.partitions import is_partition_name


def forms(value: str) -> set[str]:
    """The spellings a value can take in storage, logs and responses."""
    return {
        value,
        value.lower(),
        quote(value, safe=""),
        quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }


def leaks(haystack: str, planted: Iterable[str]) -> list[str]:
    """The planted values found in ``haystack`` in any of their forms (case-insensitive)."""
    lowered = haystack.lower()
    return sorted({value for value in planted for form in forms(value) if form.lower() in lowered})


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes_text(bytes(value))
    if isinstance(value, dict | list):
        return json.dumps(value, default=str) + json.dumps(value, default=str, ensure_ascii=False)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def bytes_text(data: bytes) -> str:
    """Bytes as text, and if they are zlib-compressed (RQ's job data), their content too."""
    text = data.decode("utf-8", errors="replace")
    with contextlib.suppress(zlib.error):
        text += "\n" + zlib.decompress(data).decode("utf-8", errors="replace")
    return text


def database_text(engine: Engine) -> tuple[str, dict[str, int]]:
    """Every row of every table (found by reflection, so new tables are covered), and rows per table."""
    metadata = MetaData()
    metadata.reflect(engine)
    parts, counts = [], {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = connection.execute(select(table)).all()
            counts[table.name] = len(rows)
            parts.extend(" | ".join(_text(value) for value in row) for row in rows)
    if "reports" not in counts:  # SQLite: a view over the days' tables, each read above
        counts["reports"] = sum(count for name, count in counts.items() if is_partition_name(name))
    return "\n".join(parts), counts


def redis_text(redis: Redis) -> tuple[str, list[str]]:
    """Every key and every value, member, field or stream entry in the Redis database; and the key names."""
    parts, names = [], []
    for key in redis.scan_iter(count=1000):
        name = key.decode("utf-8", errors="replace")
        names.append(name)
        parts.append(name)
        kind = redis.type(key).decode()
        if kind == "string":
            parts.append(bytes_text(redis.get(key) or b""))
        elif kind == "hash":
            parts.extend(
                bytes_text(field) + "=" + bytes_text(value) for field, value in redis.hgetall(key).items()
            )
        elif kind == "list":
            parts.extend(bytes_text(item) for item in redis.lrange(key, 0, -1))
        elif kind == "set":
            parts.extend(bytes_text(member) for member in redis.smembers(key))
        elif kind == "zset":
            parts.extend(bytes_text(member) for member, _score in redis.zrange(key, 0, -1, withscores=True))
        elif kind == "stream":
            for entry_id, fields in redis.xrange(key):
                parts.append(bytes_text(entry_id))
                parts.extend(bytes_text(field) + "=" + bytes_text(value) for field, value in fields.items())
        else:
            raise AssertionError(f"unexpected Redis type {kind} for {name}")
    return "\n".join(parts), names


def files_text(directory: Path) -> tuple[str, list[str]]:
    """Every file under ``directory`` (data dir, SQLite file and its journal) as text; and their names."""
    parts, names = [], []
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            names.append(str(path.relative_to(directory)))
            parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts), names


class RecordingHandler(logging.Handler):
    """Keeps every record as everything a log sink could print: message, extras, exception text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        line = [record.name, record.getMessage(), json.dumps(vars(record), default=str)]
        if record.exc_info:
            line.append(self._formatter.formatException(record.exc_info))
        self.lines.append(" ".join(line))

    def text(self) -> str:
        return "\n".join(self.lines)
