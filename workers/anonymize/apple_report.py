"""Anonymize an embedded Apple crash report (``apple_crash_report``): the text ``.crash`` format line by line.

Thread frame lines and binary-image lines are debugging data: only their paths are generalized. Header
lines that carry device or install identifiers lose their value. Everything else is free text. An
``.ips`` report (JSON) is treated as free-form JSON text, which keeps its structure readable.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from workers.anonymize.detectors import Detector, ScanState
from workers.anonymize.scanner import scrub_text

if TYPE_CHECKING:
    from workers.anonymize.walker import ReportWalker

_FRAME_LINE = re.compile(r"^\d+\s+\S+\s+0x[0-9a-fA-F]+\s")
_IMAGE_LINE = re.compile(r"^\s*0x[0-9a-fA-F]+\s+-\s+0x[0-9a-fA-F]+\s+\S.*?<(?P<uuid>[0-9a-fA-F\-]{32,36})>")
_HEADER = re.compile(r"^(?P<key>[A-Za-z][A-Za-z /]*?):(?P<space>\s*)(?P<value>.*)$")
# Header fields whose value identifies a device, an install or a boot, never needed to debug.
_IDENTIFYING_HEADERS = frozenset(
    {
        "crashreporter key",
        "anonymous uuid",
        "beta identifier",
        "sleep/wake uuid",
        "device identifier",
        "boot session uuid",
        "time awake since boot",
        "launch time",
    }
)
_TIME_HEADERS = frozenset({"date/time"})
_CLOCK = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}):\d{2}:\d{2}(?:\.\d+)?(?: [+-]\d{4})?")
_JSON_UUID = re.compile(r"\"uuid\"\s*:\s*\"([0-9a-fA-F\-]{32,36})\"")


def collect_debug_ids(text: str, state: ScanState) -> None:
    """Binary-image UUIDs are debug ids: free text elsewhere may mention them."""
    for line in text.splitlines():
        match = _IMAGE_LINE.match(line)
        if match:
            state.add_debug_id(match.group("uuid"))
    for match in _JSON_UUID.finditer(text):
        state.add_debug_id(match.group(1))


def scrub(text: str, walker: ReportWalker, detectors: list[Detector], path: str) -> str:
    """Return the report text with identifiers removed; notes go to the walker under ``path``."""
    hits: Counter[str] = Counter()
    path_detectors = walker.rules.path_detectors
    actions = walker.rules.actions
    lines = []
    for line in text.split("\n"):
        if _FRAME_LINE.match(line) or _IMAGE_LINE.match(line):
            lines.append(scrub_text(line, path_detectors, actions, walker.state, hits))
            continue
        header = _HEADER.match(line)
        if header and header.group("key").strip().lower() in _IDENTIFYING_HEADERS and header.group("value"):
            walker.note("apple_header:" + header.group("key").strip().lower(), path, "removed")
            lines.append(f"{header.group('key')}:{header.group('space')}[redacted]")
            continue
        if header and header.group("key").strip().lower() in _TIME_HEADERS:
            line = _CLOCK.sub(lambda clock: clock.group(1) + ":00:00", line)
            walker.note("event_time", path, "truncated")
        lines.append(scrub_text(line, detectors, actions, walker.state, hits))
    for rule, count in hits.items():
        walker.note(rule, path, walker._action_word(rule), count)
    return "\n".join(lines)
