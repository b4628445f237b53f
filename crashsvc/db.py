"""Database engine and sessions: SQLite (WAL) by default, PostgreSQL in production.

Nothing connects at import time: ``Database`` is built by the app factory or the worker runtime.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, g
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def _configure_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web process read while a worker writes; busy_timeout waits out short write locks
    # instead of failing; incremental auto-vacuum lets purges give space back without a full VACUUM.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, record):  # pragma: no cover - trivial
            # auto_vacuum must be set before the first table exists; harmless afterwards.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
            cursor.close()
            _configure_sqlite(dbapi_connection, record)

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class Database:
    """An engine plus a session factory; ``session()`` gives the request's session inside Flask."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def init_app(self, app: Flask) -> None:
        app.extensions["crashsvc.db"] = self

        @app.teardown_appcontext
        def _close_session(_exc) -> None:
            session = g.pop("db_session", None)
            if session is not None:
                session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def get_db(app: Flask | None = None) -> Database:
    from flask import current_app

    return (app or current_app).extensions["crashsvc.db"]


def db_session() -> Session:
    """The current request's session (closed when the app context ends)."""
    if "db_session" not in g:
        g.db_session = get_db().sessions()
    return g.db_session
