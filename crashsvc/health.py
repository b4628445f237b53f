"""``/healthz`` (alive), ``/readyz`` (Redis and database reachable) and ``/metrics``."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from crashsvc import metrics

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    services = current_app.extensions["crashsvc"]
    checks = {"redis": "ok", "database": "ok"}
    try:
        services.redis.ping()
    except RedisError:
        checks["redis"] = "unreachable"
    try:
        with services.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        checks["database"] = "unreachable"
    ready = all(value == "ok" for value in checks.values())
    return jsonify({"status": "ready" if ready else "unavailable", "checks": checks}), 200 if ready else 503


@bp.get("/metrics")
def metrics_view() -> Response:
    services = current_app.extensions["crashsvc"]
    try:
        gauges = {"queue_depth": (services.queue.depth(), "Reports waiting for a worker.")}
        for name, (value, doc) in services.extra_gauges().items():
            gauges[name] = (value, doc)
        body = metrics.render(services.redis, gauges)
    except RedisError:
        return Response("# redis unreachable\n", status=503, mimetype="text/plain")
    return Response(body, mimetype="text/plain; version=0.0.4")
