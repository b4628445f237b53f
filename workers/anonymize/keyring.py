"""Rotating HMAC keys for install pseudonyms: one key per period, destroyed once the period is over.

The period index is ``floor(epoch_days / key_days)``. Because an expired key is deleted, a pseudonym
from an old period can neither be linked to the same install's pseudonym in a new period nor be
reversed by hashing a dictionary of candidate ids. The hash exists only to count affected installs.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

KEY_BYTES = 32
KEYS_FILE = "install-hash-keys.json"


class ExpiredKeyError(LookupError):
    """The key for a past period was destroyed; pseudonyms of that period can no longer be made."""


def period_index(when: datetime, key_days: int) -> int:
    """``floor(epoch_days / key_days)`` for an aware (or UTC-naive) datetime."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    epoch_days = int(when.timestamp() // 86400)
    return epoch_days // key_days


@dataclass(frozen=True)
class HashKey:
    """One period's secret; ``pseudonym`` is the only thing it is used for."""

    period: int
    secret: bytes

    def pseudonym(self, scope: str, value: str) -> str:
        """HMAC-SHA256 of ``scope`` and ``value`` (scope is the app, so apps cannot be linked), 128 bits hex."""
        message = scope.encode() + b"\x00" + value.encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:32]


class HashKeyRing(ABC):
    """Where the per-period keys live: a key for a time, rotation, and destruction of expired keys."""

    def __init__(self, key_days: int = 30):
        if key_days <= 0:
            raise ValueError("key_days must be positive")
        self.key_days = key_days

    def key_for(self, when: datetime) -> HashKey:
        """The key of the period containing ``when``; created on first use, ExpiredKeyError if destroyed."""
        return self._key_for_period(period_index(when, self.key_days))

    def rotate(self, now: datetime) -> HashKey:
        """Make sure the current period has a key and destroy every older one; return the current key."""
        key = self.key_for(now)
        self.destroy_expired(now)
        return key

    @abstractmethod
    def destroy_expired(self, now: datetime) -> list[int]:
        """Delete the keys of every period before the current one; return the destroyed periods."""

    @abstractmethod
    def _key_for_period(self, period: int) -> HashKey: ...


class MemoryHashKeyRing(HashKeyRing):
    """Keys held only in memory: for tests and for ``crashsvc scrub --explain``, which stores nothing."""

    def __init__(self, key_days: int = 30):
        super().__init__(key_days)
        self._keys: dict[int, bytes] = {}
        self._destroyed_before = -(2**62)

    def _key_for_period(self, period: int) -> HashKey:
        if period < self._destroyed_before:
            raise ExpiredKeyError(f"install-hash key for period {period} was destroyed")
        secret = self._keys.setdefault(period, secrets.token_bytes(KEY_BYTES))
        return HashKey(period, secret)

    def destroy_expired(self, now: datetime) -> list[int]:
        current = period_index(now, self.key_days)
        expired = sorted(period for period in self._keys if period < current)
        for period in expired:
            del self._keys[period]
        self._destroyed_before = max(self._destroyed_before, current)
        return expired


class FileHashKeyRing(HashKeyRing):
    """Keys in ``<directory>/install-hash-keys.json`` (mode 0600), written atomically under a file lock.

    The lock makes worker processes agree on one key per period: a second key for the same period would
    split one install into two pseudonyms and inflate the affected-install counts.
    """

    def __init__(self, directory: Path | str, key_days: int = 30):
        super().__init__(key_days)
        self.directory = Path(directory)
        self.path = self.directory / KEYS_FILE
        self._cache: dict[int, bytes] = {}

    def _key_for_period(self, period: int) -> HashKey:
        secret = self._cache.get(period)
        if secret is None:
            with self._locked():
                state = self._read()
                if period < state["destroyed_before"]:
                    raise ExpiredKeyError(f"install-hash key for period {period} was destroyed")
                encoded = state["keys"].get(str(period))
                if encoded is None:
                    encoded = base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()
                    state["keys"][str(period)] = encoded
                    self._write(state)
                secret = base64.b64decode(encoded)
            self._cache = {period: secret}  # only the current period is ever needed again
        return HashKey(period, secret)

    def destroy_expired(self, now: datetime) -> list[int]:
        current = period_index(now, self.key_days)
        with self._locked():
            state = self._read()
            expired = sorted(int(period) for period in state["keys"] if int(period) < current)
            for period in expired:
                del state["keys"][str(period)]
            if expired or state["destroyed_before"] < current:
                state["destroyed_before"] = max(state["destroyed_before"], current)
                self._write(state)
        self._cache = {period: secret for period, secret in self._cache.items() if period >= current}
        return expired

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": 1, "key_days": self.key_days, "destroyed_before": -(2**62), "keys": {}}
        if data.get("key_days") != self.key_days:
            # Periods of a different length would reuse indexes for other dates; refuse rather than mix.
            raise ValueError(
                f"{self.path} was written with key_days={data.get('key_days')}, not {self.key_days}"
            )
        return data

    def _write(self, state: dict) -> None:
        handle, temporary = tempfile.mkstemp(prefix=".keys-", dir=self.directory)
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(state, stream, sort_keys=True)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.directory / (KEYS_FILE + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
