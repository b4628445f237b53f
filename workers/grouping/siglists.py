"""Signature rule lists: plain text files, one commented regular expression per line.

Layout: ``config/siglists/<version>/<group>/<kind>.txt`` where ``kind`` is ``sentinel``,
``irrelevant`` or ``prefix`` and ``group`` is ``common`` or a platform. A line is::

    objc_exception_throw            # the ObjC runtime raising: the exception type already says so
    package=libsystem_kernel\\.dylib  # syscalls and traps; matched against the image, not the name

A pattern must match the *whole* normalized frame name (``re.fullmatch``; write ``.*`` for
"starts with"). ``package=`` patterns match the basename of the frame's image instead. Lines that
start with ``#`` are comments; the last one above a rule explains it when the rule has no comment.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("sentinel", "irrelevant", "prefix")
PACKAGE_MARKER = "package="
MATCH_CACHE_SIZE = 65536
_INLINE_COMMENT_RE = re.compile(r"\s+#\s?(.*)$")


class SiglistError(ValueError):
    """A rule list cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Rule:
    """One line of a rule list."""

    kind: str
    pattern: str
    source: str  # e.g. "sig1/cocoa/irrelevant.txt"
    line: int
    comment: str
    target: str  # "function" or "package"

    @property
    def ref(self) -> str:
        return f"{self.source}:{self.line}"

    def as_dict(self) -> dict[str, str]:
        shown = self.pattern if self.target == "function" else PACKAGE_MARKER + self.pattern
        return {"kind": self.kind, "rule": self.ref, "pattern": shown, "why": self.comment}


@dataclass
class RuleList:
    """The rules of one kind for one platform, with one combined regex per target for a fast miss."""

    kind: str
    rules: list[Rule]
    _compiled: dict[str, tuple[re.Pattern[str] | None, list[tuple[re.Pattern[str], Rule]]]] = field(
        default_factory=dict, repr=False
    )

    def __post_init__(self) -> None:
        for target in ("function", "package"):
            chosen = [rule for rule in self.rules if rule.target == target]
            combined = re.compile("|".join(f"(?:{rule.pattern})" for rule in chosen)) if chosen else None
            self._compiled[target] = (combined, [(re.compile(rule.pattern), rule) for rule in chosen])

    def match(self, name: str, package: str | None) -> Rule | None:
        """The first rule (in file order) matching the frame name or, for ``package=`` rules, its image."""
        for target, value in (("function", name), ("package", package)):
            combined, each = self._compiled[target]
            if value and combined is not None and combined.fullmatch(value):
                return next(rule for regex, rule in each if regex.fullmatch(value))
        return None


Classification = tuple["Rule | None", "Rule | None", "Rule | None"]


@dataclass
class RuleSet:
    """Sentinel, irrelevant and prefix lists for one platform, loaded from one version directory."""

    sentinel: RuleList
    irrelevant: RuleList
    prefix: RuleList
    groups: tuple[str, ...]
    # Decisions are memoised per (name, image): the same system frames recur in nearly every report.
    _memo: dict[tuple[str, str | None], Classification] = field(default_factory=dict, repr=False)

    def classify(self, name: str, package: str | None) -> Classification:
        """(sentinel, prefix, irrelevant) rules for a frame; a prefix rule wins over an irrelevant one."""
        key = (name, package)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= MATCH_CACHE_SIZE:
                self._memo.clear()
            prefix = self.prefix.match(name, package)
            irrelevant = None if prefix else self.irrelevant.match(name, package)
            found = self._memo[key] = (self.sentinel.match(name, package), prefix, irrelevant)
        return found


def parse_rule_file(text: str, kind: str, source: str) -> list[Rule]:
    """Parse one list; an invalid regex raises ``SiglistError`` naming ``source:line``."""
    rules: list[Rule] = []
    heading = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            heading = ""
            continue
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            continue
        comment = heading
        inline = _INLINE_COMMENT_RE.search(line)
        if inline:
            comment, line = inline.group(1).strip(), line[: inline.start()].strip()
        target = "function"
        if line.startswith(PACKAGE_MARKER):
            target, line = "package", line[len(PACKAGE_MARKER) :]
        try:
            re.compile(line)
        except re.error as exc:
            raise SiglistError(f"{source}:{number}: invalid regular expression {line!r}: {exc}") from exc
        rules.append(Rule(kind, line, source, number, comment, target))
    return rules


def load_rule_set(root: Path, version: str, groups: tuple[str, ...]) -> RuleSet:
    """Read ``root/version/<group>/<kind>.txt`` for each group, in order; a missing file is an empty list."""
    by_kind: dict[str, list[Rule]] = {kind: [] for kind in KINDS}
    for group in groups:
        for kind in KINDS:
            path = root / version / group / f"{kind}.txt"
            if path.is_file():
                source = f"{version}/{group}/{kind}.txt"
                by_kind[kind].extend(parse_rule_file(path.read_text(encoding="utf-8"), kind, source))
    return RuleSet(
        sentinel=RuleList("sentinel", by_kind["sentinel"]),
        irrelevant=RuleList("irrelevant", by_kind["irrelevant"]),
        prefix=RuleList("prefix", by_kind["prefix"]),
        groups=groups,
    )


def rules_digest(root: Path, version: str) -> str:
    """A SHA-256 over every list of a version (paths and bytes): the identity of its rules."""
    digest = hashlib.sha256()
    for path in sorted((root / version).rglob("*.txt")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
