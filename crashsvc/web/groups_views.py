"""Crash groups: the filtered list with sparklines and bulk actions, the detail page, triage actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from crashsvc.db import db_session
from crashsvc.errors import ApiError, NotFound
from crashsvc.groups import lifecycle, queries
from crashsvc.groups.queries import GroupFilter
from crashsvc.models import Group, Report, User
from crashsvc.models.base import utcnow
from crashsvc.web.access import app_for_page, current_user, login_required, may, safe_next
from crashsvc.web.charts import bar_chart, sparkline
from crashsvc.web.stack import crashed_thread

bp = Blueprint("web_groups", __name__)
PAGE_SIZES = (25, 50, 100)
SPARK_DAYS = 14
FILTER_FIELDS = ("status", "app_version", "os_name", "os_version", "platform", "since", "until", "q", "sort")
# What each status button does: (status, label). "Reopen" sets unresolved.
ACTIONS = {"resolve": "resolved", "ignore": "ignored", "reopen": "unresolved"}


def _day(value: str | None, field: str, errors: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        errors.append(f"{field} must be a date (YYYY-MM-DD); ignored.")
        return None


def parse_filter(args: MultiDict) -> tuple[GroupFilter, int, list[str]]:
    """The list's query string as a ``GroupFilter``, the page number and any input errors."""
    errors: list[str] = []
    sort = args.get("sort") or "last_seen"
    if sort not in queries.SORTS:
        errors.append("Unknown sort; showing by last seen.")
        sort = "last_seen"
    status = args.get("status") or None
    if status and status not in lifecycle.STATUSES:
        errors.append("Unknown status; showing all.")
        status = None
    per_page = args.get("per_page", type=int) or 50
    per_page = per_page if per_page in PAGE_SIZES else 50
    page = max(args.get("page", type=int) or 1, 1)
    flt = GroupFilter(
        status=status,
        app_version=(args.get("app_version") or "").strip() or None,
        os_name=(args.get("os_name") or "").strip() or None,
        os_version=(args.get("os_version") or "").strip() or None,
        platform=(args.get("platform") or "").strip() or None,
        since=_day(args.get("since"), "From", errors),
        until=_day(args.get("until"), "To", errors),
        search=(args.get("q") or "").strip()[:200] or None,
        sort=sort,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    return flt, page, errors


@bp.get("/apps/<int:app_id>/groups")
@login_required
def group_list(app_id: int):
    app, role = app_for_page(app_id)
    session = db_session()
    flt, page, errors = parse_filter(request.args)
    groups, total = queries.list_groups(session, app_id, flt)
    series = queries.daily_counts(session, [group.id for group in groups], SPARK_DAYS, utcnow().date())
    kept = {key: request.args[key] for key in FILTER_FIELDS if request.args.get(key)}
    if flt.limit != 50:
        kept["per_page"] = flt.limit
    pages = max((total + flt.limit - 1) // flt.limit, 1)
    return render_template(
        "groups.html",
        app=app,
        role=role,
        groups=groups,
        total=total,
        flt=flt,
        page=page,
        pages=pages,
        sparks={group_id: sparkline(values) for group_id, values in series.items()},
        errors=errors,
        kept=kept,
        args=request.args,
        statuses=lifecycle.STATUSES,
        sorts=list(queries.SORTS),
        can_triage=may(role, "developer"),
        app_tabs={"app": app, "role": role, "active": "groups"},
        this_url=request.full_path.rstrip("?"),
    )


@bp.post("/apps/<int:app_id>/groups/bulk")
@login_required
def bulk_status(app_id: int):
    app_for_page(app_id, "developer")
    action = request.form.get("action", "")
    status = ACTIONS.get(action)
    back = safe_next(request.form.get("next")) or url_for("web_groups.group_list", app_id=app_id)
    if status is None:
        flash("Choose resolve or ignore.", "error")
        return redirect(back)
    ids = sorted({int(value) for value in request.form.getlist("group_ids") if value.isdigit()})[:500]
    session = db_session()
    changed = 0
    for group in session.scalars(select(Group).where(Group.id.in_(ids), Group.app_id == app_id)):
        try:
            lifecycle.set_status(session, group, status, user=current_user(), via="ui-bulk")
            changed += 1
        except ApiError as error:
            flash(f"Group #{group.id}: {error.message}", "error")
    session.commit()
    flash(
        f"{changed} group(s) marked {status}." if changed else "No groups selected.",
        "success" if changed else "error",
    )
    return redirect(back)


def _group_or_404(group_id: int) -> Group:
    group = db_session().get(Group, group_id)
    if group is None:
        raise NotFound("No such group.")
    return group


def latest_app_version(session, app_id: int) -> str | None:
    """The app version of the app's most recent report: "resolve in next version" means after it."""
    # received_at is selected too: SQLite merges the days' indexes (crashsvc/models/partitions.py)
    # only when the ORDER BY's column is in the result; otherwise it reads every report of the app.
    newest = session.execute(
        select(Report.app_version, Report.received_at)
        .where(Report.app_id == app_id, Report.app_version.is_not(None))
        .order_by(Report.received_at.desc())
        .limit(1)
    ).first()
    return newest.app_version if newest else None


def breakdown_rows(values: list[tuple[str, int]], limit: int = 8) -> list[dict]:
    total = sum(count for _value, count in values) or 1
    rows = [
        {"value": value, "count": count, "share": round(100 * count / total, 1)}
        for value, count in values[:limit]
    ]
    rest = sum(count for _value, count in values[limit:])
    if rest:
        rows.append(
            {"value": f"{len(values) - limit} others", "count": rest, "share": round(100 * rest / total, 1)}
        )
    return rows


@bp.get("/groups/<int:group_id>")
@login_required
def group_detail(group_id: int):
    group = _group_or_404(group_id)
    app, role = app_for_page(group.app_id)
    if group.merged_into_id is not None:
        flash(f"Group #{group.id} was merged into this group.", "info")
        return redirect(url_for("web_groups.group_detail", group_id=group.merged_into_id))
    session = db_session()
    today = utcnow().date()
    samples = queries.sample_reports(session, group.id, limit=10)
    latest = samples[0] if samples else None
    daily = queries.daily_counts(session, [group.id], 30, today)[group.id]
    days = [today - timedelta(days=offset) for offset in range(29, -1, -1)]
    history = queries.group_history(session, group.id)
    notes = queries.group_notes(session, group.id)
    user_ids = {row.user_id for row in [*history, *notes] if row.user_id}
    emails = (
        dict(session.execute(select(User.id, User.email).where(User.id.in_(user_ids))).all())
        if user_ids
        else {}
    )
    breakdowns = {
        dimension: breakdown_rows(values)
        for dimension, values in queries.group_breakdowns(session, group.id).items()
    }
    return render_template(
        "group.html",
        app=app,
        role=role,
        group=group,
        latest=latest,
        samples=samples,
        thread=crashed_thread(latest.data) if latest and isinstance(latest.data, dict) else None,
        chart=bar_chart(list(zip(days, daily, strict=True))),
        breakdowns=breakdowns,
        history=history,
        notes=notes,
        emails=emails,
        can_triage=may(role, "developer"),
        next_version=latest_app_version(session, group.app_id),
        app_tabs={"app": app, "role": role, "active": "groups"},
    )


@bp.post("/groups/<int:group_id>/status")
@login_required
def change_status(group_id: int):
    group = _group_or_404(group_id)
    app_for_page(group.app_id, "developer")
    session = db_session()
    status = ACTIONS.get(request.form.get("action", ""))
    if status is None:
        raise ApiError("Unknown action.", code="invalid_status")
    version = None
    if request.form.get("action") == "resolve" and request.form.get("in_next_version"):
        version = latest_app_version(session, group.app_id)
        if version is None:
            flash("No app version is known yet; resolved without a version.", "info")
    lifecycle.set_status(session, group, status, user=current_user(), resolved_in_version=version, via="ui")
    session.commit()
    label = f"resolved in the version after {version}" if version else status
    flash(f"Group #{group.id} marked {label}.", "success")
    return redirect(url_for("web_groups.group_detail", group_id=group.id))


@bp.post("/groups/<int:group_id>/notes")
@login_required
def add_note(group_id: int):
    group = _group_or_404(group_id)
    app_for_page(group.app_id, "developer")
    session = db_session()
    try:
        lifecycle.add_note(session, group, user=current_user(), text=request.form.get("text", ""))
        session.commit()
        flash("Note added.", "success")
    except ApiError as error:
        session.rollback()
        flash(error.message, "error")
    return redirect(url_for("web_groups.group_detail", group_id=group.id) + "#notes")
