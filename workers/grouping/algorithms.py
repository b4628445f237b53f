"""The registry of signature algorithms: each has an id, a changelog and its own frozen rule lists.

A group is keyed by (algorithm, hash), and the hash covers the algorithm id. Changing what an
algorithm computes (its code or its rule lists) therefore means registering a new id here, never
editing a released one: a new algorithm never moves old groups silently.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.grouping.generator import SignatureGenerator, SignatureResult
from workers.grouping.siglists import RuleSet, SiglistError, load_rule_set, rules_digest

SIGLISTS_ROOT = Path(__file__).resolve().parents[2] / "config" / "siglists"

# Which rule-list groups apply to a report platform, in order (a rule's position decides ties).
PLATFORM_GROUPS: dict[str, tuple[str, ...]] = {
    "cocoa": ("common", "cocoa"),
    "android": ("common", "native", "android"),
    "native": ("common", "native"),
    "javascript": ("common", "javascript"),
    "dart": ("common", "native", "dart"),
}
FALLBACK_GROUPS = ("common",)


class UnknownAlgorithm(KeyError):
    """No signature algorithm is registered under that id."""

    def __str__(self) -> str:
        return f"unknown signature algorithm {self.args[0]!r}; known: {', '.join(sorted(ALGORITHMS))}"


@dataclass(frozen=True)
class Algorithm:
    """One released way of computing signatures; frozen once groups exist under its id."""

    id: str
    released: str  # ISO date the algorithm was first used for new groups
    changelog: str
    siglists: str  # directory under config/siglists holding this algorithm's rule lists
    rules_digest: str  # SHA-256 of those lists: a mismatch means someone edited a released list
    max_frames: int = 5

    def rules_for(self, platform: str) -> RuleSet:
        """The rule lists applying to reports of ``platform``."""
        return _rule_set(self.id, PLATFORM_GROUPS.get(platform, FALLBACK_GROUPS))

    def generate(self, report: dict[str, Any]) -> SignatureResult:
        """Compute the signature of a native report (after symbolication)."""
        return _generator(self.id).generate(report)

    def current_rules_digest(self) -> str:
        return rules_digest(SIGLISTS_ROOT, self.siglists)


ALGORITHMS: dict[str, Algorithm] = {
    algorithm.id: algorithm
    for algorithm in (
        Algorithm(
            id="sig:1",
            released="2025-11-29",
            siglists="sig1",
            rules_digest="bc025f56260cca4d6dcafb3fbc8b8a209b9c6e5c0fa456a4973b86495a57f28e",
            changelog="""
            First algorithm.
            - Stack: the exception's own frames (managed crashes), else the crashing thread, else
              the first thread with frames.
            - Opens with the exception type, or the signal when there is no type.
            - Frames named by normalized function (no parameters, return types, template or generic
              arguments, lambda / closure / anonymous-class numbers, Swift wrappers), or
              image+0xoffset when unsymbolicated.
            - Walk: start at the first sentinel; skip irrelevant frames and direct recursion; keep
              prefix frames and walk on; with in-app frames on the stack, skip system frames and end
              on the first in-app frame; without, end on the first other frame (the crash site).
              At most 5 frames.
            - Client fingerprint replaces the signature; {{ default }} stands for it.
            """,
        ),
    )
}
DEFAULT_ALGORITHM = "sig:1"


def get_algorithm(algorithm_id: str) -> Algorithm:
    """The registered algorithm ``algorithm_id``; raises ``UnknownAlgorithm``."""
    try:
        return ALGORITHMS[algorithm_id]
    except KeyError:
        raise UnknownAlgorithm(algorithm_id) from None


def compute_signature(report: dict[str, Any], algorithm: str = DEFAULT_ALGORITHM) -> SignatureResult:
    """Compute ``report``'s signature with the algorithm registered as ``algorithm``."""
    return get_algorithm(algorithm).generate(report)


@functools.cache
def _rule_set(algorithm_id: str, groups: tuple[str, ...]) -> RuleSet:
    algorithm = ALGORITHMS[algorithm_id]
    _verify_rules(algorithm_id)
    return load_rule_set(SIGLISTS_ROOT, algorithm.siglists, groups)


@functools.cache
def _verify_rules(algorithm_id: str) -> None:
    """Refuse to sign with edited lists: editing a released list would move groups silently."""
    algorithm = ALGORITHMS[algorithm_id]
    actual = algorithm.current_rules_digest()
    if actual != algorithm.rules_digest:
        raise SiglistError(
            f"rule lists of {algorithm.id} (config/siglists/{algorithm.siglists}) changed: digest {actual}, "
            f"registered {algorithm.rules_digest}; register a new algorithm instead of editing a released one"
        )


@functools.cache
def _generator(algorithm_id: str) -> SignatureGenerator:
    algorithm = ALGORITHMS[algorithm_id]
    return SignatureGenerator(algorithm.id, algorithm.rules_for, algorithm.max_frames)
