"""PostgreSQL: partition the reports by UTC day received, so a purge drops whole days (SQLite: nothing).

Deleting a million reports row by row took 55–65 s on a 2-core host beside ingestion; dropping the
days they were received on takes a scan of each day (to uncount it) and an unlink
(crashsvc/models/partitions.py, docs/retention.md). The table is not rewritten: the existing one
becomes the partition ``reports_legacy`` (everything received up to the end of the migration's
day; one validating scan; dropped at once if empty), new days get partitions of their own (``crashsvc db upgrade`` creates
them ahead), and ``reports_default`` catches the rest. PostgreSQL requires the partition key in
the primary key, hence ``(id, received_at)``, and a foreign key to ``reports.id`` alone can no
longer exist: ``report_missing_symbols`` rows are deleted with their report explicitly.

Revision ID: 0007_report_partitions
Revises: 0006_os_name_breakdown
"""

from datetime import UTC, datetime, timedelta

from alembic import op

revision = "0007_report_partitions"
down_revision = "0006_os_name_breakdown"
branch_labels = None
depends_on = None

_MISSING_FK = "fk_report_missing_symbols_report_id_reports"
_TABLE_CONSTRAINTS = (
    "ALTER TABLE reports ADD CONSTRAINT fk_reports_app_id_apps FOREIGN KEY (app_id) "
    "REFERENCES apps (id) ON DELETE CASCADE",
    "ALTER TABLE reports ADD CONSTRAINT fk_reports_group_id_groups FOREIGN KEY (group_id) "
    "REFERENCES groups (id) ON DELETE SET NULL",
    "CREATE INDEX ix_reports_app_received ON reports (app_id, received_at)",
    "CREATE INDEX ix_reports_group_received ON reports (group_id, received_at)",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    today = datetime.now(UTC).date()
    tomorrow = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
    op.execute(f"ALTER TABLE report_missing_symbols DROP CONSTRAINT {_MISSING_FK}")
    op.execute("ALTER TABLE reports RENAME TO reports_legacy")
    op.execute("ALTER TABLE reports_legacy DROP CONSTRAINT pk_reports")
    # The parent's indexes take these names; PostgreSQL adopts the legacy ones as their partitions'.
    op.execute("ALTER INDEX ix_reports_app_received RENAME TO ix_reports_legacy_app_received")
    op.execute("ALTER INDEX ix_reports_group_received RENAME TO ix_reports_legacy_group_received")
    op.execute(
        "CREATE TABLE reports (LIKE reports_legacy INCLUDING DEFAULTS) PARTITION BY RANGE (received_at)"
    )
    op.execute("ALTER TABLE reports ADD CONSTRAINT pk_reports PRIMARY KEY (id, received_at)")
    for statement in _TABLE_CONSTRAINTS:
        op.execute(statement)
    if op.get_bind().exec_driver_sql("SELECT EXISTS (SELECT 1 FROM reports_legacy)").scalar():
        op.execute(
            "ALTER TABLE reports ATTACH PARTITION reports_legacy "
            f"FOR VALUES FROM (MINVALUE) TO ('{tomorrow.isoformat()}')"
        )
    else:  # a new database: every day gets a partition of its own
        op.execute("DROP TABLE reports_legacy")
    op.execute("CREATE TABLE reports_default PARTITION OF reports DEFAULT")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE reports_plain (LIKE reports INCLUDING DEFAULTS)")
    op.execute("INSERT INTO reports_plain SELECT * FROM reports")
    op.execute("DROP TABLE reports")
    op.execute("ALTER TABLE reports_plain RENAME TO reports")
    op.execute("ALTER TABLE reports ADD CONSTRAINT pk_reports PRIMARY KEY (id)")
    for statement in _TABLE_CONSTRAINTS:
        op.execute(statement)
    op.execute(
        "DELETE FROM report_missing_symbols m WHERE NOT EXISTS (SELECT 1 FROM reports r WHERE r.id = m.report_id)"
    )
    op.execute(
        f"ALTER TABLE report_missing_symbols ADD CONSTRAINT {_MISSING_FK} FOREIGN KEY (report_id) "
        "REFERENCES reports (id) ON DELETE CASCADE"
    )
