"""Real Sentry SDKs (pinned sentry-sdk from PyPI, @sentry/node from npm) post to a live server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parent.parent / "sentry_node"

PYTHON_CLIENT = textwrap.dedent("""
    import sys
    import sentry_sdk

    dsn, opt_in = sys.argv[1], sys.argv[2] == "opt-in"
    sentry_sdk.init(dsn=dsn, release="py-test@1.0.0", default_integrations=False, auto_session_tracking=False,
                    send_client_reports=False, traces_sample_rate=0)
    if opt_in:
        sentry_sdk.set_tag("crash_reports.opt_in", "true")
    sentry_sdk.set_user({"email": "alice@example.com", "ip_address": "203.0.113.9"})

    def load_profile(user_id):
        return {}["avatar"]

    try:
        load_profile(42)
    except KeyError:
        event_id = sentry_sdk.capture_exception()
    sentry_sdk.flush(10)
    print(event_id)
""")


def _dsn(server, app_row) -> str:
    return f"http://{app_row.ingest_key}@127.0.0.1:{server.port}/{app_row.id}"


def _stored(factory, client, app_row):
    factory.process_queue()
    user = factory.user(admin=True)
    token = factory.token(user)
    auth = {"Authorization": f"Bearer {token}"}
    groups = client.get(f"/api/v1/apps/{app_row.id}/groups", headers=auth).get_json()["groups"]
    return groups, auth


def test_python_sentry_sdk_event_is_stored(live_server, edge_factory, edge_client):
    app_row = edge_factory.app_row()
    result = subprocess.run(
        [sys.executable, "-c", PYTHON_CLIENT, _dsn(live_server, app_row), "opt-in"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    event_id = result.stdout.strip()
    assert len(event_id) == 32
    groups, auth = _stored(edge_factory, edge_client, app_row)
    assert [g["count"] for g in groups] == [1]
    reports = (
        edge_factory.services.db.sessions()
        .execute(__import__("sqlalchemy").text("SELECT id, data FROM reports"))
        .all()
    )
    assert len(reports) == 1
    data = reports[0].data if isinstance(reports[0].data, dict) else json.loads(reports[0].data)
    assert data["exception"]["type"] == "KeyError"
    frames = data["exception"]["frames"]
    assert frames[0]["function"] == "load_profile", "frames are stored innermost first"
    assert "alice@example.com" not in json.dumps(data)


def test_python_sentry_sdk_without_opt_in_keeps_nothing(live_server, edge_factory, edge_client):
    app_row = edge_factory.app_row()
    subprocess.run(
        [sys.executable, "-c", PYTHON_CLIENT, _dsn(live_server, app_row), "no"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert edge_factory.services.queue.depth() == 0
    groups, _ = _stored(edge_factory, edge_client, app_row)
    assert groups == []


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_sentry_sdk_event_is_stored(live_server, edge_factory, edge_client):
    if not (NODE_DIR / "node_modules" / "@sentry" / "node").exists():
        pytest.skip("@sentry/node is not installed (make node-deps)")
    app_row = edge_factory.app_row()
    result = subprocess.run(
        ["node", str(NODE_DIR / "send_crash.js"), _dsn(live_server, app_row)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    sent = json.loads(result.stdout.strip().splitlines()[-1])
    assert sent["flushed"] is True
    groups, auth = _stored(edge_factory, edge_client, app_row)
    assert [g["count"] for g in groups] == [1]
    assert groups[0]["exception_type"] == "TypeError"
