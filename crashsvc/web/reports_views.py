"""One stored report: its stack, threads, images, breadcrumbs and what the pipeline did to it."""

from __future__ import annotations

from flask import Blueprint, render_template

from crashsvc.db import db_session
from crashsvc.errors import NotFound
from crashsvc.models import Group, Report
from crashsvc.web.access import app_for_page, login_required
from crashsvc.web.stack import pretty_json, threads_crashed_first

bp = Blueprint("web_reports", __name__)


@bp.get("/reports/<report_id>")
@login_required
def report_detail(report_id: str):
    session = db_session()
    report = session.get(Report, report_id) if len(report_id) <= 36 else None
    if report is None:
        raise NotFound("No such report.")
    app, role = app_for_page(report.app_id)
    group = session.get(Group, report.group_id) if report.group_id else None
    data = report.data if isinstance(report.data, dict) else {}
    return render_template(
        "report.html",
        app=app,
        report=report,
        group=group,
        data=data,
        app_tabs={"app": app, "role": role, "active": "groups"},
        threads=threads_crashed_first(data),
        images=[image for image in data.get("images") or [] if isinstance(image, dict)],
        breadcrumbs=[crumb for crumb in data.get("breadcrumbs") or [] if isinstance(crumb, dict)],
        raw_json=pretty_json(data),
    )
