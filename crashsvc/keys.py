"""Server secrets: generated into the data dir on first run, and the encryption of raw payloads.

Raw reports exist only in the queue (and the spool while Redis is down). Both write to disk
(Valkey's append-only file, spool files), so raw payloads are sealed with AES-256-GCM under the
server key before they leave the request: a stolen AOF or spool file reveals nothing.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SECRETS_FILE = "secrets.json"
SECRETS_LOCK_FILE = "secrets.lock"
NONCE_BYTES = 12
SEAL_VERSION = b"\x01"


@dataclass(frozen=True)
class ServerSecrets:
    secret_key: str  # Flask session signing
    server_key: bytes  # 32 bytes, AES-256-GCM and HMAC derivations


def load_or_create_secrets(
    data_dir: Path, secret_key: str | None, server_key_b64: str | None
) -> ServerSecrets:
    """Return configured secrets, generating missing ones into ``data_dir/secrets.json`` (mode 0600).

    `crashsvc serve` starts the web workers and the report worker at once, so on a fresh data dir
    they all look for the file together. Reading and creating happen under an exclusive lock on
    ``secrets.lock``: exactly one process generates, and the others read what it stored. Without it
    a web process could seal reports with a key the worker never sees.
    """
    if secret_key and server_key_b64:
        return _secrets(secret_key, server_key_b64)  # all configured: the data dir is not touched
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRETS_FILE
    with open(data_dir / SECRETS_LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        changed = False
        if not secret_key:
            if "secret_key" not in stored:
                stored["secret_key"] = secrets.token_urlsafe(48)
                changed = True
            secret_key = stored["secret_key"]
        if not server_key_b64:
            if "server_key" not in stored:
                stored["server_key"] = base64.b64encode(secrets.token_bytes(32)).decode()
                changed = True
            server_key_b64 = stored["server_key"]
        if changed:
            _write_private(path, stored)
    return _secrets(secret_key, server_key_b64)


def _secrets(secret_key: str, server_key_b64: str) -> ServerSecrets:
    key = base64.b64decode(server_key_b64)
    if len(key) != 32:
        raise ValueError("CRASHSVC_SERVER_KEY must be 32 bytes, base64-encoded")
    return ServerSecrets(secret_key=secret_key, server_key=key)


def _write_private(path: Path, stored: dict[str, str]) -> None:
    """Write the secrets whole or not at all (temporary file, fsync, rename), readable by the owner only."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(stored, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class PayloadSealer:
    """Encrypts and authenticates raw payloads; the report id is bound as associated data."""

    def __init__(self, server_key: bytes):
        self._aead = AESGCM(server_key)

    def seal(self, plaintext: bytes, report_id: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return SEAL_VERSION + nonce + self._aead.encrypt(nonce, plaintext, report_id.encode())

    def open(self, sealed: bytes, report_id: str) -> bytes:
        if not sealed or sealed[:1] != SEAL_VERSION:
            raise ValueError("unknown sealed payload version")
        nonce = sealed[1 : 1 + NONCE_BYTES]
        return self._aead.decrypt(nonce, sealed[1 + NONCE_BYTES :], report_id.encode())


def derive_key(server_key: bytes, purpose: str) -> bytes:
    """A purpose-specific subkey, so one secret never serves two uses directly."""
    return hmac.new(server_key, b"crashsvc:" + purpose.encode(), hashlib.sha256).digest()
