"""``crashsvc purge``, ``crashsvc reports delete``, ``crashsvc groups recount`` and ``crashsvc audit``."""

from __future__ import annotations

import sys
import uuid
from datetime import timedelta
from typing import Any

import click

from config.settings import parse_duration_seconds
from crashsvc.audit import audit_event_json, cli_actor, list_audit_events, record_audit_event
from crashsvc.cli.context import cli_settings, emit, json_option
from crashsvc.db import Database
from crashsvc.migrate import upgrade_database
from crashsvc.models import App, Group
from crashsvc.purge.aggregates import aggregate_drift, group_ids_of_app, recount_group
from crashsvc.purge.reports import PurgeResult, PurgeScope, ReportPurger, plan_dropped_days, plan_purge
from crashsvc.purge.space import SQLITE_RECLAIM_BUDGET_SECONDS
from crashsvc.purge.symbols import plan_symbol_purge, purge_unused_symbols


def _database() -> tuple[Any, Database]:
    settings = cli_settings()
    upgrade_database(settings.database_url_resolved)
    return settings, Database(settings.database_url_resolved)


def _app_id(db: Database, ref: str | None) -> int | None:
    if ref is None:
        return None
    with db.sessions() as session:
        app = session.get(App, int(ref)) if ref.isdigit() else None
        app = app or session.query(App).filter(App.name == ref).first()
        if app is None:
            raise click.ClickException(f"no app {ref!r}")
        return app.id


def _mib(size: int) -> str:
    return f"{size / 1024**2:.1f} MiB"


