"""Database engine and sessions: SQLite (WAL) by default, PostgreSQL in production.

Nothing connects at import time: ``Database`` is built by the app factory or the worker runtime.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, g
from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker


def _configure_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web process read while a worker writes; busy_timeout waits out short write locks
    # instead of failing; incremental auto-vacuum lets purges give space back without a full VACUUM.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A deleted report (purge, deletion on request) is overwritten with zeros, not left readable in
    # the file's free pages until reused. Debian's SQLite turns this on by default; other builds don't.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: the driver stops issuing its own BEGINs; SQLAlchemy's "begin" event
        # below does, so savepoints work and writers can take the write lock up front.
        engine = create_engine(url, connect_args={"timeout": 30, "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, record):  # pragma: no cover - trivial
            # auto_vacuum must be set before the first table exists; harmless afterwards.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
            cursor.close()
            _configure_sqlite(dbapi_connection, record)

        @event.listens_for(engine, "begin")
        def _on_begin(connection):
            # A deferred transaction that reads and then writes fails at once with "database is
            # locked" when another writer committed in between (WAL snapshot rule; busy_timeout
            # cannot help). Write transactions therefore begin IMMEDIATE and queue for the lock.
            immediate = connection.get_execution_options().get(WRITE_OPTION)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    engine = create_engine(url, pool_size=5, max_overflow=5)
    event.listen(engine, "checkout", _drop_if_closed_by_server)
    return engine


def _drop_if_closed_by_server(dbapi_connection, _record, _proxy) -> None:
    """Checkout: replace a pooled connection the server has closed (restart, cut, terminated backend).

    An idle connection has nothing to read unless the server sent its goodbye (an error, then
    end of file). Polling the socket costs no round trip, where ``pool_pre_ping``'s ``SELECT 1``
    cost one of a worker batch's few. Like a failed pre-ping it drops every pooled connection
    (a restart closed them all). A connection that died without a word (the server's host gone)
    still fails at its first statement, as a transient error the worker retries.
    """
    if dbapi_connection.closed:
        raise exc.InvalidatePoolError("the pooled connection is closed")
    poll = select.poll()
    poll.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
    if poll.poll(0):
        raise exc.InvalidatePoolError("the server closed the pooled connection")


def is_transient_database_error(error: BaseException) -> bool:
    """True for database errors that say nothing about the request or report: an outage, a
    dropped connection, a lock, an exhausted pool. The worker retries them; the web answers 503."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError | PoolTimeout)


WRITE_OPTION = "crashsvc_write_transaction"


class Database:
    """An engine plus session factories: ``sessions`` for reads, ``write_sessions`` for writers.

    On SQLite a write session begins ``IMMEDIATE`` (see ``make_engine``); elsewhere both are alike.
    """

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.write_sessions = sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self.write_sessions() as session, session.begin():
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
