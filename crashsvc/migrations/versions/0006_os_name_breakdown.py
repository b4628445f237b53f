"""Count reports per OS name as a breakdown dimension; drop the (group_id, os_name) index on reports.

The group list's OS filter now asks ``group_breakdowns`` (a primary-key probe per group, like the
app-version and OS-version filters) instead of the reports, so the widest table loses an index it
kept only for that filter. Every report stored or purged paid for it: deleting 100,000 reports
spent 0.35 s of 2.2 s in this index alone (bench/purge.py, docs/performance.md). The backfill
counts the reports already stored, exactly as the worker counts new ones (``breakdown_values``:
empty names are not counted, values are cut to 200 characters).

Revision ID: 0006_os_name_breakdown
Revises: 0005_merge_os_index
"""

from alembic import op

revision = "0006_os_name_breakdown"
down_revision = "0005_merge_os_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO group_breakdowns (group_id, dimension, value, count) "
        "SELECT group_id, 'os_name', substr(os_name, 1, 200), count(*) FROM reports "
        "WHERE group_id IS NOT NULL AND os_name IS NOT NULL AND os_name <> '' "
        "GROUP BY group_id, substr(os_name, 1, 200)"
    )
    op.drop_index("ix_reports_group_os", table_name="reports")


def downgrade() -> None:
    op.create_index("ix_reports_group_os", "reports", ["group_id", "os_name"])
    op.execute("DELETE FROM group_breakdowns WHERE dimension = 'os_name'")
