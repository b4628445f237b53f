"""``crashsvc reprocess``: queue stored reports to be symbolicated and grouped again.

The worker's ``workers.reprocess.reprocess_report`` job does the work (by report id, idempotent);
this command only picks the reports. Uploading symbols queues the reports that waited for them by
itself; use this after fixing something by hand, or with ``--regroup`` after a new signature
algorithm becomes the default.
"""

from __future__ import annotations

import click
from sqlalchemy import select

from crashsvc.cli.admin import _app_by_ref
from crashsvc.cli.context import emit, json_option
from crashsvc.cli.symbols import cli_services
from crashsvc.models import Report, ReportMissingSymbol
from crashsvc.queue import REPROCESS_REPORT_JOB


@click.command()
@click.option("--app", "app_ref", help="Every report of this app (id or name).")
@click.option("--group", "group_id", type=int, help="Every report of this group.")
@click.option("--report", "report_ids", multiple=True, help="This report (repeatable).")
@click.option("--missing-symbols", is_flag=True, help="Only reports still missing debug files.")
@click.option("--regroup", is_flag=True, help="Recompute signatures with the current default algorithm.")
@click.option(
    "--now",
    is_flag=True,
    help="With --regroup: regroup in this process, without re-symbolicating "
    "(crashsvc.groups.regroup: group history, a summary); --app or every app.",
)
@json_option
def reprocess(
    app_ref: str | None,
    group_id: int | None,
    report_ids: tuple[str, ...],
    missing_symbols: bool,
    regroup: bool,
    now: bool,
    as_json: bool,
) -> None:
    """Re-run symbolication and grouping on stored reports (never anonymization: they already are)."""
    if now:
        if not regroup or group_id is not None or report_ids or missing_symbols:
            raise click.UsageError("--now goes with --regroup and at most --app")
        from crashsvc.cli.signatures import run_regroup

        run_regroup(None, app_ref, as_json)
        return
    if not (app_ref or group_id is not None or report_ids or missing_symbols):
        raise click.UsageError("choose reports with --app, --group, --report or --missing-symbols")
    with cli_services() as services:
        with services.db.transaction() as session:
            # received_at is selected too: SQLite then merges the days' indexes instead of reading
            # every report in scope (crashsvc/models/partitions.py).
            query = select(Report.id, Report.received_at)
            if app_ref:
                query = query.where(Report.app_id == _app_by_ref(session, app_ref).id)
            if group_id is not None:
                query = query.where(Report.group_id == group_id)
            if report_ids:
                query = query.where(Report.id.in_(report_ids))
            if missing_symbols:
                query = query.where(Report.id.in_(select(ReportMissingSymbol.report_id)))
            ids = [row.id for row in session.execute(query.order_by(Report.received_at, Report.id))]
        for report_id in ids:
            services.queue.enqueue_task(
                REPROCESS_REPORT_JOB, report_id, regroup, description=f"reprocess report {report_id}"
            )
    emit(
        as_json,
        {"queued": len(ids), "report_ids": ids, "regroup": regroup},
        f"queued {len(ids)} report(s) for reprocessing",
    )
