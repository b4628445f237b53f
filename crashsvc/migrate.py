"""Schema migrations (Alembic), run by `crashsvc db upgrade`, `make run` and the Procfile's release."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from crashsvc.db import make_engine
from crashsvc.models.partitions import PARENT, ensure_report_partitions, is_partition_name

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
            ensure_report_partitions(connection)  # the days ahead (crashsvc/models/partitions.py)
    finally:
        engine.dispose()


def include_object_for(dialect: str) -> Callable[..., bool]:
    """What schema comparisons (autogenerate, the migration test) look at on this backend.

    The reports' days are made by code, not described by the models (crashsvc/models/partitions.py);
    on SQLite ``reports`` itself is a view over them, which has no indexes of its own.
    """

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table" and reflected and compare_to is None and is_partition_name(name or ""):
            return False
        if dialect == "sqlite" and not reflected and compare_to is None:
            table = obj if type_ == "table" else getattr(obj, "table", None)
            return getattr(table, "name", None) != PARENT
        return True

    return include
