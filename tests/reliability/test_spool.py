"""A 2xx survives Valkey going away: the spool keeps reports, sealed, and the mover puts them back."""

from __future__ import annotations

import pytest

from crashsvc.spool import Spool
from tests.reliability.conftest import wait_until


def test_spool_file_is_sealed_and_moves_back_exactly_once(service):
    svc = service()
    spool: Spool = svc.services.spool
    sealed = b"\x01sealed-bytes"
    assert spool.write("11111111-1111-4111-8111-111111111111", sealed, check_duplicate=True)
    assert spool.write("11111111-1111-4111-8111-111111111111", sealed, check_duplicate=True), "resend"
    files = list(spool.directory.glob("*.spool"))
    assert len(files) == 1 and not list(spool.directory.glob(".tmp-*"))
    assert spool.parse(files[0].read_bytes()) == ("11111111-1111-4111-8111-111111111111", True, sealed)
    wait_until(lambda: not spool.stats()[0], timeout=10)  # the mover thread, Valkey being up
    assert svc.services.queue.depth() == 1


@pytest.mark.fault
def test_valkey_down_during_ingestion_spools_and_loses_nothing(service, own_valkey):
    svc = service()
    for _ in range(10):
        assert svc.post() == 202
    own_valkey.stop()
    statuses = [svc.post(marker="plaintext-marker-9e1") for _ in range(30)]
    assert statuses == [202] * 30, "an unreachable queue must not refuse reports while the spool has room"
    files, size = svc.services.spool.stats()
    assert files == 30 and size > 0
    for path in svc.services.spool.directory.glob("*.spool"):
        assert b"plaintext-marker-9e1" not in path.read_bytes(), "spool files hold only sealed payloads"
    own_valkey.start()  # same directory: the ten queued before the outage come back from the AOF
    for _ in range(10):
        assert svc.post() == 202
    wait_until(lambda: svc.services.spool.stats()[0] == 0, timeout=30)
    svc.start_worker()
    wait_until(svc.all_stored, timeout=60)
    svc.assert_exactly_once()


@pytest.mark.fault
def test_full_spool_answers_503_with_retry_after_and_keeps_what_it_accepted(service, own_valkey):
    svc = service(SPOOL_MAX_BYTES="20000")
    own_valkey.stop()
    statuses = [svc.post() for _ in range(40)]
    assert 202 in statuses and 503 in statuses
    first_refusal = statuses.index(503)
    assert set(statuses[first_refusal:]) == {503}, "once full, the spool refuses until it drains"
    response = svc.client.post(
        "/api/v1/reports", json=svc.factory.report(), headers={"X-Crashsvc-Key": svc.key}
    )
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert svc.services.spool.stats()[1] <= 20000
    own_valkey.start()
    wait_until(lambda: svc.services.spool.stats()[0] == 0, timeout=30)
    svc.start_worker()
    wait_until(svc.all_stored, timeout=60)
    svc.assert_exactly_once()
