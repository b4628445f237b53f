"""Workers, Valkey and the database fail mid-processing; every accepted report is stored exactly once."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest
from rq import Queue

from tests.reliability.conftest import wait_until


def _started(svc) -> int:
    queue = Queue(svc.services.settings.queue_name, connection=svc.services.redis)
    return svc.services.redis.zcard(queue.started_job_registry.key)


@pytest.mark.fault
def test_worker_killed_mid_batch_is_retried_and_counted_once(service):
    svc = service()
    for _ in range(300):
        assert svc.post() == 202
    # A batch takes a fraction of a second, so the batch seen running may finish between the check
    # and the SIGKILL: then another worker is started and killed, until one dies mid-batch.
    for _attempt in range(5):
        worker = svc.start_worker()
        wait_until(lambda: _started(svc) > 0 or svc.all_stored(), timeout=60, interval=0.01)
        worker.kill()  # SIGKILL: no cleanup, its batch stays "started"
        worker.wait()
        if _started(svc) > 0 or svc.all_stored():
            break
    assert _started(svc) > 0, "no worker could be killed in the middle of a batch"
    assert len(svc.stored_ids()) < 300
    svc.start_worker()
    wait_until(svc.all_stored, timeout=90)
    wait_until(lambda: _started(svc) == 0, timeout=30)
    svc.assert_exactly_once()


@pytest.mark.fault
def test_valkey_killed_with_jobs_queued_restarts_from_its_append_only_file(service, own_valkey):
    svc = service()
    for _ in range(60):
        assert svc.post() == 202
    own_valkey.kill()  # SIGKILL: only the AOF survives
    own_valkey.start()
    assert svc.services.queue.depth() == 60
    svc.start_worker()
    wait_until(svc.all_stored, timeout=60)
    svc.assert_exactly_once()


class CuttableProxy:
    """A loopback TCP proxy to PostgreSQL that a test can cut (drop every connection, refuse new ones)."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def cut(self) -> None:
        self.open.clear()
        with self.lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self.connections.clear()

    def restore(self) -> None:
        self.open.set()

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()


@contextlib.contextmanager
def _database_behind_a_proxy(service, postgres_database, **overrides: str):
    """A service on a fresh PostgreSQL database, and the URL of a proxy in front of it: workers
    started with that URL lose the database on ``proxy.cut()`` while the web side keeps it."""
    from sqlalchemy.engine import make_url

    from tests.conftest import _reset_postgres

    _reset_postgres(postgres_database)
    svc = service(database_url=postgres_database, **overrides)
    url = make_url(postgres_database)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        yield svc, proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    finally:
        proxy.close()


@pytest.mark.fault
@pytest.mark.postgres
def test_database_outage_during_processing_pauses_workers_and_loses_nothing(service, postgres_database):
    with _database_behind_a_proxy(service, postgres_database) as (svc, proxy, proxied_url):
        for _ in range(80):
            assert svc.post() == 202
        svc.start_worker(database_url=proxied_url)
        wait_until(lambda: len(svc.stored_ids()) >= 10, timeout=60, interval=0.02)
        proxy.cut()
        for _ in range(40):  # ingestion keeps accepting: the queue grows
            assert svc.post() == 202
        wait_until(lambda: svc.services.queue.depth() > 0, timeout=10)
        stored_during_outage = len(svc.stored_ids())
        threading.Event().wait(3)  # the outage lasts a few seconds
        assert len(svc.stored_ids()) == stored_during_outage
        proxy.restore()
        wait_until(svc.all_stored, timeout=90)
        queue = Queue(svc.services.settings.queue_name, connection=svc.services.redis)
        assert svc.services.redis.zcard(queue.failed_job_registry.key) == 0, "an outage is no report's fault"
        svc.assert_exactly_once()


