"""App versions compared the way people read them: numerically, part by part, with a text fallback."""

from __future__ import annotations

import re

_NUMBERED = re.compile(r"(\d+)(.*)", re.DOTALL)
_TOKENS = re.compile(r"\d+|[^\d.\-_ ]+")


def version_key(version: str) -> tuple:
    """A sort key: ``2.10`` > ``2.9``, ``2.4`` == ``2.4.0``, ``2.0-beta`` < ``2.0``; build metadata ignored.

    The numeric dotted prefix decides first; whatever follows it (a pre-release tag, or a version
    that is not numeric at all) only breaks ties, token by token (numbers as numbers: beta.2 <
    beta.10).
    """
    text = version.strip()
    if text[:1] in ("v", "V"):
        text = text[1:]
    text = text.split("+", 1)[0]  # semver build metadata does not order versions
    numbers: list[int] = []
    rest = ""
    pieces = text.split(".")
    for index, piece in enumerate(pieces):
        match = _NUMBERED.fullmatch(piece)
        if match is None:
            rest = ".".join(pieces[index:])
            break
        numbers.append(int(match.group(1)))
        if match.group(2):
            rest = ".".join([match.group(2), *pieces[index + 1 :]])
            break
    while numbers and numbers[-1] == 0:
        numbers.pop()
    tail = tuple(
        (0, int(token), "") if token.isdigit() else (1, 0, token.lower()) for token in _TOKENS.findall(rest)
    )
    return (tuple(numbers), 0 if rest else 1, tail)


def is_version_after(version: str | None, than: str | None) -> bool:
    """True when ``version`` is strictly later than ``than``; an unknown version is never later."""
    if not version or not than:
        return False
    return version_key(version) > version_key(than)
