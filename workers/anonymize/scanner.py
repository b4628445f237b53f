"""Run detectors over one string and apply each detector's redaction; count hits, never keep values."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

from workers.anonymize.detectors import Detector, ScanState

_DIGIT = re.compile(r"\d")

# How a match is redacted. "generalize" falls back to "replace" for detectors that cannot generalize.
REPLACE, REMOVE, GENERALIZE = "replace", "remove", "generalize"
TEXT_ACTIONS = frozenset({REPLACE, REMOVE, GENERALIZE})


def scrub_text(text: str, detectors: Sequence[Detector], actions: Mapping[str, str], state: ScanState,
               hits: Counter[str]) -> str:
    """Return ``text`` with every accepted match redacted; ``hits[detector]`` counts the redactions."""
    lowered = text.lower()
    has_digit = _DIGIT.search(text) is not None
    text, _changed = _run_detectors(text, lowered, has_digit, detectors, actions, state, hits)
    return text


def _run_detectors(text: str, lowered: str, has_digit: bool, detectors: Sequence[Detector],
                   actions: Mapping[str, str], state: ScanState, hits: Counter[str]) -> tuple[str, bool]:
    changed = False
    for detector in detectors:
        # Detector.applies_to, inlined: this loop runs for every detector on every string of every report.
        needs_digit, needs, gate_search = detector.prefilter
        if needs_digit and not has_digit:
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
            changed = True
    return text, changed


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
