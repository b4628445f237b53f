"""`crashsvc apps|users|tokens` against a real database, driven through click's runner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from crashsvc.cli import main


@pytest.fixture
def cli(tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("CRASHSVC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CRASHSVC_DATABASE_URL", database_url)
    monkeypatch.setenv("CRASHSVC_PUBLIC_URL", "http://crash.example.test:8000")
    runner = CliRunner()

    def run(*args: str, input: str | None = None, ok: bool = True):
        result = runner.invoke(main, list(args), input=input, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


def test_apps_create_prints_key_and_sentry_dsn(cli):
    data = json.loads(cli("apps", "create", "My App", "--retention-days", "30", "--json").output)
    assert set(data) >= {"id", "name", "ingest_key", "dsn"}
    assert data["dsn"] == f"http://{data['ingest_key']}@crash.example.test:8000/{data['id']}"
    assert data["retention_days"] == 30
    listed = json.loads(cli("apps", "list", "--json").output)["apps"]
    assert [app["name"] for app in listed] == ["My App"]


def test_duplicate_app_name_is_an_error(cli):
    cli("apps", "create", "Dup")
    result = cli("apps", "create", "Dup", ok=False)
    assert result.exit_code != 0 and "exists" in result.output


def test_rotate_key_changes_the_key(cli):
    created = json.loads(cli("apps", "create", "Rot", "--json").output)
    rotated = json.loads(cli("apps", "rotate-key", str(created["id"]), "--json").output)
    assert rotated["ingest_key"] != created["ingest_key"]


def test_users_and_tokens(cli):
    user = json.loads(
        cli(
            "users",
            "create",
            "Dev@Example.com",
            "--admin",
            "--password-stdin",
            "--json",
            input="a long password\n",
        ).output
    )
    assert user == {"id": user["id"], "email": "dev@example.com", "is_admin": True}
    token = json.loads(
        cli("tokens", "create", "--user", "dev@example.com", "--scopes", "read,symbols", "--json").output
    )
    assert token["token"].startswith("csvc_") and token["scopes"] == ["read", "symbols"]
    listed = json.loads(cli("tokens", "list", "--json").output)["tokens"]
    assert token["token"] not in json.dumps(listed), "tokens are shown once, then only their prefix"
    cli("tokens", "revoke", str(token["id"]))
    assert json.loads(cli("tokens", "list", "--json").output)["tokens"][0]["revoked"] is True


def test_short_password_and_unknown_scope_are_refused(cli):
    assert cli("users", "create", "a@b.c", "--password-stdin", input="short\n", ok=False).exit_code != 0
    cli("users", "create", "a@b.c", "--password-stdin", input="long enough pw\n")
    assert cli("tokens", "create", "--user", "a@b.c", "--scopes", "read,root", ok=False).exit_code != 0


def test_invalid_setting_is_named_at_start(cli, monkeypatch):
    monkeypatch.setenv("CRASHSVC_RAW_TTL", "forever")
    result = cli("apps", "list", ok=False)
    assert result.exit_code != 0 and "CRASHSVC_RAW_TTL" in result.output
