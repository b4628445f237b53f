"""Strict JSON: no NaN/Infinity, no duplicate keys, bounded depth, UTF-8 only."""

from __future__ import annotations

import json
from typing import Any

from crashsvc.errors import InvalidJson


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        # Two parsers could read a duplicate key differently; refuse the ambiguity.
        raise ValueError("duplicate key")
    return result


def loads_strict(data: bytes | str, max_depth: int) -> Any:
    """Parse JSON or raise ``InvalidJson``; never lets a parser error become a 500."""
    try:
        if isinstance(data, bytes):
            data = data.decode("utf-8")
        value = json.loads(data, parse_constant=_reject_constant, object_pairs_hook=_unique_object)
    except RecursionError:
        raise InvalidJson("The JSON is nested too deeply.") from None
    except (ValueError, TypeError) as exc:
        raise InvalidJson(_describe(exc)) from None
    if json_depth_exceeds(value, max_depth):
        raise InvalidJson(f"The JSON is nested deeper than {max_depth} levels.")
    return value


def _describe(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "The body is not valid UTF-8."
    if isinstance(exc, json.JSONDecodeError):
        return f"The body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})."
    if "duplicate key" in str(exc):
        return "The JSON has a duplicate key."
    if "is not valid JSON" in str(exc):
        return "NaN and Infinity are not valid JSON."
    return "The body is not valid JSON."


def json_depth_exceeds(value: Any, max_depth: int) -> bool:
    """True when containers nest deeper than ``max_depth`` (level by level: no recursion limit)."""
    level = [value] if type(value) in (dict, list) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        deeper = []
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) is dict or type(child) is list:
                    deeper.append(child)
        level = deeper
    return False
