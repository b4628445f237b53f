"""Shared helpers for the grouping tests: labelled cases live in cases/<platform>/*.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CASES_DIR = Path(__file__).parent / "cases"


def load_cases() -> list[tuple[str, dict[str, Any]]]:
    """(relative path, case) for every case file: {description, bug, expected_signature, report}."""
    return [
        (path.relative_to(CASES_DIR).as_posix(), json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(CASES_DIR.rglob("*.json"))
    ]
