"""Detectors that need to know the report or the rule set: install-like UUIDs, labelled values, known values.

* ``uuid_like_install_id`` removes UUIDs from free text unless the report names them as debugging data
  (an image's debug id, code id or uuid, or the report id).
* ``labelled_value`` finds ``key=value`` / ``key: value`` pairs in free text and redacts the value when
  the key name is sensitive under the same rules that drop values in structured objects.
* ``known_identity`` removes values the walker took from identity fields (user name, e-mail, device
  name, home-directory owner…) wherever else they appear, including URL-encoded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

from workers.anonymize.detectors.base import Detector, ScanState, compact_id

UUID = re.compile(
    r"(?<![\w\-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![\w\-])"
)

LABELLED = re.compile(
    r"(?<![\w\"'])(?P<quote>[\"']?)(?P<key>[A-Za-z][\w.\-]{0,40}?)(?P=quote)[ \t]*[:=][ \t]*"
    # The value sits in a lookahead so that a rejected pair does not swallow the next label.
    r"(?=(?P<value>\"(?:[^\"\\]|\\.)*\"|'[^']*'|(?:(?:Bearer|Basic|Token|Digest)[ \t]+)?[^\s,;&)}\[\]\"'<>]+))"
)
# After a name-like key, a value may continue over capitalised words ("name: Jane Q. Doe").
_NAME_CONTINUATION = re.compile(r"(?:[ ][A-Z][\w'’.\-]*){1,3}")
_NAME_KEY_TOKENS = frozenset(
    {"name", "owner", "user", "username", "customer", "contact", "recipient", "sender"}
)

# Characters ``quote`` never encodes: a value made only of them is its own URL-encoded form.
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~\-]*")

# Values too common to remove from every string when they appear in an identity field.
_TRIVIAL_VALUES = frozenset(
    {
        "true",
        "false",
        "null",
        "none",
        "nil",
        "yes",
        "no",
        "unknown",
        "n/a",
        "anonymous",
        "guest",
        "user",
        "test",
        "admin",
        "default",
        "undefined",
    }
)

KeyIsSensitive = Callable[[str], bool]
KeyTokens = Callable[[str], tuple[str, ...]]


def _accept_uuid(match: re.Match[str], state: ScanState) -> bool:
    return compact_id(match.group(0)) not in state.debug_ids


def uuid_detector() -> Detector:
    """UUIDs in free text are treated as install or advertising ids unless they are debugging data."""
    return Detector(
        "uuid_like_install_id",
        "install_id",
        UUID,
        "[id]",
        needs_digit=True,
        gate=r"-[0-9a-f]{4}-[0-9a-f]{4}-",
        accept=_accept_uuid,
    )


def labelled_value_detector(key_is_sensitive: KeyIsSensitive, key_tokens: KeyTokens) -> Detector:
    """``password=…``, ``"email": "…"``, ``lat: 52.5`` in free text, judged by the rule set's key names."""

    def accept(match: re.Match[str], state: ScanState) -> bool:
        value = match.group("value").strip("\"'")
        return bool(value) and not value.startswith("[") and key_is_sensitive(match.group("key"))

    return Detector(
        "labelled_value",
        "sensitive_key",
        LABELLED,
        "[redacted]",
        needs=(":", "="),
        accept=accept,
        group="value",
        extend=lambda match: extend_name_value(match, key_tokens),
    )


def extend_name_value(match: re.Match[str], key_tokens: KeyTokens) -> int:
    """Where a name-like label's value ends: after the following capitalised words, if any."""
    end = match.end("value")
    if _NAME_KEY_TOKENS.intersection(key_tokens(match.group("key"))):
        more = _NAME_CONTINUATION.match(match.string, end)
        if more:
            end = more.end()
    return end


def identity_values_worth_removing(values: Iterable[str]) -> list[str]:
    """Drop values too short or too common to remove everywhere; add their URL-encoded forms."""
    chosen: set[str] = set()
    for raw in values:
        value = raw.strip()
        if len(value) < 3 or value.lower() in _TRIVIAL_VALUES or value.startswith(("[", "<")):
            continue
        if value.replace(".", "").replace("-", "").isdigit() and len(value) < 6:
            continue  # a small number under a user field is not worth removing from every message
        if _URL_SAFE.fullmatch(value):
            chosen.add(value)
        else:
            chosen.update({value, quote(value, safe=""), quote_plus(value)})
    return sorted(chosen, key=len, reverse=True)


def known_identity_detector(state: ScanState) -> Detector | None:
    """One alternation over this report's identity values (whole values ignore case, name parts do not)."""
    values = identity_values_worth_removing(state.known_values)
    parts = [part for part in identity_values_worth_removing(state.known_name_parts) if part not in values]
    if not values and not parts:
        return None
    alternatives = []
    if values:
        alternatives.append("(?i:" + "|".join(re.escape(value) for value in values) + ")")
    if parts:
        alternatives.append("|".join(re.escape(part) for part in parts))
    pattern = re.compile(r"(?<![\w])(?:" + "|".join(alternatives) + r")(?![\w])")
    return Detector("known_identity", "account_identity", pattern, "[redacted]")
