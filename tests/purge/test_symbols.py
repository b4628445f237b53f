"""``crashsvc purge --symbols-unused-for DAYS``: only files no recent report used and none awaits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from crashsvc.audit import list_audit_events
from crashsvc.models import ReportMissingSymbol, SymbolFile
from tests.purge.helpers import post_reports
from tests.purge.test_purge import cli


def _symbol_file(session, root, app_id, name, *, unused_days, path=None):
    relative = path or f"objects/{name}"
    (root / relative).parent.mkdir(parents=True, exist_ok=True)
    (root / relative).write_bytes(b"\0" * 100)
    now = datetime.now(UTC)
    row = SymbolFile(
        app_id=app_id,
        kind="native",
        debug_id=f"{name}-debug-id",
        object_name=name,
        sha256="0" * 64,
        size=100,
        path=relative,
        status="ready",
        uploaded_at=now - timedelta(days=unused_days + 1),
        last_used_at=now - timedelta(days=unused_days),
    )
    session.add(row)
    return row


def test_unused_symbol_files_go_unless_a_report_awaits_them_and_shared_bytes_stay(client, factory):
    app_row = factory.app_row()
    [answer] = post_reports(client, factory, app_row, 1)
    factory.process_queue()
    root = factory.services.settings.symbols_path
    with factory.services.db.transaction() as session:
        _symbol_file(session, root, app_row.id, "old-unused", unused_days=40)
        _symbol_file(session, root, app_row.id, "old-awaited", unused_days=40)
        _symbol_file(session, root, app_row.id, "recent", unused_days=2)
        # Content-addressed store: an old row sharing its bytes with a recent one.
        _symbol_file(session, root, app_row.id, "old-shared", unused_days=40, path="objects/recent")
        session.execute(
            insert(ReportMissingSymbol),
            [{"report_id": answer["id"], "app_id": app_row.id, "symbol_key": "old-awaited-debug-id"}],
        )

    plan = json.loads(
        cli(
            factory, "purge", "--older-than", "3650d", "--symbols-unused-for", "30", "--dry-run", "--json"
        ).output
    )
    assert plan["symbols"] == {"files": 2, "bytes": 200}
    with factory.services.db.sessions() as session:
        assert session.scalar(select(SymbolFile.id).where(SymbolFile.object_name == "old-unused")) is not None

    result = cli(factory, "purge", "--older-than", "3650d", "--symbols-unused-for", "30", "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["symbols"] == {"files": 2, "bytes": 200}
    with factory.services.db.sessions() as session:
        left = set(session.scalars(select(SymbolFile.object_name)))
        events = [event for event in list_audit_events(session) if event.action == "symbols.purge"]
    assert left == {"old-awaited", "recent"}
    assert not (root / "objects/old-unused").exists()
    assert (root / "objects/old-awaited").exists()
    assert (root / "objects/recent").exists()  # still the recent row's bytes
    assert [event.count for event in events] == [2]
