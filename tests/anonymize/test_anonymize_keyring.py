"""The install-hash key ring: one key per period, stable within it, destroyed after it."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta

import pytest

from workers.anonymize import ExpiredKeyError, FileHashKeyRing, MemoryHashKeyRing, anonymize
from workers.anonymize.keyring import period_index

DAY0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # epoch day 20513


def test_period_index_is_floor_of_epoch_days():
    assert period_index(datetime(1970, 1, 30, 23, tzinfo=UTC), 30) == 0
    assert period_index(datetime(1970, 1, 31, 0, tzinfo=UTC), 30) == 1
    assert period_index(DAY0, 30) == 20513 // 30


@pytest.mark.parametrize("make", [MemoryHashKeyRing, None], ids=["memory", "file"])
def test_same_install_same_period_same_hash_and_new_period_new_hash(tmp_path, make, rules):
    ring = make(30) if make else FileHashKeyRing(tmp_path, 30)
    report = {"device": {"id": "F1A2B3C4-D5E6-4F70-8192-A3B4C5D6E7F8"}}
    start = datetime.fromtimestamp(period_index(DAY0, 30) * 30 * 86400, tz=UTC)  # first day of DAY0's period
    first = anonymize(report, rules, ring, start).install_hash
    assert first == anonymize(report, rules, ring, start + timedelta(days=29)).install_hash
    assert first != anonymize(report, rules, ring, start + timedelta(days=30)).install_hash
    other = anonymize(
        {"device": {"id": "00000000-1111-4222-8333-444444444444"}}, rules, ring, start
    ).install_hash
    assert other != first


def test_rotation_destroys_expired_keys_for_good(tmp_path):
    ring = FileHashKeyRing(tmp_path, 30)
    old = ring.key_for(DAY0)
    ring.rotate(DAY0 + timedelta(days=31))
    stored = json.loads((tmp_path / "install-hash-keys.json").read_text())
    assert list(stored["keys"]) == [str(old.period + 1)]
    with pytest.raises(ExpiredKeyError):
        FileHashKeyRing(tmp_path, 30).key_for(DAY0)
    memory = MemoryHashKeyRing(30)
    memory.key_for(DAY0)
    assert memory.destroy_expired(DAY0 + timedelta(days=31)) == [old.period]
    with pytest.raises(ExpiredKeyError):
        memory.key_for(DAY0)


def test_key_file_is_private_and_shared_between_rings(tmp_path):
    first = FileHashKeyRing(tmp_path / "keys", 30).key_for(DAY0)
    second = FileHashKeyRing(tmp_path / "keys", 30).key_for(DAY0)
    assert first == second
    mode = stat.S_IMODE((tmp_path / "keys" / "install-hash-keys.json").stat().st_mode)
    assert mode == 0o600
    assert not [p for p in (tmp_path / "keys").iterdir() if p.name.startswith(".keys-")]


def test_changing_the_period_length_is_refused(tmp_path):
    FileHashKeyRing(tmp_path, 30).key_for(DAY0)
    with pytest.raises(ValueError, match="key_days"):
        FileHashKeyRing(tmp_path, 7).key_for(DAY0)


def test_pseudonym_depends_on_app_so_apps_cannot_be_linked():
    key = MemoryHashKeyRing(30).key_for(DAY0)
    assert key.pseudonym("app:1", "x") != key.pseudonym("app:2", "x")
    assert len(key.pseudonym("app:1", "x")) == 32
