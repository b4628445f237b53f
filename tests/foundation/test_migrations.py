"""The migrations build exactly the schema the models describe, with one head, on both backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from crashsvc.db import Database, make_engine
from crashsvc.migrate import alembic_config, include_object_for, upgrade_database
from crashsvc.models import App, Base, Group, Report


def test_migrations_have_one_head():
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"merge the migration heads: {heads}"


def test_migrated_schema_matches_the_models(database_url):
    upgrade_database(database_url)
    upgrade_database(database_url)  # idempotent: a second run changes nothing
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            # PostgreSQL's partitions and the key they cannot be referenced by are left out (0007).
            context = MigrationContext.configure(
                connection, opts={"include_object": include_object_for(connection.dialect.name)}
            )
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def _migrate(database_url: str, action: str, revision: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)
    finally:
        engine.dispose()


def _os_breakdowns(engine: sa.Engine) -> set[tuple[int, str, int]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT group_id, value, count FROM group_breakdowns WHERE dimension = 'os_name'")
        )
        return {tuple(row) for row in rows}


def _indexes(engine: sa.Engine) -> set[str]:
    return {index["name"] for index in sa.inspect(engine).get_indexes("reports")}


def test_0006_counts_the_stored_reports_by_os_name_and_drops_the_index(database_url):
    # Upgrading a database that already holds reports: the OS filter must find them at once.
    _migrate(database_url, "upgrade", "0005_merge_os_index")
    database = Database(database_url)
    now = datetime.now(UTC)
    with database.transaction() as session:
        app = App(name="migrated", ingest_key=uuid.uuid4().hex)
        session.add(app)
        session.flush()
        groups = [
            Group(
                app_id=app.id,
                algorithm="sig:1",
                signature_hash=uuid.uuid4().hex,
                signature=name,
                count=0,
                affected_installs=0,
                first_seen=now,
                last_seen=now,
            )
            for name in ("a", "b")
        ]
        session.add_all(groups)
        session.flush()
        for group, os_name in [
            (groups[0], "iOS"),
            (groups[0], "iOS"),
            (groups[0], "iPadOS"),
            (groups[1], "Android"),
            (groups[1], None),
            (groups[1], ""),
            (None, "iOS"),
        ]:
            session.add(
                Report(
                    id=str(uuid.uuid4()),
                    app_id=app.id,
                    group_id=group.id if group else None,
                    received_at=now,
                    os_name=os_name,
                    data={},
                )
            )
        a, b = groups[0].id, groups[1].id
    engine = database.engine
    assert "ix_reports_group_os" in _indexes(engine)
    _migrate(database_url, "upgrade", "0006_os_name_breakdown")
    # Empty names and reports without a group count nowhere, as the worker counts them.
    assert _os_breakdowns(engine) == {(a, "iOS", 2), (a, "iPadOS", 1), (b, "Android", 1)}
    assert "ix_reports_group_os" not in _indexes(engine)
    _migrate(database_url, "downgrade", "0005_merge_os_index")
    assert _os_breakdowns(engine) == set()
    assert "ix_reports_group_os" in _indexes(engine)
    database.dispose()
