"""The anonymizer inside a worker process: one key ring and one rule cache, key rotation at start and daily."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from workers.anonymize import ExpiredKeyError, FileHashKeyRing, RuleSetCache, anonymize_report
from workers.anonymize.keyring import period_index
from workers.anonymize.stage import KeyRotation, attach_anonymizer_services
from workers.context import ProcessingContext

DAYS = 30
START = datetime.fromtimestamp((period_index(datetime(2026, 3, 1, tzinfo=UTC), DAYS)) * DAYS * 86400, UTC)


def worker_services(tmp_path):
    services = SimpleNamespace(settings=SimpleNamespace(data_dir=tmp_path, hash_key_days=DAYS))
    attach_anonymizer_services(services)
    return services


def stored_periods(tmp_path) -> set[int]:
    keys = json.loads((tmp_path / "install-hash-keys" / "install-hash-keys.json").read_text())["keys"]
    return {int(period) for period in keys}


def test_worker_gets_one_key_ring_under_data_dir_and_one_rule_cache(tmp_path):
    services = worker_services(tmp_path)
    assert isinstance(services.hash_keyring, FileHashKeyRing)
    assert services.hash_keyring.directory == tmp_path / "install-hash-keys"
    assert isinstance(services.scrub_rules, RuleSetCache)
    hashes = []
    for number in range(2):
        ctx = ProcessingContext(f"r{number}", 3, START, {"device": {"id": "install-1"}}, services=services)
        anonymize_report(ctx)
        hashes.append(ctx.install_hash)
    assert hashes[0] == hashes[1]  # same key, same install, same pseudonym
    assert list(services.scrub_rules._entries) == [3]  # loaded once for the app, then reused


def test_worker_start_destroys_keys_of_past_periods(tmp_path):
    old = FileHashKeyRing(tmp_path / "install-hash-keys", DAYS)
    old.key_for(START - timedelta(days=1))  # a key left from the previous period
    services = worker_services(tmp_path)
    current = period_index(datetime.now(UTC), DAYS)
    assert stored_periods(tmp_path) == {current}
    with pytest.raises(ExpiredKeyError):
        services.hash_keyring.key_for(START - timedelta(days=1))


def test_rotation_checks_daily_and_when_the_period_ends(tmp_path):
    ring = FileHashKeyRing(tmp_path / "install-hash-keys", DAYS)
    rotation = KeyRotation(ring)
    rotation.check(START + timedelta(days=DAYS - 1, hours=12))
    assert rotation.next_check == START + timedelta(days=DAYS)  # the period ends before a day passes
    rotation.check(START + timedelta(days=DAYS, hours=1))
    assert rotation.next_check == START + timedelta(days=DAYS + 1, hours=1)
    assert stored_periods(tmp_path) == {period_index(START, DAYS) + 1}


def test_the_stage_rotates_before_it_hashes(tmp_path):
    services = worker_services(tmp_path)
    later = datetime.now(UTC) + timedelta(days=DAYS)
    ctx = ProcessingContext("r1", 3, later, {"device": {"id": "install-1"}}, services=services)
    anonymize_report(ctx, now=later)
    assert stored_periods(tmp_path) == {period_index(later, DAYS)}
