"""The app overview: what is crashing most, what is new, what came back, which symbols are missing."""

from __future__ import annotations

from flask import Blueprint, render_template

from crashsvc.db import db_session
from crashsvc.web.access import app_for_page, login_required
from crashsvc.web.charts import bar_chart, sparkline
from crashsvc.web.overview_data import overview

bp = Blueprint("web_apps", __name__)


@bp.get("/apps/<int:app_id>")
@login_required
def overview_page(app_id: int):
    app, role = app_for_page(app_id)
    data = overview(db_session(), app_id)
    sparks = {group_id: sparkline(values) for group_id, values in data["sparklines"].items()}
    return render_template("overview.html", app=app, data=data, chart=bar_chart(data["daily"]), sparks=sparks,
                           app_tabs={"app": app, "role": role, "active": "overview"})

