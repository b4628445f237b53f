"""The worker process's services, built once at start (``init``) and used by every job."""

from __future__ import annotations

from typing import Any

from config.settings import Settings, load_settings
from crashsvc.jsonlog import configure_logging
from crashsvc.services import Services
from crashsvc.symbols.dbindex import attach_symbol_services
from workers.anonymize.stage import attach_anonymizer_services

_services: Services | None = None


def init(settings: Settings | None = None, overrides: dict[str, Any] | None = None) -> Services:
    """Build the worker's services (idempotent per process)."""
    global _services
    if _services is None:
        settings = settings or load_settings(overrides)
        configure_logging(settings.log_level)
        _services = Services(settings)
        for extend in EXTENSIONS:
            extend(_services)
    return _services


def services() -> Services:
    """The services of this process; built from the environment on first use (forked work horses)."""
    return _services if _services is not None else init()


def reset() -> None:
    """Forget the services (tests build several configurations in one process)."""
    global _services
    if _services is not None:
        _services.close()
    _services = None


# Feature packages that need per-process state (symbol store, hash key ring, ...) append a
# callable here that takes the Services and attaches what they need.
EXTENSIONS: list[Any] = [attach_symbol_services, attach_anonymizer_services]
