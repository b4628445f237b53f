"""``anonymize``: the pure function behind the pipeline stage and ``crashsvc scrub --explain``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crashsvc.ingest.schema import parse_time
from workers.anonymize.keyring import HashKeyRing
from workers.anonymize.rules import RuleSet
from workers.anonymize.walker import ReportWalker
from workers.context import Note

STAGE = "anonymize"


@dataclass
class AnonymizeResult:
    """The anonymized report, its install pseudonym, the rule-set version and the notes (never values)."""

    report: dict[str, Any]
    install_hash: str | None
    scrub_version: str
    notes: list[Note] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view, as stored and as printed by ``crashsvc scrub --json``."""
        return {
            "report": self.report,
            "install_hash": self.install_hash,
            "scrub_version": self.scrub_version,
            "notes": [note.as_dict() for note in self.notes],
        }


def anonymize(report: dict[str, Any], rules: RuleSet, keyring: HashKeyRing, now: datetime) -> AnonymizeResult:
    """Return an anonymized copy of a native report; ``report`` itself is left untouched.

    ``now`` picks the install-hash key (the processing time, not the crash time: a crash sent late
    from an offline device must not need a key that was already destroyed) and stands in for the
    event time when the report has none.
    """
    event_time = parse_time(report.get("timestamp")) or now
    walker = ReportWalker(rules, event_time)
    anonymized = walker.walk(report)
    walker.finish()
    install_hash = None
    if walker.install_ids:
        _, chosen_path, chosen_value = min(walker.install_ids)
        install_hash = keyring.key_for(now).pseudonym(f"app:{rules.app_id}", chosen_value)
        for _, path, _value in walker.install_ids:
            walker.note("install_id", path, "hashed" if path == chosen_path else "removed")
    notes = [Note(STAGE, rule, path, count, action) for (rule, path, action), count in walker.changes.items()]
    return AnonymizeResult(anonymized, install_hash, rules.version, notes)
