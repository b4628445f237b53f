"""``crashsvc symbols upload|list``: debug files from the command line (on the server host).

``upload`` walks files, folders (``.dSYM`` bundles) and zips, skips debug files the app already has
(by debug id), stores the rest and queues the same SymCache job as the HTTP endpoint.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from crashsvc.cli.admin import _app_by_ref
from crashsvc.cli.context import cli_session, cli_settings, emit, json_option
from crashsvc.migrate import upgrade_database
from crashsvc.queue import BUILD_SYMCACHES_JOB
from crashsvc.services import Services
from crashsvc.symbols import (
    SymbolFileError,
    SymbolStore,
    UploadLimits,
    UploadMetadata,
    identify_file,
    walk_upload,
)
from crashsvc.symbols.catalog import known_debug_ids, list_symbol_files, record_stored_files, symbol_file_json
from crashsvc.symbols.errors import INVALID_SYMBOL_FILE
from crashsvc.symbols.upload import UploadEntry, remove_scratch


@contextmanager
def cli_services() -> Iterator[Services]:
    """Database (migrated) and queue, as the web app has them."""
    settings = cli_settings()
    upgrade_database(settings.database_url_resolved)
    try:
        services = Services(settings)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    try:
        yield services
    finally:
        services.close()


@click.group()
def symbols() -> None:
    """Debug files (dSYM, ELF, PDB, Breakpad, ProGuard mappings, source maps) per app."""


@symbols.command("upload")
@click.option("--app", "app_ref", required=True, help="App id or name.")
@click.option("--release", help="Release the JavaScript files belong to.")
@click.option("--app-version", help="App version a ProGuard mapping belongs to.")
@click.option("--build", help="Build a ProGuard mapping belongs to.")
@click.option("--url-prefix", default="~/", show_default=True, help="URL prefix of JavaScript files.")
@json_option
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def symbols_upload(
    app_ref: str,
    release: str | None,
    app_version: str | None,
    build: str | None,
    url_prefix: str,
    as_json: bool,
    paths: tuple[Path, ...],
) -> None:
    """Upload debug files: files, folders (.dSYM bundles) and zip files."""
    metadata = UploadMetadata(release=release, app_version=app_version, build=build, url_prefix=url_prefix)
    with cli_services() as services:
        settings = services.settings
        store = SymbolStore(settings.symbols_path)
        limits = UploadLimits(settings.symbols_max_upload_bytes, settings.symbols_max_files)
        with services.db.transaction() as session:
            app = _app_by_ref(session, app_ref)
            app_id, known = app.id, known_debug_ids(session, app.id)
        summary = {"app_id": app_id, "uploaded": [], "skipped": [], "ignored": [], "job_id": None}
        stored = []
        for path in paths:
            scratch = Path(tempfile.mkdtemp(dir=store.root / "tmp", prefix="cli-"))
            try:
                entries = list(walk_upload(path, scratch, limits))
                for entry in _progress(entries, path.name, enabled=not as_json and sys.stdout.isatty()):
                    stored.extend(
                        _store_entry(store, entry, metadata, known, summary, lone=len(entries) == 1)
                    )
            except SymbolFileError as error:
                raise click.ClickException(f"{path}: {error.code}: {error.message}") from None
            finally:
                remove_scratch(scratch)
        with services.db.transaction() as session:
            rows = record_stored_files(session, app_id, store.root, stored, None)
            pending = sorted({row.id for row in rows if row.status != "ready"})
            summary["uploaded"] = [symbol_file_json(row) for row in {row.id: row for row in rows}.values()]
        if pending:
            summary["job_id"] = services.queue.enqueue_task(
                BUILD_SYMCACHES_JOB, pending, description=f"build symcaches for app {app_id}"
            )
    lines = [
        f"uploaded {row['kind']} {row['debug_id'] or ''} {row['object_name']}" for row in summary["uploaded"]
    ]
    lines += [f"skipped (already uploaded) {name}" for name in summary["skipped"]]
    lines.append(
        f"{len(summary['uploaded'])} uploaded, {len(summary['skipped'])} skipped, "
        f"{len(summary['ignored'])} not symbol files"
    )
    emit(as_json, summary, "\n".join(lines))


def _store_entry(
    store: SymbolStore,
    entry: UploadEntry,
    metadata: UploadMetadata,
    known: set[str],
    summary: dict,
    lone: bool,
) -> list:
    try:
        identified = identify_file(entry.path, entry.name)
    except SymbolFileError as error:
        if lone or error.code != INVALID_SYMBOL_FILE:
            raise
        summary["ignored"].append(entry.name)  # Info.plist, READMEs inside bundles and zips
        return []
    ids = {item.debug_id for item in identified}
    if ids and None not in ids and ids <= known:
        summary["skipped"].append(entry.name)
        return []
    records = store.add_file(entry.path, entry.name, metadata, build_symcaches=False)
    known.update(record.debug_id for record in records if record.debug_id)
    return records


def _progress(entries: list[UploadEntry], label: str, enabled: bool) -> Iterator[UploadEntry]:
    if not enabled:
        yield from entries
        return
    from rich.progress import track

    yield from track(entries, description=f"uploading {label}")


@symbols.command("list")
@click.option("--app", "app_ref", required=True, help="App id or name.")
@json_option
def symbols_list(app_ref: str, as_json: bool) -> None:
    """List an app's debug files, newest first."""
    with cli_session() as (_settings, session):
        app = _app_by_ref(session, app_ref)
        rows = [symbol_file_json(row) for row in list_symbol_files(session, app.id, limit=10_000)]
    text = "\n".join(
        f"{r['uploaded_at']}\t{r['status']}\t{r['kind']}\t{r['arch'] or '-'}\t{r['debug_id'] or '-'}"
        f"\t{r['object_name']}"
        for r in rows
    )
    emit(as_json, {"app_id": app.id, "files": rows}, text or "no symbol files")
