"""Copy each report's received_at onto its ``report_missing_symbols`` rows.

"Which debug files did the app's recent reports miss" (``missing_symbol_summary``, the symbols page
and API, the app overview) joined these rows to the reports for their time. On SQLite the reports are now a view over
a table per day (0008), and a join materializes it: 18 s for 50,000 rows over 105 days, against
0.3 s on one table (docs/performance.md, Purge, eighth session). With the time on the row the
summary reads this table alone, on both backends. Rows whose report is gone keep NULL and are left
out, as the join left them out.

Revision ID: 0009_missing_symbol_received_at
Revises: 0008_sqlite_report_days
"""

import sqlalchemy as sa
from alembic import op

from crashsvc.models.base import UtcDateTime

revision = "0009_missing_symbol_received_at"
down_revision = "0008_sqlite_report_days"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "report_missing_symbols", sa.Column("received_at", UtcDateTime(timezone=True), nullable=True)
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE report_missing_symbols AS m SET received_at = r.received_at FROM reports AS r "
            "WHERE r.id = m.report_id"
        )
    else:  # one key probe per day's table and row: a join would materialize the view
        op.execute(
            "UPDATE report_missing_symbols SET received_at = "
            "(SELECT received_at FROM reports WHERE reports.id = report_missing_symbols.report_id)"
        )


def downgrade() -> None:
    with op.batch_alter_table("report_missing_symbols") as batch:
        batch.drop_column("received_at")
