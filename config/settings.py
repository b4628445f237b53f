"""Every crashsvc setting, declared once: name, default, parser and a one-line doc.

Environment variables override defaults with the ``CRASHSVC_`` prefix (``CRASHSVC_DATA_DIR``).
``load_settings`` validates all of them at start-up and fails with a message naming the option,
so a typo in production is caught before the first request rather than at the first crash.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PREFIX = "CRASHSVC_"


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the option."""


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (true/false), got {raw!r}")


def parse_positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(f"expected a positive integer, got {raw!r}")
    return value


def parse_non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError(f"expected zero or a positive integer, got {raw!r}")
    return value


def parse_duration_seconds(raw: str) -> int:
    """Parse ``90``, ``90s``, ``15m``, ``24h``, ``30d`` or ``2w`` into seconds."""
    text = raw.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    if text and text[-1] in units:
        number, unit = text[:-1], units[text[-1]]
    else:
        number, unit = text, 1
    value = int(number)
    if value <= 0:
        raise ValueError(f"expected a positive duration, got {raw!r}")
    return value * unit


def parse_positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError(f"expected a positive number, got {raw!r}")
    return value


def parse_backoff(raw: str) -> list[int]:
    """Parse ``5,30,120``: seconds to wait before each successive retry."""
    values = [int(part) for part in raw.split(",") if part.strip()]
    if not values or any(value < 0 for value in values):
        raise ValueError(f"expected comma-separated seconds like 5,30,120, got {raw!r}")
    return values


def parse_optional_str(raw: str) -> str | None:
    return raw.strip() or None


def parse_path(raw: str) -> Path:
    return Path(raw).expanduser()


def parse_optional_path(raw: str) -> Path | None:
    return Path(raw).expanduser() if raw.strip() else None


def parse_str(raw: str) -> str:
    return raw


def parse_nice(raw: str) -> int:
    value = int(raw)
    if not -20 <= value <= 19:
        raise ValueError(f"expected a nice value from -20 to 19, got {raw!r}")
    return value


def parse_cpu_affinity(raw: str) -> str:
    value = raw.strip().lower()
    if value not in {"auto", "off"}:
        raise ValueError(f"expected auto or off, got {raw!r}")
    return value


def parse_log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError(f"expected DEBUG, INFO, WARNING or ERROR, got {raw!r}")
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    parse: Callable[[str], Any]
    doc: str