def _duration(_ctx: Any, _param: Any, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return timedelta(seconds=parse_duration_seconds(value))
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _plan_text(plans: list[Any], symbols: dict[str, Any] | None) -> str:
    lines = [f"{'app':<24} {'reports':>9}  {'oldest':<20} {'newest':<20} {'size (est.)':>12}"]
    for plan in plans:
        oldest = plan.oldest.strftime("%Y-%m-%d %H:%M") if plan.oldest else "-"
        newest = plan.newest.strftime("%Y-%m-%d %H:%M") if plan.newest else "-"
        lines.append(
            f"{plan.app_name[:24]:<24} {plan.reports:>9}  {oldest:<20} {newest:<20} "
            f"{_mib(plan.estimated_bytes):>12}"
        )
    total = sum(plan.reports for plan in plans)
    lines.append(f"total: {total} reports, about {_mib(sum(plan.estimated_bytes for plan in plans))}")
    if symbols is not None:
        lines.append(f"symbol files: {symbols['files']} ({_mib(symbols['bytes'])})")
    return "\n".join(lines)


def _summary_text(result: PurgeResult, symbols: dict[str, Any] | None) -> str:
    text = (
        f"purged {result.total} reports from {len(result.deleted)} app(s) in {result.seconds:.1f} s "
        f"({result.batches} batches, {result.groups_removed} empty groups removed)"
    )
    if result.days_dropped:
        text += f"\n{result.days_dropped} of the batches were whole days, dropped (a table each)"
    space = result.space
    if space is not None:
        text += (
            f"\nspace: {_mib(space.before)} -> {_mib(space.after)}, "
            f"returned to the file system {_mib(space.reclaimed)} ({space.note})"
        )
        if space.free_before_reclaim is not None:
            text += (
                f"\nfree inside the database after deleting: {_mib(space.free_before_reclaim)} "
                f"(reusable by new reports at once); still free: {_mib(space.free_after or 0)}"
            )
    if symbols is not None:
        text += f"\nsymbol files purged: {symbols['files']} ({_mib(symbols['bytes'])})"
    return text


@click.command()
@click.option("--older-than", callback=_duration, help="Remove reports received longer ago: 90d, 12h, 2w.")
@click.option("--retention", is_flag=True, help="Apply each app's own retention period instead.")
@click.option("--app", "app_ref", help="Only this app (id or name).")
@click.option("--group", "group_id", type=int, help="Only this group (id).")
@click.option("--dry-run", is_flag=True, help="Show what would go, per app; change nothing.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    help="Reports per transaction [default: 100,000 on SQLite, 20,000 on PostgreSQL].",
)
@click.option("--keep-empty-groups", is_flag=True, help="Keep groups whose reports all went.")
@click.option(
    "--reclaim",
    type=click.Choice(["bounded", "full"]),
    default="bounded",
    show_default=True,
    help="SQLite: return freed pages to the file system for at most "
    f"{SQLITE_RECLAIM_BUDGET_SECONDS:.0f} s (the rest stays reusable, later runs return it) or all of them.",
)
@click.option(
    "--pause-ratio",
    type=click.FloatRange(min=0),
    help="Rest after each batch for this fraction of what it took: its time on SQLite, the CPU it "
    "used on PostgreSQL on this machine (default: 0 on SQLite, 1 on PostgreSQL).",
)
@click.option(
    "--symbols-unused-for",
    type=click.IntRange(min=1),
    metavar="DAYS",
    help="Also purge symbol files unused this many days that no report waits for.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def purge(
    older_than: timedelta | None,
    retention: bool,
    app_ref: str | None,
    group_id: int | None,
    dry_run: bool,
    batch_size: int | None,
    keep_empty_groups: bool,
    reclaim: str,
    pause_ratio: float | None,
    symbols_unused_for: int | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Remove old reports in short batches, keep group counters exact, and give the space back."""
    if (older_than is None) == (not retention):
        raise click.UsageError("give exactly one of --older-than DURATION or --retention")
    settings, db = _database()
    try:
        app_id = _app_id(db, app_ref)
        if group_id is not None:
            with db.sessions() as session:
                group = session.get(Group, group_id)
                if group is None or (app_id is not None and group.app_id != app_id):
                    raise click.ClickException(f"no group {group_id}" + (" in that app" if app_id else ""))
                app_id = group.app_id
        scope = PurgeScope(older_than=older_than, app_id=app_id, group_id=group_id)
        with db.sessions() as session:
            plans = plan_purge(session, scope, settings.default_retention_days)
            days = plan_dropped_days(session, scope, settings.default_retention_days) if dry_run else None
        symbols = plan_symbol_purge(db, symbols_unused_for, app_id) if symbols_unused_for else None
        if dry_run:
            text = _plan_text(plans, symbols)
            if days is not None:
                text += f"\n{len(days)} whole days would be dropped, the rest deleted row by row"
            emit(
                as_json,
                {
                    "dry_run": True,
                    "apps": [plan.as_dict() for plan in plans],
                    "symbols": symbols,
                    "days_dropped_whole": None if days is None else len(days),
                },
                text,
            )
            return
        interactive = sys.stdin.isatty() and sys.stdout.isatty() and not as_json
        if interactive and not yes:
            click.echo(_plan_text(plans, symbols))
            click.confirm("Delete these reports for good?", abort=True)
        result = _run(
            db,
            scope,
            settings.default_retention_days,
            batch_size,
            keep_empty_groups,
            sum(plan.reports for plan in plans),
            interactive,
            reclaim_budget=None if reclaim == "full" else SQLITE_RECLAIM_BUDGET_SECONDS,
            pause_ratio=pause_ratio,
        )
        if symbols_unused_for:
            symbols = purge_unused_symbols(
                db, settings.symbols_path, symbols_unused_for, actor=cli_actor(), app_id=app_id
            )
        emit(as_json, result.as_dict() | {"symbols": symbols}, _summary_text(result, symbols))
    finally:
        db.dispose()


def _run(
    db: Database,
    scope: PurgeScope,
    default_days: int,
    batch_size: int | None,
    keep_empty_groups: bool,
    total: int,
    interactive: bool,
    *,
    reclaim_budget: float | None,
    pause_ratio: float | None,
) -> PurgeResult:
    result = PurgeResult(run_id=uuid.uuid4().hex[:12])  # filled in as batches commit
    purger = ReportPurger(
        db,
        actor=cli_actor(),
        batch_size=batch_size,
        keep_empty_groups=keep_empty_groups,
        reclaim_budget=reclaim_budget,
        pause_ratio=pause_ratio,
    )
    try:
        if not interactive:
            return purger.run(scope, default_days, result=result)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=False,
        ) as progress:
            task = progress.add_task("purging", total=total or None)
            purger.progress = lambda _app_id, removed: progress.advance(task, removed)
            return purger.run(scope, default_days, result=result)
    except KeyboardInterrupt:
        click.echo(
            f"\ninterrupted: {result.total} reports were purged in {result.batches} committed batches; "
            "counters are consistent. Run the same command again to finish.",
            err=True,
        )
        raise SystemExit(130) from None


@click.group()
def reports() -> None:
    """Stored and queued reports."""


@reports.command("delete")
@click.argument("report_ids", nargs=-1, required=True)
@json_option
def reports_delete(report_ids: tuple[str, ...], as_json: bool) -> None:
    """Delete reports by id, wherever they are (spool, queue, database), and uncount them."""
    from crashsvc.purge.deletion import delete_report
    from crashsvc.services import Services

    settings = cli_settings()
    upgrade_database(settings.database_url_resolved)
    try:
        services = Services(settings)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    actor, results = cli_actor(), {}
    try:
        for report_id in report_ids:
            results[report_id] = delete_report(services, report_id, actor=actor)
    finally:
        services.close()
    lines = [
        f"{rid}\t{', '.join(p for p in ('spool', 'queue', 'stored') if found[p]) or 'not found'}"
        for rid, found in results.items()
    ]
    emit(as_json, {"deleted": results}, "\n".join(lines))
    if not any(any(found.values()) for found in results.values()):
        raise SystemExit(1)


@click.group()
def groups() -> None:
    """Groups of reports (one bug each)."""


@groups.command("recount")
@click.option("--app", "app_ref", help="Only this app (id or name).")
@json_option
def groups_recount(app_ref: str | None, as_json: bool) -> None:
    """Recompute every group's aggregates from its reports; prints which ones had drifted."""
    _settings, db = _database()
    drifted: dict[int, list[str]] = {}
    try:
        app_id = _app_id(db, app_ref)
        with db.sessions() as session:
            group_ids = group_ids_of_app(session, app_id)
        for group_id in group_ids:
            with db.transaction() as session:  # one group at a time: workers wait for one row only
                drift = aggregate_drift(session, group_id)
                if drift:
                    drifted[group_id] = sorted(drift)
                recount_group(session, group_id)
        with db.transaction() as session:
            record_audit_event(
                session,
                "groups.recount",
                cli_actor(),
                app_id=app_id,
                count=len(group_ids),
                scope={"app_id": app_id} if app_id else {},
                detail={"drifted": len(drifted)},
            )
    finally:
        db.dispose()
    emit(
        as_json,
        {"groups": len(group_ids), "drifted": {str(k): v for k, v in drifted.items()}},
        f"recounted {len(group_ids)} groups; {len(drifted)} had drifted"
        + "".join(f"\n  group {gid}: {', '.join(names)}" for gid, names in drifted.items()),
    )


@click.command("audit")
@click.option("--app", "app_ref", help="Only events of this app (and those across all apps).")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@json_option
def audit(app_ref: str | None, limit: int, as_json: bool) -> None:
    """Show the audit log: purges, deletions and recounts (who, when, scope, how many)."""
    _settings, db = _database()
    try:
        app_id = _app_id(db, app_ref)
        with db.sessions() as session:
            events = [audit_event_json(event) for event in list_audit_events(session, app_id, limit)]
    finally:
        db.dispose()
    lines = [
        f"{e['at'][:19]}  {e['action']:<14} {e['actor']:<20} app={e['app_id'] or '*'}  "
        f"count={e['count']}  {e['scope']}"
        for e in events
    ]
    emit(as_json, {"events": events}, "\n".join(lines) or "no audit events")
