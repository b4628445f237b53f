"""What CLI commands share: settings, a migrated database, and JSON-or-text output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.orm import Session

from config.settings import Settings, SettingsError, load_settings
from crashsvc.db import Database
from crashsvc.migrate import upgrade_database


def cli_settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


@contextmanager
def cli_session(migrate: bool = True) -> Iterator[tuple[Settings, Session]]:
    """A committed-on-success session on a database migrated to the newest schema."""
    settings = cli_settings()
    if migrate:
        upgrade_database(settings.database_url_resolved)
    database = Database(settings.database_url_resolved)
    try:
        with database.sessions() as session, session.begin():
            yield settings, session
    finally:
        database.dispose()


def emit(as_json: bool, data: Any, text: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text)


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
