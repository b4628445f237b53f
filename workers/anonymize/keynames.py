"""Judge a key name in a free-form object (context, tags, extra, breadcrumb data) by the rule set's lists.

Keys are compared as lower-case snake tokens, so ``apiKey``, ``API-KEY`` and ``api_key`` are the same
key, and ``password`` matches ``user_password`` but ``keyboard`` does not match ``key``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")

# What a key name can mean, checked in this order (the first that matches wins).
DROP, INSTALL_ID, HARDWARE_ID, SAFE, SENSITIVE = "drop", "install_id", "hardware_id", "safe", "sensitive"


def normalize_key(key: str) -> str:
    """``X-Forwarded-For`` → ``x_forwarded_for``; ``apiKey`` → ``api_key``."""
    return _NON_ALNUM.sub("_", _CAMEL_BOUNDARY.sub("_", key).lower()).strip("_")


def key_tokens(key: str) -> tuple[str, ...]:
    """The snake-case tokens of a key name."""
    return tuple(token for token in normalize_key(key).split("_") if token)


class KeyNameList:
    """A list of key names; an entry matches a whole key, a token of it, a run of tokens, or a glob."""

    def __init__(self, entries: Iterable[str]):
        self.entries = tuple(entries)
        self._whole: dict[str, str] = {}
        self._single: dict[str, str] = {}
        self._runs: list[tuple[tuple[str, ...], str]] = []
        self._globs: list[tuple[str, str]] = []
        for entry in self.entries:
            if "*" in entry or "?" in entry:
                self._globs.append((entry.lower(), entry))
                continue
            normalized = normalize_key(entry)
            self._whole[normalized] = entry
            self._whole[normalized.replace("_", "")] = entry
            tokens = tuple(normalized.split("_"))
            if len(tokens) == 1:
                self._single[tokens[0]] = entry
            else:
                self._runs.append((tokens, entry))

    def match(self, key: str) -> str | None:
        """The entry that matches ``key``, or None."""
        normalized = normalize_key(key)
        entry = self._whole.get(normalized) or self._whole.get(normalized.replace("_", ""))
        if entry:
            return entry
        tokens = tuple(normalized.split("_"))
        for token in tokens:
            if token in self._single:
                return self._single[token]
        for run, entry in self._runs:
            width = len(run)
            if any(tokens[i : i + width] == run for i in range(len(tokens) - width + 1)):
                return entry
        for pattern, entry in self._globs:
            if fnmatch.fnmatchcase(normalized, pattern) or fnmatch.fnmatchcase(key.lower(), pattern):
                return entry
        return None


@dataclass(frozen=True)
class KeyVerdict:
    """What a key name means (``kind``) and which configured entry said so (for the note)."""

    kind: str | None
    entry: str = ""


ORDINARY = KeyVerdict(None)


class KeyNameRules:
    """Classifies key names once and remembers the answer: reports repeat the same keys constantly."""

    def __init__(
        self,
        *,
        drop: Iterable[str],
        install_id: Iterable[str],
        hardware_id: Iterable[str],
        safe: Iterable[str],
        sensitive: Iterable[str],
    ):
        self.lists = (
            (DROP, KeyNameList(drop)),
            (INSTALL_ID, KeyNameList(install_id)),
            (HARDWARE_ID, KeyNameList(hardware_id)),
            (SAFE, KeyNameList(safe)),
            (SENSITIVE, KeyNameList(sensitive)),
        )
        self._memo: dict[str, KeyVerdict] = {}

    def classify(self, key: str) -> KeyVerdict:
        """The first list (drop, install id, hardware id, safe, sensitive) that names ``key``."""
        verdict = self._memo.get(key)
        if verdict is None:
            verdict = ORDINARY
            for kind, names in self.lists:
                entry = names.match(key)
                if entry is not None:
                    verdict = KeyVerdict(kind, entry)
                    break
            if len(self._memo) < 50_000:
                self._memo[key] = verdict
        return verdict

    def is_sensitive(self, key: str) -> bool:
        """True for keys whose values are never kept (used for ``key=value`` labels in free text)."""
        return self.classify(key).kind in (SENSITIVE, INSTALL_ID, HARDWARE_ID)
