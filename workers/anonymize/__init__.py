"""The anonymizer, the pipeline's first stage: what we store identifies no one, and notes show it.

Public API:

* ``anonymize_report(ctx)`` — the stage: rewrites ``ctx.report`` in place, sets ``ctx.install_hash``
  and ``ctx.scrub_version``, appends ``anonymize`` notes (rule, path, count; action in ``detail``).
* ``anonymize(report, rules, keyring, now) -> AnonymizeResult`` — the pure function the stage and the
  ``crashsvc scrub --explain`` command share.
* ``load_rules(app_id, config_dir)`` / ``RuleSet`` — default rules plus per-app key names.
* ``HashKeyRing`` / ``FileHashKeyRing`` / ``MemoryHashKeyRing`` — rotating install-hash keys.
"""

from workers.anonymize.anonymizer import AnonymizeResult, anonymize
from workers.anonymize.keyring import (
    ExpiredKeyError,
    FileHashKeyRing,
    HashKey,
    HashKeyRing,
    MemoryHashKeyRing,
)
from workers.anonymize.rules import RulesError, RuleSet, load_rules
from workers.anonymize.stage import RuleSetCache, anonymize_report

__all__ = [
    "AnonymizeResult",
    "ExpiredKeyError",
    "FileHashKeyRing",
    "HashKey",
    "HashKeyRing",
    "MemoryHashKeyRing",
    "RuleSet",
    "RuleSetCache",
    "RulesError",
    "anonymize",
    "anonymize_report",
    "load_rules",
]
