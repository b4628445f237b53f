"""The object every pipeline stage receives: the report being processed and what was learnt about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Note:
    """A record of *why* something happened to a report; never holds a report value."""

    stage: str  # "anonymize", "symbolicate", "group", "store"
    rule: str  # e.g. "email", "missing_symbols", "skip_frame:objc_exception_throw"
    path: str = ""  # field path, e.g. "breadcrumbs[3].message"
    count: int = 1
    detail: str = ""  # free text chosen by the stage, never copied from the report

    def as_dict(self) -> dict[str, Any]:
        data = {"stage": self.stage, "rule": self.rule, "path": self.path, "count": self.count}
        if self.detail:
            data["detail"] = self.detail
        return data


@dataclass
class ProcessingContext:
    """Mutable state carried through the ordered stages in ``workers.pipeline.STAGES``.

    ``report`` is the native report (see ``crashsvc/ingest/schema.py``): frames innermost first.
    Stages mutate it in place and append ``notes``; ``signature`` and friends are filled by grouping.
    """

    report_id: str
    app_id: int
    received_at: datetime
    report: dict[str, Any]
    services: Any = None  # workers.runtime.Services: settings, db sessions, symbol store
    notes: list[Note] = field(default_factory=list)
    # Filled by the anonymizer.
    install_hash: str | None = None
    scrub_version: str | None = None
    # Filled by symbolication.
    missing_symbols: list[dict[str, Any]] = field(default_factory=list)
    # Filled by grouping.
    signature: str | None = None
    signature_algorithm: str | None = None
    fingerprint: list[str] | None = None
    signature_explanation: list[dict[str, Any]] = field(default_factory=list)
    # Filled by storing.
    group_id: int | None = None
    # Filled by grouping: the group key (hex digest) behind the human-readable ``signature``.
    signature_hash: str | None = None

    def note(self, stage: str, rule: str, path: str = "", count: int = 1, detail: str = "") -> None:
        self.notes.append(Note(stage, rule, path, count, detail))
