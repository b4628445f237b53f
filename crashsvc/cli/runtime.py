"""``crashsvc serve|worker|db|config``: running the service."""

from __future__ import annotations

import click

from config.settings import describe_settings
from crashsvc.cli.context import cli_settings
from crashsvc.migrate import upgrade_database


@click.command()
def serve() -> None:
    """Run everything in the foreground: embedded Valkey (unless CRASHSVC_REDIS_URL), web, workers."""
    from crashsvc.serve import Supervisor

    raise SystemExit(Supervisor(cli_settings()).run())


@click.command()
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option("--name", help="Worker name (defaults to RQ's).")
def worker(burst: bool, name: str | None) -> None:
    """Run one report-processing worker."""
    from workers.worker import run_worker

    run_worker(burst=burst, name=name)


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (the Procfile's release step)."""
    settings = cli_settings()
    upgrade_database(settings.database_url_resolved)
    click.echo("database is up to date")


@click.command("config")
def config_cmd() -> None:
    """List every setting with its default and what it does."""
    click.echo(describe_settings())
