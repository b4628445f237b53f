"""Run detectors over one string and apply each detector's redaction; count hits, never keep values."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

from workers.anonymize.detectors import Detector, ScanState
from workers.anonymize.detectors.base import DIGIT_PAIR

_DIGIT = re.compile(r"\d")

# Detectors whose verdict depends on the matched text alone: ``accept`` and ``generalize`` neither read
# nor write the report's ScanState. Only scans in which no *other* detector matched are cached. A new
# detector is left out until someone checks it belongs here, which costs speed, never privacy.
PURE_DETECTORS = frozenset(
    {
        "pem",
        "jwt",
        "bearer",
        "cookie",
        "api_key",
        "analytics_id",
        "push_token",
        "url_secrets",
        "mac",
        "ipv6",
        "container_path",
        "android_install_dir",
        "email",
        "device_name",
        "hostname",
        "postal_address",
        "iban",
        "imei",
        "iccid",
        "card",
        "ssn",
        "gps",
        "cell_id",
        "ip",
        "phone",
        "labelled_value",
    }
)

# How a match is redacted. "generalize" falls back to "replace" for detectors that cannot generalize.
REPLACE, REMOVE, GENERALIZE = "replace", "remove", "generalize"
TEXT_ACTIONS = frozenset({REPLACE, REMOVE, GENERALIZE})


class ScanCache:
    """Scan results of strings whose result cannot depend on the report, for one fixed detector list.

    Crash reports repeat most of their strings (thread names, breadcrumb messages, file names, URLs
    of the same API), and most contain nothing to redact. A result is cached only when every detector
    that matched is in ``PURE_DETECTORS``, so the same string gives the same result in any report. Both
    the raw string and its result stay in this process's memory only; the size is bounded, and the
    cache starts over when full (cheaper than LRU bookkeeping on every hit).
    """

    def __init__(self, max_entries: int = 20_000, max_length: int = 2_048):
        self.max_entries = max_entries
        self.max_length = max_length
        self.results: dict[str, tuple[str, tuple[tuple[str, int], ...]]] = {}

    def put(self, text: str, result: str, hits: Counter[str]) -> None:
        if len(text) > self.max_length:
            return
        if len(self.results) >= self.max_entries:
            self.results.clear()
        self.results[text] = (result, tuple(hits.items()))


def scrub_text(
    text: str,
    detectors: Sequence[Detector],
    actions: Mapping[str, str],
    state: ScanState,
    hits: Counter[str],
    cache: ScanCache | None = None,
) -> str:
    """Return ``text`` with every accepted match redacted; ``hits[detector]`` counts the redactions.

    ``cache`` must only ever be used with the same ``detectors`` and ``actions`` (a rule set's own list).
    """
    if cache is not None:
        cached = cache.results.get(text)
        if cached is not None:
            for rule, count in cached[1]:
                hits[rule] += count
            return cached[0]
    lowered = text.lower()
    has_digit = _DIGIT.search(text) is not None
    own_hits: Counter[str] = Counter() if cache is not None else hits
    result, pure = _run_detectors(text, lowered, has_digit, detectors, actions, state, own_hits)
    if cache is not None:
        if pure:
            cache.put(text, result, own_hits)
        hits.update(own_hits)
    return result


def _run_detectors(
    text: str,
    lowered: str,
    has_digit: bool,
    detectors: Sequence[Detector],
    actions: Mapping[str, str],
    state: ScanState,
    hits: Counter[str],
) -> tuple[str, bool]:
    """The scanned text, and whether it depended on nothing but the text (no impure detector matched)."""
    pure = True
    has_digit_pair: bool | None = None  # searched once, when the first detector needs to know
    for detector in detectors:
        # Detector.applies_to, inlined: this loop runs for every detector on every string of every report.
        digits_needed, needs, gate_search = detector.prefilter
        if digits_needed:
            if not has_digit:
                continue
            if digits_needed == 2:
                if has_digit_pair is None:
                    has_digit_pair = DIGIT_PAIR.search(text) is not None
                if not has_digit_pair:
                    continue
        if needs:
            for need in needs:
                if need in lowered:
                    break
            else:
                continue
        if gate_search is not None and gate_search(lowered) is None:
            continue
        if detector.pattern.search(text) is None:
            continue
        if pure and detector.name not in PURE_DETECTORS:
            pure = False
        action = actions.get(detector.name, REPLACE)
        pieces: list[str] = []
        last = 0
        for match in detector.pattern.finditer(text):
            if detector.accept is not None and not detector.accept(match, state):
                continue
            if action == GENERALIZE and detector.generalize is not None:
                start, end = match.span()
                replacement = detector.generalize(match, state)
            else:
                start, end = _sensitive_span(detector, match)
                replacement = "" if action == REMOVE else detector.label
            if start < last:
                continue  # overlaps a span an earlier match in this pass already extended over
            pieces.append(text[last:start])
            pieces.append(replacement)
            last = end
            hits[detector.name] += 1
        if pieces:
            pieces.append(text[last:])
            text = "".join(pieces)
            lowered = text.lower()
            has_digit = _DIGIT.search(text) is not None
            has_digit_pair = None
    return text, pure


def _sensitive_span(detector: Detector, match: re.Match[str]) -> tuple[int, int]:
    group = detector.group
    if group == "last":
        group = match.lastgroup or 0
    start, end = match.span(group)
    if start < 0:
        start, end = match.span()
    if detector.extend is not None:
        end = max(end, detector.extend(match))
    return start, end
