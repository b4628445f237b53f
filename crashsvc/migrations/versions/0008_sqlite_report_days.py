"""SQLite: store the reports one table per UTC day behind a ``reports`` view, so a purge drops days.

PostgreSQL got partitions in 0007. SQLite has none, and deleting a million reports row by row
cost it 19–24 s of CPU (90–100 s beside a busy ingest on 2 cores); dropping the days they were
received on costs about a fifth of that (docs/performance.md, Purge). The existing table becomes
``reports_legacy`` (dropped if empty), nothing is copied; the days ahead get tables of their own and
``reports`` becomes a ``UNION ALL`` view over all of them (crashsvc/models/partitions.py).
``report_missing_symbols`` loses its foreign key to the reports, as on PostgreSQL: a view cannot be
referenced, and its rows are deleted with their report explicitly.

Revision ID: 0008_sqlite_report_days
Revises: 0007_report_partitions
"""

from alembic import op
from sqlalchemy import text

from crashsvc.models.partitions import create_sqlite_layout

revision = "0008_sqlite_report_days"
down_revision = "0007_report_partitions"
branch_labels = None
depends_on = None

_MISSING_FK = "fk_report_missing_symbols_report_id_reports"
_COLUMNS = (
    "id, app_id, group_id, received_at, occurred_at, processed_at, platform, app_version, app_build, "
    "os_name, os_version, device_model, exception_type, exception_value, install_hash, signature, "
    "signature_hash, signature_algorithm, scrub_version, symbolicated, data, notes, missing_symbols, "
    "signature_explanation, consent, processing_attempts"
)
# The table as 0001–0006 left it (a frozen copy: the model may move on).
_PLAIN_REPORTS = """CREATE TABLE reports (
    id VARCHAR(36) NOT NULL, app_id INTEGER NOT NULL, group_id INTEGER, received_at DATETIME NOT NULL,
    occurred_at DATETIME, processed_at DATETIME NOT NULL, platform VARCHAR(20) NOT NULL,
    app_version VARCHAR(100), app_build VARCHAR(100), os_name VARCHAR(100), os_version VARCHAR(100),
    device_model VARCHAR(200), exception_type VARCHAR(500), exception_value TEXT,
    install_hash VARCHAR(64), signature TEXT, signature_hash VARCHAR(64),
    signature_algorithm VARCHAR(20), scrub_version VARCHAR(20), symbolicated BOOLEAN NOT NULL,
    data JSON NOT NULL, notes JSON NOT NULL, missing_symbols JSON NOT NULL,
    signature_explanation JSON NOT NULL, consent JSON, processing_attempts INTEGER NOT NULL,
    CONSTRAINT pk_reports PRIMARY KEY (id),
    CONSTRAINT fk_reports_app_id_apps FOREIGN KEY(app_id) REFERENCES apps (id) ON DELETE CASCADE,
    CONSTRAINT fk_reports_group_id_groups FOREIGN KEY(group_id) REFERENCES groups (id) ON DELETE SET NULL
)"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("report_missing_symbols", recreate="always") as batch:
        batch.drop_constraint(_MISSING_FK, type_="foreignkey")
    create_sqlite_layout(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    bind = op.get_bind()
    tables = [
        name
        for name in bind.scalars(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        if name == "reports_legacy" or (name.startswith("reports_p") and name[9:].isdigit())
    ]
    op.execute("DROP VIEW reports")
    op.execute(_PLAIN_REPORTS)
    for table in tables:
        op.execute(f"INSERT INTO reports ({_COLUMNS}) SELECT {_COLUMNS} FROM {table}")
        op.execute(f"DROP TABLE {table}")
    op.execute("CREATE INDEX ix_reports_app_received ON reports (app_id, received_at)")
    op.execute("CREATE INDEX ix_reports_group_received ON reports (group_id, received_at)")
    op.execute("DELETE FROM report_missing_symbols WHERE report_id NOT IN (SELECT id FROM reports)")
    with op.batch_alter_table("report_missing_symbols", recreate="always") as batch:
        batch.create_foreign_key(_MISSING_FK, "reports", ["report_id"], ["id"], ondelete="CASCADE")
