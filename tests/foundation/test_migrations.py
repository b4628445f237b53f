"""The migrations build exactly the schema the models describe, with one head, on both backends."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from crashsvc.migrate import alembic_config, upgrade_database
from crashsvc.models import Base


def test_migrations_have_one_head():
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"merge the migration heads: {heads}"


def test_migrated_schema_matches_the_models(database_url):
    upgrade_database(database_url)
    upgrade_database(database_url)  # idempotent: a second run changes nothing
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
