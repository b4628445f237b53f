"""``crashsvc failed list|retry|drop``: the dead letters (jobs that failed for good)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from crashsvc.cli.context import cli_settings, emit, json_option
from crashsvc.services import Services
from crashsvc.valkey import EmbeddedValkey


@contextmanager
def cli_services() -> Iterator[Services]:
    """Services for a CLI command; without CRASHSVC_REDIS_URL, the embedded Valkey of `crashsvc serve`."""
    settings = cli_settings()
    if not settings.redis_url:
        embedded = EmbeddedValkey(settings.data_dir / "valkey")
        if embedded.socket_path is None:
            raise click.ClickException(
                "set CRASHSVC_REDIS_URL (the embedded Valkey's socket path is too long)"
            )
        settings = settings.replace(redis_url=embedded.url)
    services = Services(settings)
    try:
        yield services
    finally:
        services.close()


@click.group()
def failed() -> None:
    """Reports whose processing failed for good: list, retry or drop them."""


@failed.command("list")
@json_option
def failed_list(as_json: bool) -> None:
    """List dead letters (ids and error types only: no payload is ever shown)."""
    from crashsvc.deadletters import list_dead_letters

    with cli_services() as services:
        letters = list_dead_letters(services)
    text = "\n".join(
        f"{letter['id']}\t{letter['job']}\t{letter['error_type']}\t{letter['failed_at']}"
        f"{'' if letter['payload_available'] else '  (payload expired)'}"
        for letter in letters
    )
    emit(as_json, {"dead_letters": letters}, text or "no dead letters")


def _selected(services: Services, ids: tuple[str, ...], all_: bool) -> list[str]:
    from crashsvc.deadletters import list_dead_letters

    if all_:
        return [letter["id"] for letter in list_dead_letters(services)]
    if not ids:
        raise click.UsageError("give job ids or --all")
    return list(ids)


@failed.command("retry")
@click.argument("ids", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every dead letter.")
@json_option
def failed_retry(ids: tuple[str, ...], all_: bool, as_json: bool) -> None:
    """Queue dead letters again (after fixing what made them fail)."""
    from crashsvc.deadletters import retry_dead_letter

    with cli_services() as services:
        results = {job_id: retry_dead_letter(services, job_id) for job_id in _selected(services, ids, all_)}
    emit(
        as_json,
        {"results": results},
        "\n".join(f"{job_id}\t{result}" for job_id, result in results.items()) or "nothing to retry",
    )


@failed.command("drop")
@click.argument("ids", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every dead letter.")
@json_option
def failed_drop(ids: tuple[str, ...], all_: bool, as_json: bool) -> None:
    """Forget dead letters and their sealed payloads for good."""
    from crashsvc.deadletters import drop_dead_letter

    with cli_services() as services:
        results = {
            job_id: "dropped" if drop_dead_letter(services, job_id) else "not_found"
            for job_id in _selected(services, ids, all_)
        }
    emit(
        as_json,
        {"results": results},
        "\n".join(f"{job_id}\t{result}" for job_id, result in results.items()) or "nothing to drop",
    )
