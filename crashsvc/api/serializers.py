"""How stored rows look in API responses; one function per resource so UI and API agree."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crashsvc.models import App, Group, GroupHistory, GroupNote, Report


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def app_json(app: App, public_url: str, include_key: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": app.id,
        "name": app.name,
        "retention_days": app.retention_days,
        "created_at": iso(app.created_at),
    }
    if include_key:
        data["ingest_key"] = app.ingest_key
        data["dsn"] = dsn_for(app, public_url)
    return data


def dsn_for(app: App, public_url: str) -> str:
    scheme, _, rest = public_url.partition("://")
    return f"{scheme}://{app.ingest_key}@{rest}/{app.id}"


def group_json(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "app_id": group.app_id,
        "signature": group.signature,
        "signature_hash": group.signature_hash,
        "algorithm": group.algorithm,
        "exception_type": group.exception_type,
        "exception_value": group.exception_value,
        "platform": group.platform,
        "fingerprint": group.fingerprint,
        "count": group.count,
        "affected_installs": group.affected_installs,
        "first_seen": iso(group.first_seen),
        "last_seen": iso(group.last_seen),
        "first_version": group.first_version,
        "last_version": group.last_version,
        "status": group.status,
        "resolved_in_version": group.resolved_in_version,
        "resolved_at": iso(group.resolved_at),
        "merged_into_id": group.merged_into_id,
        "emptied_at": iso(group.emptied_at),
    }


def group_history_json(entry: GroupHistory) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "user_id": entry.user_id,
        "action": entry.action,
        "from_status": entry.from_status,
        "to_status": entry.to_status,
        "detail": entry.detail,
    }


def group_note_json(note: GroupNote) -> dict[str, Any]:
    return {"id": note.id, "created_at": iso(note.created_at), "user_id": note.user_id, "text": note.text}


def report_json(report: Report) -> dict[str, Any]:
    return {
        "id": report.id,
        "app_id": report.app_id,
        "status": "processed",
        "group_id": report.group_id,
        "signature": report.signature,
        "signature_algorithm": report.signature_algorithm,
        "received_at": iso(report.received_at),
        "occurred_at": iso(report.occurred_at),
        "platform": report.platform,
        "app_version": report.app_version,
        "os_name": report.os_name,
        "os_version": report.os_version,
        "device_model": report.device_model,
        "exception_type": report.exception_type,
        "symbolicated": report.symbolicated,
        "missing_symbols": report.missing_symbols,
        "notes": report.notes,
        "signature_explanation": report.signature_explanation,
        "report": report.data,
    }
