"""Rule loading (defaults, per-app additions, errors), key-name rules, profile coarsening and the stage."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from workers.anonymize import RulesError, anonymize, anonymize_report, load_rules
from workers.anonymize.rules import DEFAULT_CONFIG_DIR
from workers.context import ProcessingContext

NOW = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)


@pytest.fixture
def config_dir(tmp_path):
    (tmp_path / "apps").mkdir()
    (tmp_path / "default.json").write_text((DEFAULT_CONFIG_DIR / "default.json").read_text())
    (tmp_path / "apps" / "7.json").write_text(
        json.dumps(
            {"version": 3, "sensitive_keys": ["loyalty_number", "member_*"], "safe_keys": ["cache_key"]}
        )
    )
    return tmp_path


def test_app_rules_add_sensitive_and_safe_keys(config_dir, keyring):
    rules = load_rules(7, config_dir)
    assert rules.version == "scrub:1+app:7.3"
    report = {
        "extra": {
            "loyalty_number": "LN-99812",
            "member_tier": "gold",
            "cache_key": "feed-v2",
            "sort_key": "date",
            "note": "loyalty_number=LN-99812",
        }
    }
    extra = anonymize(report, rules, keyring, NOW).report["extra"]
    assert extra == {"cache_key": "feed-v2", "note": "loyalty_number=[redacted]"}
    default = anonymize(report, load_rules(8, config_dir), keyring, NOW).report["extra"]
    assert "loyalty_number" in default and "cache_key" not in default


def test_safe_key_still_runs_detectors(config_dir, keyring):
    report = {"extra": {"cache_key": "jane@example.com"}}
    assert (
        anonymize(report, load_rules(7, config_dir), keyring, NOW).report["extra"]["cache_key"] == "[email]"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"version": 1, "sensitive_keys": "password"}, "sensitive_keys must be a list"),
        ({"version": 1, "colour": 1}, "unknown field 'colour'"),
        ({"version": "two"}, "version must be an integer"),
    ],
)
def test_bad_app_file_names_the_problem(config_dir, content, message):
    (config_dir / "apps" / "9.json").write_text(json.dumps(content))
    with pytest.raises(RulesError, match=message):
        load_rules(9, config_dir)


def test_unknown_detector_action_is_refused(config_dir):
    default = json.loads((config_dir / "default.json").read_text())
    default["actions"]["email"] = "hash"
    (config_dir / "default.json").write_text(json.dumps(default))
    with pytest.raises(RulesError, match="actions.email"):
        load_rules(None, config_dir)


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("apiKey", "sensitive"),
        ("X-Forwarded-For", "sensitive"),
        ("user_password", "sensitive"),
        ("keyboard", None),
        ("thread_name", "safe"),
        ("idfv", "install_id"),
        ("IDFA", "hardware_id"),
        ("view_hierarchy", "drop"),
        ("macOS", None),
        ("status_code", None),
    ],
)
def test_key_names_are_judged_by_tokens(rules, key, kind):
    assert rules.keys.classify(key).kind == kind


def test_profile_is_coarsened(rules, keyring):
    report = {
        "timestamp": 1772374931.5,
        "device": {
            "locale": "pt_BR",
            "timezone": "America/Sao_Paulo",
            "free_memory": 3_000_000_000,
            "battery_level": 57.3,
            "boot_time": 1772300000,
            "carrier": "Vivo",
        },
        "breadcrumbs": [{"timestamp": 1772374921.5, "message": "tap"}],
        "app": {"start_time": "2026-03-01T14:20:31Z"},
    }
    result = anonymize(report, rules, keyring, NOW).report
    assert result["timestamp"] == "2026-03-01T14:00:00Z"
    assert result["device"] == {
        "locale": "pt",
        "timezone": "-03:00",
        "free_memory": 2**31,
        "battery_level": 50,
    }
    assert result["breadcrumbs"] == [{"seconds_before_crash": 10.0, "message": "tap"}]
    assert result["app"] == {"start_seconds_before_crash": 100.5}


def test_stage_rewrites_context_in_place(rules, keyring):
    report = {
        "timestamp": "2026-03-01T14:22:11Z",
        "user": {"email": "a@b.example"},
        "device": {"id": "F1A2B3C4-D5E6-4F70-8192-A3B4C5D6E7F8"},
        "exception": {"value": "mail a@b.example"},
    }
    ctx = ProcessingContext("r1", 1, NOW, report, services=SimpleNamespace(hash_keyring=keyring))
    anonymize_report(ctx, rules=rules, now=NOW)
    assert ctx.report is report and "user" not in report
    assert report["exception"]["value"] == "mail [email]"
    assert ctx.scrub_version == "scrub:1" and len(ctx.install_hash) == 32
    assert {(n.stage, n.rule, n.path) for n in ctx.notes} >= {
        ("anonymize", "account_identity", "user"),
        ("anonymize", "install_id", "device.id"),
    }


def test_stage_defaults_to_file_keyring_under_data_dir(tmp_path):
    settings = SimpleNamespace(data_dir=tmp_path, hash_key_days=30)
    ctx = ProcessingContext(
        "r1", 1, NOW, {"device": {"id": "abc-install"}}, services=SimpleNamespace(settings=settings)
    )
    anonymize_report(ctx, now=NOW)
    assert ctx.install_hash and (tmp_path / "install-hash-keys" / "install-hash-keys.json").exists()


def test_malformed_shapes_are_still_scanned(rules, keyring):
    report = {
        "exception": "jane@example.com crashed",
        "threads": [{"frames": ["x 203.0.113.5"]}],
        "user": "jdoe99",
    }
    dumped = json.dumps(anonymize(report, rules, keyring, NOW).report)
    assert "jane@" not in dumped and "203.0.113.5" not in dumped and "jdoe99" not in dumped


def test_identifiers_in_key_names_do_not_reach_the_report_or_the_notes(rules, keyring):
    report = {
        "tags": {"jane@example.com": "1", "password:jane@example.com": "x"},
        "extra": {"203.0.113.5": "seen"},
    }
    result = anonymize(report, rules, keyring, NOW)
    assert "jane@" not in json.dumps(result.as_dict()) and "203.0.113.5" not in json.dumps(result.as_dict())
    assert result.report["tags"] == {"[email]": "1"}
