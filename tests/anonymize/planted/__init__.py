"""The planted-identifier corpus: native reports with every identifier category planted everywhere.

Each ``<name>.json`` is a native report; ``<name>.expect.json`` lists the ``planted`` values that must
not survive anonymization in any form, and the ``debug_values`` that must survive verbatim (checked
against ``json.dumps`` of the result). Reusable by other test suites (full pipeline, Sentry envelopes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPUS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class PlantedCase:
    """One planted report and what must (not) come out of it."""

    name: str
    report: dict[str, Any]
    planted: tuple[str, ...]
    debug_values: tuple[str, ...]
    has_install_id: bool  # whether an install-scoped id is planted, so an install_hash is expected


def load_planted(directory: Path = CORPUS_DIR) -> list[PlantedCase]:
    """Every planted report in ``directory``, sorted by name; a fresh copy on every call."""
    cases = []
    for expect_file in sorted(directory.glob("*.expect.json")):
        name = expect_file.name.removesuffix(".expect.json")
        expect = json.loads(expect_file.read_text(encoding="utf-8"))
        report = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
        cases.append(
            PlantedCase(
                name,
                report,
                tuple(expect["planted"]),
                tuple(expect["debug_values"]),
                bool(expect.get("has_install_id")),
            )
        )
    return cases
