"""Walk a native report once, field by field, applying the schema in ``schema.py`` and the key-name rules.

Structured fields are handled during the walk. Free text is only collected (with where it sits) and
scanned afterwards by ``finish``, once every identity value in the report is known, so a user name
taken from ``user.username`` is also removed from an exception message that precedes it in the report.
The walker builds a new tree: the input report is never modified.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Any

from crashsvc.ingest.schema import parse_time
from workers.anonymize import apple_report
from workers.anonymize.detectors import Detector, ScanState, known_identity_detector
from workers.anonymize.detectors.identity import identity_values_worth_removing
from workers.anonymize.keynames import DROP, HARDWARE_ID, INSTALL_ID, SENSITIVE
from workers.anonymize.profile import (
    battery_bucket,
    language_only,
    power_of_two_bucket,
    seconds_before,
    truncate_to_hour,
    utc_offset,
)
from workers.anonymize.rules import RuleSet
from workers.anonymize.scanner import scrub_text
from workers.anonymize.schema import (
    CONTEXTS,
    IMAGE,
    IMAGE_IDS,
    KEEP,
    OBJECTS,
    PATH,
    TEXT,
    TEXT_LIST,
    TOP_LEVEL,
)

_DROPPED = object()
_ACTION_WORDS = {"replace": "replaced", "remove": "removed", "generalize": "generalized"}
_NAME_WORD = re.compile(r"[^\W\d_][\w'’\-]*")
_NOT_NAMES = frozenset(
    {
        "iphone",
        "ipad",
        "ipod",
        "macbook",
        "pro",
        "air",
        "max",
        "mini",
        "imac",
        "mac",
        "watch",
        "apple",
        "galaxy",
        "pixel",
        "phone",
        "tablet",
        "de",
        "von",
        "di",
        "van",
        "da",
        "do",
        "du",
        "of",
        "the",
        "android",
        "laptop",
        "pc",
        "plus",
        "ultra",
        "touch",
        "airpods",
        "studio",
        "kindle",
        "surface",
    }
)
_STRUCTURED = frozenset(OBJECTS) | {
    "frames",
    "threads",
    "images",
    "breadcrumbs",
    "contexts",
    "consent",
    "exception_list",
    "free_form",
}
_KEEP_ONLY = {
    id(schema): frozenset(key for key, kind in schema.items() if kind == KEEP)
    for schema in (*OBJECTS.values(), IMAGE)
}
_PATHS = {
    id(schema): tuple(key for key, kind in schema.items() if kind == PATH)
    for schema in (*OBJECTS.values(), IMAGE)
}
_KEEP_OR_PATH = {
    id(schema): _KEEP_ONLY[id(schema)] | frozenset(_PATHS[id(schema)])
    for schema in (*OBJECTS.values(), IMAGE)
}
_SCHEMA_INSTALL_ID_PRIORITY = 1000  # device.id ranks after every configured install-id key name


class ReportWalker:
    """One report's anonymization: ``walk`` the structure, then ``finish`` the free text."""

    def __init__(self, rules: RuleSet, event_time: datetime | None):
        self.rules = rules
        self.event_time = event_time
        self.state = ScanState()
        self.changes: Counter[tuple[str, str, str]] = Counter()  # (rule, path, action) -> count
        self.install_ids: list[tuple[int, str, str]] = []  # (priority, path, value)
        self._texts: list[tuple[Any, Any, str]] = []  # (container, slot, path) of strings still to scan
        self._apple_reports: list[tuple[Any, Any, str]] = []

    def note(self, rule: str, path: str, action: str, count: int = 1) -> None:
        """Record what was done where; values are never recorded."""
        self.changes[(rule, path, action)] += count

    # -- structure ------------------------------------------------------------------------------------

    def walk(self, report: dict[str, Any]) -> dict[str, Any]:
        """Return the anonymized structure; free text is still raw until ``finish`` runs."""
        self.state.add_debug_id(report.get("report_id"))
        out: dict[str, Any] = {}
        for key, value in report.items():
            kind = TOP_LEVEL.get(key)
            if kind is None:
                self._free_entry(out, key, value, "")
            else:
                self._apply(kind, out, key, value, key)
        return out

    def _apply(self, kind: str, out: dict[str, Any], key: str, value: Any, path: str) -> None:
        if kind == KEEP:
            out[key] = value
        elif kind == TEXT:
            self._free_into(out, key, value, path)
        elif kind == PATH:
            out[key] = self._path(value, path)
        elif kind == TEXT_LIST:
            if isinstance(value, list):
                out[key] = items = list(value)
                for index, item in enumerate(value):
                    self._free_into(items, index, item, f"{path}[{index}]")
            else:
                self._free_into(out, key, value, path)
        elif kind.startswith("drop:"):
            self._drop(kind[5:], value, path)
        elif kind in _STRUCTURED and not isinstance(value, dict | list):
            self._free_into(out, key, value, path)  # malformed: a scalar where an object belongs
        elif kind in OBJECTS:
            out[key] = self._object(OBJECTS[kind], value, path)
        else:
            result = getattr(self, "_" + kind)(value, path, out)
            if result is not _DROPPED:
                out[key] = result

    def _object(self, schema: dict[str, str], value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            return self._free_value(value, path)
        out: dict[str, Any] = {}
        for key, item in value.items():
            kind = schema.get(key)
            if kind is KEEP:
                out[key] = item
            elif kind is None:
                self._free_entry(out, key, item, path)
            else:
                self._apply(kind, out, key, item, f"{path}.{key}")
        return out

    def _list_of(self, schema: dict[str, str], value: Any, path: str) -> Any:
        if not isinstance(value, list):
            return self._object(schema, value, path)
        keep_only = _KEEP_ONLY[id(schema)]
        keep_or_path, path_keys = _KEEP_OR_PATH[id(schema)], _PATHS[id(schema)]
        path_cache = self.rules.path_cache.results
        items = list(value)
        for index, item in enumerate(value):
            if isinstance(item, dict):
                # Most frames hold nothing but debugging data and file paths: copy them without a per-key
                # walk, and take each path's result from the cache when it is there and changed nothing.
                keys = item.keys()
                if keys <= keep_only:
                    items[index] = dict(item)
                elif keys <= keep_or_path:
                    items[index] = copied = dict(item)
                    for key in path_keys:
                        text = copied.get(key)
                        if text is None:
                            continue
                        cached = path_cache.get(text) if isinstance(text, str) else None
                        if cached is None or cached[1]:
                            copied[key] = self._path(text, f"{path}[{index}].{key}")
                else:
                    items[index] = self._object(schema, item, f"{path}[{index}]")
            else:
                self._free_into(items, index, item, f"{path}[{index}]")
        return items

    def _frames(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        return self._list_of(OBJECTS["frame"], value, path)

    def _threads(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        return self._list_of(OBJECTS["thread"], value, path)

    def _breadcrumbs(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        return self._list_of(OBJECTS["breadcrumb"], value, path)

    def _exception_list(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        return self._list_of(OBJECTS["exception"], value, path)

    def _images(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        for image in value if isinstance(value, list) else [value]:
            if isinstance(image, dict):
                for id_field in IMAGE_IDS:
                    self.state.add_debug_id(image.get(id_field))
        return self._list_of(IMAGE, value, path)

    def _contexts(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        if not isinstance(value, dict):
            return self._free_value(value, path)
        contexts: dict[str, Any] = {}
        for name, context in value.items():
            kind = CONTEXTS.get(name)
            if kind is None:
                self._free_entry(contexts, name, context, path)
            else:
                self._apply(kind, contexts, name, context, f"{path}.{name}")
        return contexts

    def _free_form(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        return self._free_value(value, path)

    def _consent(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        if not isinstance(value, dict):
            return self._free_value(value, path)
        consent = {key: item for key, item in value.items() if key == "policy_version"}
        granted = parse_time(value.get("granted_at"))
        if granted is not None:
            consent["granted_at"] = truncate_to_hour(granted)
            self.note("consent_time", f"{path}.granted_at", "truncated")
        for key, item in value.items():
            if key not in ("policy_version", "granted_at"):
                self._free_entry(consent, key, item, path)
        return consent

    # -- identity -------------------------------------------------------------------------------------

    def _user(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        self._collect_identity(value, path)
        self.note("account_identity", path, "removed")
        return _DROPPED

    def _collect_identity(self, value: Any, path: str, key: str = "") -> None:
        """Remember a dropped subtree's values (and install ids in it) so free text cannot repeat them."""
        if isinstance(value, dict):
            for child_key, child in value.items():
                verdict = self.rules.keys.classify(child_key)
                if verdict.kind == INSTALL_ID:
                    self._install_id(child, f"{path}.{child_key}", verdict.entry)
                else:
                    self._collect_identity(child, f"{path}.{child_key}", child_key)
        elif isinstance(value, list):
            for index, child in enumerate(value):
                self._collect_identity(child, f"{path}[{index}]", key)
        elif isinstance(value, str):
            self.state.known_values.add(value)
            if "name" in key.lower() or "owner" in key.lower():
                self._remember_name_parts(value)
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 100_000:
            self.state.known_values.add(str(value))

    def _remember_name_parts(self, value: str) -> None:
        for word in _NAME_WORD.findall(value):
            word = word.removesuffix("'s").removesuffix("’s")
            if len(word) >= 3 and word[0].isupper() and word.lower() not in _NOT_NAMES:
                self.state.known_name_parts.add(word)

    def _install_id(self, value: Any, path: str, entry: str = "") -> Any:
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            keys = self.rules.install_id_keys
            priority = keys.index(entry) if entry in keys else _SCHEMA_INSTALL_ID_PRIORITY
            self.install_ids.append((priority, path, str(value).strip()))
            self.state.known_values.add(str(value).strip())
        else:
            self.note("install_id", path, "removed")
        return _DROPPED

    def _device_install_id(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        return self._install_id(value, path)

    def _drop(self, rule: str, value: Any, path: str) -> None:
        self._collect_identity(value, path, "name" if rule == "device_name" else "")
        self.note(rule, path, "removed")

    # -- free-form objects ----------------------------------------------------------------------------

    def _free_entry(self, out: dict[str, Any], key: str, value: Any, parent: str) -> None:
        """One key of a free-form object: the key name decides first, then the value is free text.

        The key itself is free text too (a tag may be named after an e-mail address), so notes name it
        only after it has been scanned.
        """
        out_key = self._scrub_key(key, parent)
        path = f"{parent}.{out_key}" if parent else out_key
        verdict = self.rules.keys.classify(key)
        if verdict.kind == DROP:
            self.note("attachment", path, "removed")
            return
        if verdict.kind == INSTALL_ID:
            self._install_id(value, path, verdict.entry)
            return
        if verdict.kind in (HARDWARE_ID, SENSITIVE):
            rule = "hardware_id" if verdict.kind == HARDWARE_ID else f"sensitive_key:{verdict.entry}"
            self._collect_identity(value, path, key)
            self.note(rule, path, "removed")
            return
        self._free_into(out, out_key, value, path)

    def _scrub_key(self, key: str, parent: str) -> str:
        cached = self.rules.key_cache.get(key)
        if cached is None:
            hits: Counter[str] = Counter()
            scrubbed = scrub_text(key, self.rules.text_detectors, self.rules.actions, ScanState(), hits)
            cached = (scrubbed, tuple(hits.items()))
            if len(self.rules.key_cache) < 50_000:
                self.rules.key_cache[key] = cached
        for rule, count in cached[1]:
            self.note(
                rule,
                f"{parent}.{cached[0]}(key)" if parent else f"{cached[0]}(key)",
                self._action_word(rule),
                count,
            )
        return cached[0]

    def _free_into(self, container: Any, slot: Any, value: Any, path: str) -> None:
        if isinstance(value, str):
            container[slot] = value
            self._texts.append((container, slot, path))
        else:
            container[slot] = self._free_value(value, path)

    def _free_value(self, value: Any, path: str) -> Any:
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                self._free_entry(out, str(key), item, path)
            return out
        if isinstance(value, list):
            items = list(value)
            for index, item in enumerate(value):
                self._free_into(items, index, item, f"{path}[{index}]")
            return items
        if isinstance(value, str):  # not reached through _apply; scanned now, without known identity values
            return self._scan(value, self.rules.text_detectors, path)
        return value

    # -- paths, times, profile ------------------------------------------------------------------------

    def _path(self, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            return self._free_value(value, path)
        return self._scan(value, self.rules.path_detectors, path)

    def _event_time(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        if self.event_time is None:
            self.note("event_time", path, "removed")
            return _DROPPED
        self.note("event_time", path, "truncated")
        return truncate_to_hour(self.event_time)

    def _breadcrumb_time(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        when = parse_time(value)
        if when is not None and self.event_time is not None:
            out["seconds_before_crash"] = seconds_before(self.event_time, when)
            self.note("breadcrumb_time", path, "converted")
        else:
            self.note("breadcrumb_time", path, "removed")
        return _DROPPED

    def _app_start_time(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        when = parse_time(value)
        if when is not None and self.event_time is not None:
            out["start_seconds_before_crash"] = seconds_before(self.event_time, when)
            self.note("app_start_time", path, "converted")
        else:
            self.note("app_start_time", path, "removed")
        return _DROPPED

    def _bucket_bytes(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        return self._bucketed(power_of_two_bucket(value), path)

    def _bucket_battery(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        return self._bucketed(battery_bucket(value), path)

    def _bucketed(self, bucket: int | None, path: str) -> Any:
        self.note("device_gauge", path, "removed" if bucket is None else "bucketed")
        return _DROPPED if bucket is None else bucket

    def _language(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        language = language_only(value)
        self.note("locale", path, "removed" if language is None else "generalized")
        return _DROPPED if language is None else language

    def _utc_offset(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        offset = utc_offset(value, self.event_time or datetime.now().astimezone())
        self.note("timezone", path, "removed" if offset is None else "generalized")
        return _DROPPED if offset is None else offset

    def _apple_crash_report(self, value: Any, path: str, out: dict[str, Any]) -> Any:
        if not isinstance(value, str):
            return self._free_value(value, path)
        self._apple_reports.append((out, "apple_crash_report", path))
        return value

    # -- free text ------------------------------------------------------------------------------------

    def finish(self) -> None:
        """Scan every collected string, now that all identity values and debug ids are known."""
        for container, slot, _path in self._apple_reports:
            apple_report.collect_debug_ids(container[slot], self.state)
        userpath = next(d for d in self.rules.text_detectors if d.name == "userpath")
        # All free text at once, newline-joined: no home-directory match and no check below can span a
        # newline into the next string, so one pass over the whole finds what a pass per string would.
        texts = "\n".join(container[slot] for container, slot, _path in self._texts)
        if userpath.applies_to(texts.lower(), True):
            for match in userpath.pattern.finditer(texts):
                userpath.accept(match, self.state)  # learn home-directory owners before scanning
        # Compiling a pattern of this report's identity values costs more than scanning, so it is
        # compiled only once some string actually contains one of them; only the values found somewhere
        # in the report's text are looked for string by string.
        pending = [(*site, True) for site in self._apple_reports] + [(*site, False) for site in self._texts]
        everything = "\n".join(container[slot] for container, slot, _path, _apple in pending).lower()
        present = [
            value
            for value in (
                value.lower()
                for value in identity_values_worth_removing(
                    self.state.known_values | self.state.known_name_parts
                )
            )
            if value in everything
        ]
        with_known: list[Detector] | None = None
        for container, slot, path, is_apple_report in pending:
            text = container[slot]
            detectors = self.rules.text_detectors
            if present:
                lowered = text.lower()
                if any(value in lowered for value in present):
                    if with_known is None:
                        known = known_identity_detector(self.state)
                        with_known = detectors + ([known] if known else [])
                    detectors = with_known
            if is_apple_report:
                container[slot] = apple_report.scrub(text, self, detectors, path)
            else:
                container[slot] = self._scan(text, detectors, path)

    def _scan(self, text: str, detectors: list[Detector], path: str) -> str:
        cache = self.rules.cache_for(detectors)
        if cache is not None:
            cached = cache.results.get(text)
            if cached is not None:
                for rule, count in cached[1]:
                    self.note(rule, path, self._action_word(rule), count)
                return cached[0]
        hits: Counter[str] = Counter()
        text = scrub_text(text, detectors, self.rules.actions, self.state, hits, cache)
        for rule, count in hits.items():
            self.note(rule, path, self._action_word(rule), count)
        return text

    def _action_word(self, rule: str) -> str:
        return _ACTION_WORDS[self.rules.actions.get(rule, "replace")]
