"""symbol files per app, and the reports that wait for one (late symbolication)

Revision ID: 0002_symbol_files
Revises: 0001
Create Date: 2026-11-29 02:40:56.737591
"""

import sqlalchemy as sa
from alembic import op

import crashsvc.models.base

revision = "0002_symbol_files"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "symbol_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("debug_id", sa.String(length=100), nullable=True),
        sa.Column("code_id", sa.String(length=200), nullable=True),
        sa.Column("arch", sa.String(length=40), nullable=True),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("object_name", sa.Text(), nullable=False),
        sa.Column("lookup_key", sa.String(length=1000), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("symcache_path", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("file_format", sa.String(length=40), nullable=False),
        sa.Column("release", sa.String(length=250), nullable=True),
        sa.Column("app_version", sa.String(length=100), nullable=True),
        sa.Column("build", sa.String(length=100), nullable=True),
        sa.Column("source_map_url", sa.Text(), nullable=True),
        sa.Column("uploaded_at", crashsvc.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("last_used_at", crashsvc.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_symbol_files_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["users.id"], name=op.f("fk_symbol_files_uploaded_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_symbol_files")),
    )
    with op.batch_alter_table("symbol_files", schema=None) as batch_op:
        batch_op.create_index("ix_symbol_files_app_debug_id", ["app_id", "debug_id"], unique=False)
        batch_op.create_index("ix_symbol_files_app_lookup", ["app_id", "kind", "lookup_key"], unique=False)

    op.create_table(
        "report_missing_symbols",
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("symbol_key", sa.String(length=300), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("image", sa.String(length=300), nullable=True),
        sa.Column("type", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_report_missing_symbols_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_missing_symbols_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", "symbol_key", name=op.f("pk_report_missing_symbols")),
    )
    with op.batch_alter_table("report_missing_symbols", schema=None) as batch_op:
        batch_op.create_index("ix_report_missing_symbols_app_key", ["app_id", "symbol_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report_missing_symbols", schema=None) as batch_op:
        batch_op.drop_index("ix_report_missing_symbols_app_key")

    op.drop_table("report_missing_symbols")
    with op.batch_alter_table("symbol_files", schema=None) as batch_op:
        batch_op.drop_index("ix_symbol_files_app_lookup")
        batch_op.drop_index("ix_symbol_files_app_debug_id")

    op.drop_table("symbol_files")
