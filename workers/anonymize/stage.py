"""The pipeline stage: anonymize ``ctx.report`` in place with the app's rules and the rotating key ring."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from workers.anonymize.anonymizer import anonymize
from workers.anonymize.keyring import FileHashKeyRing, HashKeyRing, period_index
from workers.anonymize.rules import DEFAULT_CONFIG_DIR, RuleSet, load_rules
from workers.context import ProcessingContext

KEYRING_SUBDIR = "install-hash-keys"
ROTATION_CHECK = timedelta(days=1)

log = logging.getLogger("crashsvc.worker")


class RuleSetCache:
    """Load each app's rules once and again only when one of its config files changes."""

    def __init__(self, config_dir: Path = DEFAULT_CONFIG_DIR):
        self.config_dir = Path(config_dir)
        self._entries: dict[int | None, tuple[tuple[float, ...], RuleSet]] = {}

    def get(self, app_id: int | None) -> RuleSet:
        """The current rule set for ``app_id``."""
        stamp = self._stamp(app_id)
        cached = self._entries.get(app_id)
        if cached is None or cached[0] != stamp:
            cached = (stamp, load_rules(app_id, self.config_dir))
            self._entries[app_id] = cached
        return cached[1]

    def _stamp(self, app_id: int | None) -> tuple[float, ...]:
        files = [self.config_dir / "default.json"]
        if app_id is not None:
            files.append(self.config_dir / "apps" / f"{int(app_id)}.json")
        return tuple(os.stat(path).st_mtime if path.exists() else -1.0 for path in files)


class KeyRotation:
    """Destroy expired install-hash keys at start, then at least daily and as soon as a period ends.

    ``check`` is called for every report; it costs one comparison until the next check is due.
    """

    def __init__(self, keyring: HashKeyRing):
        self.keyring = keyring
        self.next_check: datetime | None = None

    def check(self, now: datetime) -> None:
        if self.next_check is not None and now < self.next_check:
            return
        destroyed = self.keyring.destroy_expired(now)
        self.keyring.key_for(now)  # make the current period's key now, not under the first report
        period_end = datetime.fromtimestamp(
            (period_index(now, self.keyring.key_days) + 1) * self.keyring.key_days * 86400, UTC
        )
        self.next_check = min(now + ROTATION_CHECK, period_end)
        if destroyed:
            log.info("install_hash_keys_destroyed", extra={"periods": len(destroyed)})


def attach_anonymizer_services(services: Any) -> None:
    """Give a worker process one key ring, one rule cache and the key rotation (``workers.runtime``).

    Keys live in ``DATA_DIR/install-hash-keys`` (never in the database): every worker process of a
    deployment must see the same directory, as they see the same ``SYMBOLS_DIR``.
    """
    settings = services.settings
    services.hash_keyring = FileHashKeyRing(Path(settings.data_dir) / KEYRING_SUBDIR, settings.hash_key_days)
    services.scrub_rules = RuleSetCache()
    services.hash_key_rotation = KeyRotation(services.hash_keyring)
    services.hash_key_rotation.check(datetime.now(UTC))  # the worker starts: expired keys go first


def keyring_from_services(services: Any) -> HashKeyRing:
    """The key ring the worker was given, else a file key ring under ``settings.data_dir``."""
    keyring = getattr(services, "hash_keyring", None)
    if keyring is not None:
        return keyring
    settings = services.settings
    return FileHashKeyRing(Path(settings.data_dir) / KEYRING_SUBDIR, settings.hash_key_days)


def anonymize_report(
    ctx: ProcessingContext,
    *,
    rules: RuleSet | None = None,
    keyring: HashKeyRing | None = None,
    now: datetime | None = None,
) -> None:
    """Rewrite ``ctx.report`` in place; set ``install_hash`` and ``scrub_version``; add the notes.

    ``rules`` and ``keyring`` default to what ``ctx.services`` provides (``scrub_rules`` — a
    ``RuleSetCache`` — and ``hash_keyring``); tests and the worker may pass them directly.
    """
    if rules is None:
        cache = getattr(ctx.services, "scrub_rules", None) or _DEFAULT_RULES
        rules = cache.get(ctx.app_id)
    now = now or datetime.now(UTC)
    if keyring is None:
        rotation = getattr(ctx.services, "hash_key_rotation", None)
        if rotation is not None:
            rotation.check(now)
        keyring = keyring_from_services(ctx.services)
    result = anonymize(ctx.report, rules, keyring, now)
    ctx.report.clear()
    ctx.report.update(result.report)
    ctx.install_hash = result.install_hash
    ctx.scrub_version = result.scrub_version
    ctx.notes.extend(result.notes)


_DEFAULT_RULES = RuleSetCache()
