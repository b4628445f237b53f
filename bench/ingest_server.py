"""The service as `crashsvc serve` builds it, plus ``/bench/echo`` that only reads and parses the body.

Used by bench/ingest.py so both endpoints are measured in the same run and server configuration.
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify, request

from crashsvc.app import create_app
from crashsvc.ingest.body import read_body
from crashsvc.ingest.jsonparse import loads_strict


def create() -> Flask:
    app = create_app()

    @app.post("/api/bench/echo")
    def echo():
        settings = current_app.extensions["crashsvc"].settings
        body = read_body(request, settings.max_body_bytes, settings.max_report_bytes)
        data = loads_strict(body, settings.max_json_depth)
        return jsonify({"keys": len(data)}), 202

    return app
