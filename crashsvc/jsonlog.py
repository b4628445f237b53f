"""Structured JSON logs. Log calls pass ids and codes as ``extra``; never report values or headers."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

STANDARD_ATTRS = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in STANDARD_ATTRS and not key.startswith("_"):
                data[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: an exception's text may quote the payload that caused it.
            data["error_type"] = record.exc_info[0].__name__
        return json.dumps(data, default=str)


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(getattr(handler, "_crashsvc", False) for handler in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._crashsvc = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Werkzeug's dev-server access log carries client addresses; crashsvc never logs them.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
