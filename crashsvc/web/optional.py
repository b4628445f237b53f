"""Features other engineers add later (dead letters, audit log): used when present, else None.

The pages show a clearly marked placeholder when a module is missing instead of failing.
"""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy.orm import Session


def _module(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def dead_letters(services: Any) -> list[Any] | None:
    """``crashsvc.deadletters.list_dead_letters(services)`` if that module exists."""
    module = _module("crashsvc.deadletters")
    if module is None or not hasattr(module, "list_dead_letters"):
        return None
    return list(module.list_dead_letters(services))


def audit_events(session: Session, app_id: int | None, limit: int = 100) -> list[Any] | None:
    """The audit log (purge engineer's ``crashsvc.audit``) if it exists; None shows a placeholder."""
    module = _module("crashsvc.audit")
    lister = getattr(module, "list_audit_events", None) if module else None
    if lister is None:
        return None
    to_json = getattr(module, "audit_event_json", as_mapping)
    return [to_json(event) for event in lister(session, app_id=app_id, limit=limit)]


def as_mapping(item: Any) -> dict[str, Any]:
    """A row of an optional feature as a plain dict for display (dataclass, model or dict)."""
    if isinstance(item, dict):
        return item
    if hasattr(item, "__dataclass_fields__"):
        return {name: getattr(item, name) for name in item.__dataclass_fields__}
    table = getattr(item, "__table__", None)
    if table is not None:
        return {column.name: getattr(item, column.key, None) for column in table.columns}
    return {"value": str(item)}
