"""Schema migrations (Alembic), run by `crashsvc db upgrade`, `make run` and the Procfile's release."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from crashsvc.db import make_engine
from crashsvc.purge.partitions import ensure_report_partitions, is_partition_name

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(database_url: str) -> None:
    """Bring the schema to the newest revision of every branch (``heads``) and create the days ahead."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
            ensure_report_partitions(connection)  # PostgreSQL: the days ahead (crashsvc/purge/partitions.py)
    finally:
        engine.dispose()


# PostgreSQL only (0007): the key a partitioned table cannot be referenced by.
_POSTGRES_ONLY_MISSING = {"fk_report_missing_symbols_report_id_reports"}


def include_object_for(dialect: str) -> Callable[..., bool]:
    """What schema comparisons (autogenerate, the migration test) look at on this backend.

    PostgreSQL's report partitions are made by code, not described by the models, and the
    foreign key from ``report_missing_symbols`` to a report exists on SQLite only (0007).
    """

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table" and reflected and compare_to is None and is_partition_name(name or ""):
            return False
        return not (
            dialect == "postgresql" and type_ == "foreign_key_constraint" and name in _POSTGRES_ONLY_MISSING
        )

    return include
