"""Sentry envelope parsing (https://develop.sentry.dev/sdk/envelopes/), pure and bounded.

An envelope is a JSON header line, then items: a JSON item header (``type``, optional ``length``)
and a payload of ``length`` bytes, or up to the next newline when ``length`` is absent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from crashsvc.errors import InvalidEnvelope
from crashsvc.ingest.jsonparse import json_depth_exceeds

MAX_ITEMS = 100
MAX_HEADER_BYTES = 64 * 1024


@dataclass
class EnvelopeItem:
    type: str
    headers: dict[str, Any]
    payload: bytes


@dataclass
class Envelope:
    headers: dict[str, Any]
    items: list[EnvelopeItem]


def _header(line: bytes, what: str, max_depth: int) -> dict[str, Any]:
    if len(line) > MAX_HEADER_BYTES:
        raise InvalidEnvelope(f"The {what} header is too long.")
    if not line.strip():
        return {}
    try:
        value = json.loads(line.decode("utf-8"), parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise InvalidEnvelope(f"The {what} header is not valid JSON.") from None
    if not isinstance(value, dict) or json_depth_exceeds(value, max_depth):
        raise InvalidEnvelope(f"The {what} header must be a JSON object.")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(name)


def parse_envelope(data: bytes, max_depth: int = 64) -> Envelope:
    """Split an envelope into its header and items; raises ``InvalidEnvelope``."""
    newline = data.find(b"\n")
    first, position = (data, len(data)) if newline < 0 else (data[:newline], newline + 1)
    headers = _header(first, "envelope", max_depth)
    items: list[EnvelopeItem] = []
    size = len(data)
    while position < size:
        if data[position : position + 1] == b"\n":  # tolerate blank lines between items
            position += 1
            continue
        newline = data.find(b"\n", position)
        line_end = size if newline < 0 else newline
        item_headers = _header(data[position:line_end], "item", max_depth)
        position = line_end + 1
        item_type = item_headers.get("type")
        if not isinstance(item_type, str) or not item_type:
            raise InvalidEnvelope("An item header has no type.")
        length = item_headers.get("length")
        if length is not None:
            if not isinstance(length, int) or isinstance(length, bool) or length < 0:
                raise InvalidEnvelope("An item length must be a non-negative integer.")
            if position + length > size:
                raise InvalidEnvelope("An item is shorter than its declared length.")
            payload = data[position : position + length]
            position += length
            if position < size and data[position : position + 1] == b"\n":
                position += 1
        else:
            newline = data.find(b"\n", position) if position <= size else -1
            end = size if newline < 0 else newline
            payload = data[position:end]
            position = end + 1
        items.append(EnvelopeItem(item_type, item_headers, payload))
        if len(items) > MAX_ITEMS:
            raise InvalidEnvelope(f"An envelope may hold at most {MAX_ITEMS} items.")
    return Envelope(headers, items)
