"""The scrubbing rule set: default rules from ``config/scrubbing/default.json`` plus per-app additions.

A rule set answers *how* each detector's matches are redacted (``actions``) and *where* key-name rules
apply (drop / install id / hardware id / safe / sensitive key lists). *What* matches is the detector code.
The rule set carries a version that every anonymized report records as its ``scrub_version``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workers.anonymize.detectors import Detector, free_text_detectors
from workers.anonymize.keynames import KeyNameRules, key_tokens
from workers.anonymize.scanner import TEXT_ACTIONS, ScanCache

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "scrubbing"
_DEFAULT_FIELDS = {
    "version",
    "comment",
    "actions",
    "drop_keys",
    "install_id_keys",
    "hardware_id_keys",
    "safe_keys",
    "sensitive_keys",
}
# Debugging path fields (code_file, abs_path...) get only these: nothing else may touch a binary's path.
PATH_FIELD_DETECTORS = ("url_secrets", "userpath", "container_path", "android_install_dir")
_APP_FIELDS = {"version", "comment", "sensitive_keys", "safe_keys"}


class RulesError(ValueError):
    """A scrubbing config file cannot be used; the message names the file and the field."""


@dataclass
class RuleSet:
    """Everything the anonymizer needs to know besides the report: versioned, built once per app."""

    version: str
    app_id: int | None
    actions: dict[str, str]
    drop_keys: tuple[str, ...]
    install_id_keys: tuple[str, ...]
    hardware_id_keys: tuple[str, ...]
    safe_keys: tuple[str, ...]
    sensitive_keys: tuple[str, ...]
    keys: KeyNameRules = field(init=False, repr=False)
    text_detectors: list[Detector] = field(init=False, repr=False)
    path_detectors: list[Detector] = field(init=False, repr=False)
    key_cache: dict[str, tuple[str, tuple[tuple[str, int], ...]]] = field(init=False, repr=False)
    text_cache: ScanCache = field(init=False, repr=False)
    path_cache: ScanCache = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.keys = KeyNameRules(
            drop=self.drop_keys,
            install_id=self.install_id_keys,
            hardware_id=self.hardware_id_keys,
            safe=self.safe_keys,
            sensitive=self.sensitive_keys,
        )
        self.text_detectors = free_text_detectors(self.keys.is_sensitive, key_tokens)
        self.path_detectors = [d for d in self.text_detectors if d.name in PATH_FIELD_DETECTORS]
        self.key_cache = {}  # free-form key name -> (scanned key, hits); keys repeat across reports
        self.text_cache = ScanCache()  # strings repeat across reports too; see ScanCache for when it is safe
        self.path_cache = ScanCache()
        unknown = set(self.actions) - {detector.name for detector in self.text_detectors} - {"known_identity"}
        if unknown:
            raise RulesError(f"actions: unknown detector {sorted(unknown)[0]!r}")
        bad = {name: action for name, action in self.actions.items() if action not in TEXT_ACTIONS}
        if bad:
            name = sorted(bad)[0]
            raise RulesError(f"actions.{name}: expected one of {sorted(TEXT_ACTIONS)}, got {bad[name]!r}")

    def cache_for(self, detectors: list[Detector]) -> ScanCache | None:
        """The scan cache of this rule set's own detector lists; None for any other list."""
        if detectors is self.text_detectors:
            return self.text_cache
        if detectors is self.path_detectors:
            return self.path_cache
        return None


def load_rules(app_id: int | None = None, config_dir: Path | str | None = None) -> RuleSet:
    """Read the default rules and, if present, ``apps/<app_id>.json`` with its extra key names."""
    directory = Path(config_dir) if config_dir is not None else DEFAULT_CONFIG_DIR
    default = _read_json(directory / "default.json", _DEFAULT_FIELDS)
    version = _string(default, "version", directory / "default.json")
    sensitive = _names(default, "sensitive_keys", directory / "default.json")
    safe = _names(default, "safe_keys", directory / "default.json")
    if app_id is not None:
        app_file = directory / "apps" / f"{int(app_id)}.json"
        if app_file.exists():
            app = _read_json(app_file, _APP_FIELDS)
            sensitive += _names(app, "sensitive_keys", app_file)
            safe += _names(app, "safe_keys", app_file)
            app_version = app.get("version", 1)
            if not isinstance(app_version, int):
                raise RulesError(f"{app_file}: version must be an integer")
            version = f"{version}+app:{int(app_id)}.{app_version}"
    actions = default.get("actions", {})
    if not isinstance(actions, dict):
        raise RulesError(f"{directory / 'default.json'}: actions must be an object")
    return RuleSet(
        version=version,
        app_id=app_id,
        actions=dict(actions),
        drop_keys=_names(default, "drop_keys", directory / "default.json"),
        install_id_keys=_names(default, "install_id_keys", directory / "default.json"),
        hardware_id_keys=_names(default, "hardware_id_keys", directory / "default.json"),
        safe_keys=safe,
        sensitive_keys=sensitive,
    )


def _read_json(path: Path, allowed: set[str]) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RulesError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise RulesError(f"{path}: expected a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise RulesError(f"{path}: unknown field {unknown[0]!r}")
    return data


def _string(data: dict[str, Any], name: str, path: Path) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise RulesError(f"{path}: {name} must be a non-empty string")
    return value


def _names(data: dict[str, Any], name: str, path: Path) -> tuple[str, ...]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise RulesError(f"{path}: {name} must be a list of non-empty strings")
    return tuple(value)
