"""What a detector is: a named pattern, an optional check on each match, and the part of it that is sensitive.

Detectors only say *what matches*; how a match is redacted comes from the rule set's actions and where
detectors run comes from the schema walker. ``Detector.generalize`` is used only by the ``generalize``
action (paths and URLs keep their non-identifying parts).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ScanState:
    """What one report's scan has learnt: ids that are debugging data, and identity values seen so far."""

    debug_ids: set[str] = field(default_factory=set)  # compact lower-case hex of image and report ids
    known_values: set[str] = field(
        default_factory=set
    )  # values taken from identity fields, removed everywhere
    known_name_parts: set[str] = field(
        default_factory=set
    )  # parts of personal names, matched case-sensitively

    def add_debug_id(self, value: object) -> None:
        """Remember a debug id, code id, image uuid or report id so free text may mention it."""
        if isinstance(value, str) and value:
            self.debug_ids.add(compact_id(value))


def compact_id(value: str) -> str:
    """Lower-case hex without dashes or braces; Breakpad ids carry a trailing age that is dropped."""
    return value.strip("{}<>").replace("-", "").lower()[:32]


Accept = Callable[[re.Match[str], ScanState], bool]
Generalize = Callable[[re.Match[str], ScanState], str]


@dataclass(frozen=True)
class Detector:
    """A named free-text detector; ``group`` is the span that gets redacted (0 = the whole match)."""

    name: str
    category: str
    pattern: re.Pattern[str]
    label: str
    needs: tuple[str, ...] = ()  # cheap pre-check: at least one substring must occur (lower-cased text)
    needs_digit: bool = False
    # Every accepted match holds two digits at most two characters apart ("12", "1.2", "(1) 2"); one
    # search for that, shared by all such detectors, rules out strings with lone digits ("Kit1", "#3").
    needs_digit_pair: bool = False
    accept: Accept | None = None
    group: int | str = 0  # "last": the named alternative that matched
    generalize: Generalize | None = None
    extend: Callable[[re.Match[str]], int] | None = None  # where the redacted span ends, if past the group

    # A cheap regex (on the lower-cased text) that every match must contain somewhere; or several, of
    # which every match contains one. Written to start with a literal or one character class where it
    # can: the regex engine then skips in C to the places where that character occurs.
    gate: str | tuple[str, ...] = ""
    gate_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)
    prefilter: tuple[int, tuple[str, ...], Callable[[str], object] | None] = field(
        init=False, repr=False, compare=False, default=(0, (), None)
    )

    def __post_init__(self) -> None:
        # A gate is a short pattern without lookbehinds; searching it is far cheaper than the full
        # pattern, which is tried at every position of every string.
        gate_search: Callable[[str], object] | None = None
        if isinstance(self.gate, tuple):
            searches = tuple(re.compile(gate).search for gate in self.gate)
            gate_search = lambda text: any(search(text) for search in searches) or None  # noqa: E731
        elif self.gate:
            object.__setattr__(self, "gate_re", re.compile(self.gate))
            gate_search = self.gate_re.search
        digits = 2 if self.needs_digit_pair else 1 if self.needs_digit else 0
        object.__setattr__(self, "prefilter", (digits, self.needs, gate_search))

    def applies_to(self, lowered: str, has_digit: bool) -> bool:
        """Cheap test run before the regex: most strings can be ruled out without scanning."""
        if (self.needs_digit or self.needs_digit_pair) and not has_digit:
            return False
        if self.needs_digit_pair and DIGIT_PAIR.search(lowered) is None:
            return False
        if self.needs and not any(need in lowered for need in self.needs):
            return False
        gate_search = self.prefilter[2]
        return gate_search is None or gate_search(lowered) is not None


DIGIT_PAIR = re.compile(r"\d\D{0,2}\d")


def digits_of(text: str) -> str:
    """The decimal digits of ``text``, in order."""
    return "".join(char for char in text if char.isdigit())
