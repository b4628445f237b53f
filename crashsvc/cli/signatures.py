"""``crashsvc signatures diff|regroup``: what another signature algorithm would do to stored groups, and doing it."""

from __future__ import annotations

import click

from crashsvc.cli.context import cli_settings, emit, json_option


def _algorithm(algorithm: str | None) -> str:
    from workers.grouping import DEFAULT_ALGORITHM, UnknownAlgorithm, get_algorithm

    try:
        return get_algorithm(algorithm or DEFAULT_ALGORITHM).id
    except UnknownAlgorithm as error:
        raise click.BadParameter(str(error), param_hint="--algorithm") from None


def _database():
    from crashsvc.db import Database
    from crashsvc.migrate import upgrade_database

    settings = cli_settings()
    upgrade_database(settings.database_url_resolved)
    return Database(settings.database_url_resolved)


def _app_id(database, app_ref: str | None) -> int | None:
    if app_ref is None:
        return None
    from sqlalchemy import select

    from crashsvc.models import App

    with database.sessions() as session:
        query = (
            select(App.id).where(App.id == int(app_ref))
            if app_ref.isdigit()
            else select(App.id).where(App.name == app_ref)
        )
        app_id = session.scalar(query)
    if app_id is None:
        raise click.BadParameter(f"no app {app_ref!r}", param_hint="--app")
    return app_id


@click.group("signatures")
def signatures() -> None:
    """Compare and apply signature algorithms on stored reports."""


@signatures.command("diff")
@click.option(
    "--algorithm", default=None, metavar="ID", help="Algorithm to compare with (default: the current one)."
)
@click.option("--app", "app_ref", default=None, help="App id or name (default: every app).")
@json_option
def diff(algorithm: str | None, app_ref: str | None, as_json: bool) -> None:
    """Show, without writing, how many stored reports would move to which groups."""
    from crashsvc.groups.regroup import diff_signatures

    database = _database()
    try:
        result = diff_signatures(database.sessions, _algorithm(algorithm), _app_id(database, app_ref))
    finally:
        database.dispose()
    lines = [
        f"{result.algorithm}: {result.examined} reports, {result.moving} would move, "
        f"{result.examined - result.moving} stay"
    ]
    for (source, target, signature), count in result.moves.most_common():
        into = f"group {target}" if target is not None else "a new group"
        lines.append(f"  {count:>6}  group {source} → {into}: {signature}")
    emit(as_json, result.as_dict(), "\n".join(lines))


def run_regroup(algorithm: str | None, app_ref: str | None, as_json: bool) -> None:
    """Shared by ``signatures regroup`` and ``reprocess --regroup``."""
    from crashsvc.groups.regroup import regroup_reports

    database = _database()
    try:
        summary = regroup_reports(database.write_sessions, _app_id(database, app_ref), _algorithm(algorithm))
    finally:
        database.dispose()
    emptied = ", ".join(map(str, summary.groups_emptied)) or "none"
    emit(
        as_json,
        summary.as_dict(),
        f"{summary.algorithm}: {summary.examined} reports examined, {summary.moved} moved, "
        f"{summary.groups_created} groups created, groups left empty: {emptied}",
    )


@signatures.command("regroup")
@click.option(
    "--algorithm", default=None, metavar="ID", help="Algorithm to regroup with (default: the current one)."
)
@click.option("--app", "app_ref", default=None, help="App id or name (default: every app).")
@json_option
def regroup(algorithm: str | None, app_ref: str | None, as_json: bool) -> None:
    """Move stored reports to the groups the algorithm gives them (idempotent; recorded in group history)."""
    run_regroup(algorithm, app_ref, as_json)