@pytest.mark.fault
@pytest.mark.postgres
def test_a_database_outage_longer_than_the_payload_lifetime_loses_nothing(service, postgres_database):
    """RAW_TTL bounds how long raw data waits, not whether an accepted report is stored: while a
    worker runs, the payloads of reports still waiting keep their lifetime (workers/maintenance.py)."""
    from crashsvc.queue import RAW_PREFIX

    with _database_behind_a_proxy(service, postgres_database, RAW_TTL="4") as (svc, proxy, proxied_url):
        for _ in range(30):
            assert svc.post() == 202
        svc.start_worker(database_url=proxied_url)
        wait_until(lambda: len(svc.stored_ids()) >= 5, timeout=60, interval=0.02)
        proxy.cut()
        for _ in range(20):
            assert svc.post() == 202
        waiting = [report_id for report_id in svc.accepted if report_id not in set(svc.stored_ids())]
        threading.Event().wait(12)  # three payload lifetimes without a database
        redis = svc.services.redis
        assert all(redis.exists(RAW_PREFIX + report_id) for report_id in waiting), "a waiting payload expired"
        proxy.restore()
        wait_until(svc.all_stored, timeout=90)
        queue = Queue(svc.services.settings.queue_name, connection=redis)
        assert redis.zcard(queue.failed_job_registry.key) == 0
        svc.assert_exactly_once()


def test_waiting_payloads_get_their_lifetime_back_and_nothing_else_does(service):
    from crashsvc.queue import RAW_PREFIX
    from workers.maintenance import keep_waiting_payloads

    svc = service()
    for _ in range(3):
        assert svc.post() == 202
    fading, fresh, stored = sorted(svc.accepted)
    redis = svc.services.redis
    redis.expire(RAW_PREFIX + fading, 10)  # under half of the 100 s lifetime below: refreshed
    redis.expire(RAW_PREFIX + fresh, 80)  # over half: left alone (no write)
    redis.delete(RAW_PREFIX + stored)  # as the worker does once a report is stored: never recreated
    redis.set(RAW_PREFIX + "dead-letter", b"sealed", ex=10)  # no waiting job: left to expire
    queue = Queue(svc.services.settings.queue_name, connection=redis)
    assert keep_waiting_payloads(queue, 100) == 1
    assert 90 < redis.ttl(RAW_PREFIX + fading) <= 100
    assert 70 < redis.ttl(RAW_PREFIX + fresh) <= 80
    assert not redis.exists(RAW_PREFIX + stored)
    assert redis.ttl(RAW_PREFIX + "dead-letter") <= 10


@pytest.mark.fault
@pytest.mark.postgres
def test_the_read_api_answers_503_while_the_database_is_cut_and_recovers(service, postgres_database):
    """A database outage is nobody's bad input: 503 ``unavailable`` with Retry-After, never a 500."""
    from sqlalchemy.engine import make_url

    from tests.conftest import _reset_postgres

    _reset_postgres(postgres_database)
    url = make_url(postgres_database)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        svc = service(
            database_url=url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        )
        headers = {"Authorization": f"Bearer {svc.factory.token(svc.factory.user(admin=True))}"}
        groups = f"/api/v1/apps/{svc.factory.app_row().id}/groups"
        assert svc.client.get(groups, headers=headers).status_code == 200
        svc.services.ingest_keys.ttl = 0  # every lookup would go to the database
        assert svc.post() == 202
        other_key = svc.factory.app_row("never-seen").ingest_key
        proxy.cut()
        for _ in range(3):  # the pooled connection the server closed, then refused new ones
            response = svc.client.get(groups, headers=headers)
            assert response.status_code == 503, response.get_data(as_text=True)
            assert response.get_json()["error"]["code"] == "unavailable"
            assert int(response.headers["Retry-After"]) > 0
        assert svc.post() == 202  # a key valid moments ago stays valid: ingestion needs only Redis
        unknown = svc.client.post(
            "/api/v1/reports", json=svc.factory.report(), headers={"X-Crashsvc-Key": other_key}
        )
        assert unknown.status_code == 503 and unknown.get_json()["error"]["code"] == "unavailable"
        proxy.restore()
        assert svc.client.get(groups, headers=headers).status_code == 200
    finally:
        proxy.close()