SETTINGS: tuple[Setting, ...] = (
    # Where state lives.
    Setting(
        "DATA_DIR",
        "./var",
        parse_path,
        "Directory for all local state: SQLite database, Valkey data, symbols, spool, secrets.",
    ),
    Setting(
        "DATABASE_URL",
        "",
        parse_optional_str,
        "SQLAlchemy URL; empty means SQLite (WAL) at DATA_DIR/crashsvc.sqlite3.",
    ),
    Setting(
        "REDIS_URL",
        "",
        parse_optional_str,
        "Redis/Valkey URL; empty means the embedded Valkey that `crashsvc serve` starts.",
    ),
    Setting(
        "SYMBOLS_DIR",
        "",
        parse_optional_path,
        "Content-addressed symbol store; empty means DATA_DIR/symbols.",
    ),
    Setting(
        "SYMBOLS_MAX_UPLOAD_BYTES",
        str(2 * 1024**3),
        parse_positive_int,
        "Largest symbol upload (request body, and a zip's files after decompression); more is 413.",
    ),
    Setting(
        "SYMBOLS_MAX_FILES",
        "10000",
        parse_positive_int,
        "Most files one symbol upload (folder or zip) may hold.",
    ),
    Setting(
        "SYMBOLS_MAX_OPEN_HANDLES",
        "64",
        parse_positive_int,
        "SymCaches / mappings / source maps a worker keeps open at once (least recently used go first).",
    ),
    Setting(
        "SYMBOLS_MAX_OPEN_BYTES",
        str(512 * 1024**2),
        parse_positive_int,
        "Bytes of open symbol files a worker keeps at once; bounds its memory however many apps it serves.",
    ),
    Setting(
        "SYMBOLS_LOOKUP_CACHE_SECONDS",
        "30",
        parse_non_negative_int,
        "How long a worker reuses a symbol file look-up (found or not) unless a SymCache build ends; 0: never.",
    ),
    Setting(
        "SPOOL_DIR",
        "",
        parse_optional_path,
        "Encrypted on-disk spool used while Redis is unreachable; empty means DATA_DIR/spool.",
    ),
    Setting(
        "SPOOL_MAX_BYTES",
        "268435456",
        parse_positive_int,
        "Cap on the spool's total size; past it ingestion answers 503 with Retry-After.",
    ),
    Setting(
        "SPOOL_MOVE_INTERVAL",
        "1",
        parse_positive_float,
        "Seconds between attempts to move spooled reports into the queue while any are waiting.",
    ),
    # Secrets (generated into DATA_DIR/secrets.json on first run when not given).
    Setting(
        "SECRET_KEY",
        "",
        parse_optional_str,
        "Flask session signing key; generated into DATA_DIR on first run when empty.",
    ),
    Setting(
        "SERVER_KEY",
        "",
        parse_optional_str,
        "Base64 32-byte key that encrypts raw payloads in the queue and spool; generated when empty.",
    ),
    # Ingestion limits.
    Setting(
        "MAX_BODY_BYTES",
        str(1024 * 1024),
        parse_positive_int,
        "Largest request body accepted on the wire (compressed), in bytes.",
    ),
    Setting(
        "MAX_REPORT_BYTES",
        str(10 * 1024 * 1024),
        parse_positive_int,
        "Largest report accepted after decompression, in bytes; enforced while decompressing.",
    ),
    Setting(
        "MAX_JSON_DEPTH",
        "64",
        parse_positive_int,
        "Deepest JSON nesting accepted in a report; deeper bodies are refused as invalid.",
    ),
    Setting(
        "RATE_LIMIT_PER_MINUTE",
        "600",
        parse_non_negative_int,
        "Reports one app may send per minute before 429 rate_limited; 0 disables the limit.",
    ),
    Setting(
        "IDEMPOTENCY_TTL",
        "7d",
        parse_duration_seconds,
        "How long a client report_id is remembered to answer duplicates with 200 and the same id.",
    ),
    # Queue and processing.
    Setting("QUEUE_NAME", "crashsvc-reports", parse_str, "RQ queue that carries report ids."),
    Setting(
        "RAW_TTL",
        "24h",
        parse_duration_seconds,
        "Lifetime of an encrypted raw payload in Redis; running workers renew it while the report waits.",
    ),
    Setting("JOB_TIMEOUT", "5m", parse_duration_seconds, "Longest one processing job may run."),
    Setting(
        "JOB_RETRIES",
        "5",
        parse_non_negative_int,
        "Retries (with backoff) for a report whose processing failed transiently.",
    ),
    Setting(
        "JOB_RETRY_BACKOFF",
        "5,30,120,600,1800",
        parse_backoff,
        "Seconds before each successive retry of a transiently failed report (last value repeats).",
    ),
    Setting(
        "WORKER_HEARTBEAT_TTL",
        "30",
        parse_positive_int,
        "Seconds after which a running job whose worker stopped refreshing it counts as abandoned.",
    ),
    Setting(
        "WORKER_MAINTENANCE_INTERVAL",
        "5",
        parse_positive_float,
        "Seconds between a worker's checks for abandoned jobs and spooled reports.",
    ),
    Setting(
        "DB_RETRY_MAX_DELAY",
        "30",
        parse_positive_float,
        "Longest wait between a worker's reconnection attempts while the database is unreachable.",
    ),
    Setting(
        "WORKER_BATCH_SIZE",
        "50",
        parse_positive_int,
        "Reports a worker takes per batch when the queue is busy.",
    ),
    # Privacy.
    Setting(
        "HASH_KEY_DAYS",
        "30",
        parse_positive_int,
        "Rotation period of the keyed-hash key for install ids; expired keys are destroyed.",
    ),
    Setting(
        "DEFAULT_RETENTION_DAYS",
        "90",
        parse_positive_int,
        "Retention of stored reports for apps that do not set their own.",
    ),
    Setting(
        "RETENTION_PURGE_IN_WORKER",
        "true",
        parse_bool,
        "Workers run the retention purge themselves; false when `crashsvc purge --retention` runs from cron.",
    ),
    Setting(
        "RETENTION_PURGE_INTERVAL",
        "24h",
        parse_duration_seconds,
        "How often the workers' retention purge runs (one worker per interval, by a Redis key).",
    ),
    # Web.
    Setting("PORT", "8000", parse_positive_int, "Port `crashsvc serve` binds the web server to."),
    Setting("HOST", "127.0.0.1", parse_str, "Address `crashsvc serve` binds the web server to."),
    Setting(
        "PUBLIC_URL",
        "",
        parse_optional_str,
        "Base URL SDKs reach the service at (used in DSNs); empty means http://HOST:PORT.",
    ),
    Setting("WEB_WORKERS", "2", parse_positive_int, "Gunicorn worker processes."),
    Setting(
        "WEB_CPU_AFFINITY",
        "auto",
        parse_cpu_affinity,
        "auto: pin each web worker to a CPU of its own when there are at least as many workers as CPUs; off: never.",
    ),
    Setting(
        "CLIENT_READ_TIMEOUT",
        "15",
        parse_positive_float,
        "Seconds a client may stall mid-request before its connection is dropped (slow-loris).",
    ),
    Setting(
        "WORKERS", "1", parse_positive_int, "Report-processing worker processes `crashsvc serve` starts."
    ),
    Setting(
        "EMBEDDED_VALKEY_NICE",
        "-10",
        parse_nice,
        "CPU priority of the embedded Valkey's event loop, whose fsync every 2xx waits for; below 0 needs root/CAP_SYS_NICE (else left at 0).",
    ),
    Setting(
        "SECURE_COOKIES", "false", parse_bool, "Mark session cookies Secure; turn on when served behind TLS."
    ),
    Setting("LOG_LEVEL", "INFO", parse_log_level, "Log level of the JSON logs."),
)

SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}


class Settings:
    """Validated settings; attribute access by lower-case name (``settings.data_dir``)."""

    def __init__(self, values: Mapping[str, Any]):
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name.upper()]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def replace(self, **changes: Any) -> Settings:
        values = dict(self._values)
        for key, value in changes.items():
            values[key.upper()] = value
        return Settings(values)

    # Derived locations, so every caller agrees on them.
    @property
    def database_url_resolved(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'crashsvc.sqlite3').resolve()}"

    @property
    def symbols_path(self) -> Path:
        return self.symbols_dir or self.data_dir / "symbols"

    @property
    def spool_path(self) -> Path:
        return self.spool_dir or self.data_dir / "spool"

    @property
    def public_url(self) -> str:
        return (self._values["PUBLIC_URL"] or f"http://{self.host}:{self.port}").rstrip("/")


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read defaults, then ``CRASHSVC_*`` environment variables, then ``overrides``; validate all."""
    environ = os.environ if environ is None else environ
    overrides = {key.upper(): value for key, value in (overrides or {}).items()}
    unknown = sorted(set(overrides) - set(SETTINGS_BY_NAME))
    if unknown:
        raise SettingsError(f"unknown setting {PREFIX}{unknown[0]}")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in overrides and not isinstance(overrides[setting.name], str):
            values[setting.name] = overrides[setting.name]
            continue
        raw = overrides.get(setting.name, environ.get(PREFIX + setting.name, setting.default))
        try:
            values[setting.name] = setting.parse(raw)
        except (ValueError, TypeError) as exc:
            raise SettingsError(f"{PREFIX}{setting.name}: {exc}") from None
    if values["MAX_REPORT_BYTES"] < values["MAX_BODY_BYTES"]:
        raise SettingsError(f"{PREFIX}MAX_REPORT_BYTES must be at least {PREFIX}MAX_BODY_BYTES")
    return Settings(values)


def describe_settings() -> str:
    """A plain-text table of every option, its default and its doc (for `crashsvc config`)."""
    lines = []
    for setting in SETTINGS:
        lines.append(f"{PREFIX}{setting.name} (default: {setting.default!r})\n    {setting.doc}")
    return "\n".join(lines)
