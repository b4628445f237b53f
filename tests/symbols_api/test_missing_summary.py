"""What recent reports miss: read from the missing-symbol rows alone, by the time copied onto them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from crashsvc.db import Database
from crashsvc.migrate import upgrade_database
from crashsvc.models import App, ReportMissingSymbol
from crashsvc.models.partitions import insert_report_rows
from crashsvc.symbols.catalog import missing_symbol_rows, missing_symbol_summary
from tests.foundation.test_migrations import _migrate


def _report(app_id: int, received_at: datetime) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "app_id": app_id,
        "received_at": received_at,
        "platform": "cocoa",
        "data": {},
    }


def test_only_reports_of_the_last_days_count(factory):
    db = factory.services.db
    app_id = factory.app_row().id
    now = datetime.now(UTC)
    reports = [_report(app_id, now - timedelta(days=age)) for age in (1, 2, 40)]
    missing = [{"debug_id": "0" * 32, "image": "Kit", "type": "macho"}]
    with db.transaction() as session:
        insert_report_rows(session, reports)
        for report in reports:
            rows = missing_symbol_rows(report["id"], app_id, report["received_at"], missing)
            session.execute(sa.insert(ReportMissingSymbol), rows)
    with db.sessions() as session:
        [entry] = missing_symbol_summary(session, app_id, days=30)
    assert entry["reports"] == 2 and entry["image"] == "Kit"


def test_0009_copies_each_report_time_onto_its_missing_symbol_rows(database_url):
    _migrate(database_url, "upgrade", "0008_sqlite_report_days")
    db = Database(database_url)
    received = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    with db.transaction() as session:
        app = App(name="migrated", ingest_key=uuid.uuid4().hex)
        session.add(app)
        session.flush()
        report = _report(app.id, received)
        insert_report_rows(session, [report])
        session.execute(
            sa.text(
                "INSERT INTO report_missing_symbols (report_id, symbol_key, app_id) VALUES "
                "(:report, 'k', :app), ('gone-report', 'k', :app)"
            ),
            {"report": report["id"], "app": app.id},
        )
    upgrade_database(database_url)
    with db.engine.connect() as connection:
        rows = dict(
            connection.execute(sa.text("SELECT report_id, received_at FROM report_missing_symbols")).all()
        )
    assert rows["gone-report"] is None  # its report is gone: left out, as the join left it out
    stored = rows[report["id"]]
    stored = datetime.fromisoformat(stored) if isinstance(stored, str) else stored
    assert stored.replace(tzinfo=stored.tzinfo or UTC) == received
    db.dispose()
