"""The app overview: what is crashing most, what is new, what came back, which symbols are missing."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template

from crashsvc.web.access import app_for_page, login_required
from crashsvc.web.charts import bar_chart, sparkline
from crashsvc.web.overview_data import overview

bp = Blueprint("web_apps", __name__)


@bp.get("/apps/<int:app_id>")
@login_required
def overview_page(app_id: int):
    app, role = app_for_page(app_id)
    tabs = {"app": app, "role": role, "active": "overview"}
    data = overview(app_id)
    if data is None:  # a large app's first snapshot is being computed; the page reloads itself
        return render_template("overview_pending.html", app=app, app_tabs=tabs), 202
    groups = [group for key in ("top_groups", "new_groups_7d", "regressed_groups_7d") for group in data[key]]
    sparks = {group["id"]: sparkline(group["daily_14d"]) for group in groups}
    daily = [(date.fromisoformat(point["date"]), point["count"]) for point in data["daily"]]
    return render_template(
        "overview.html", app=app, data=data, chart=bar_chart(daily), sparks=sparks, app_tabs=tabs
    )
