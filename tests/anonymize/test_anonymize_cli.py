"""``crashsvc scrub --explain``: paths, rules and actions, never the removed values; nothing stored."""

from __future__ import annotations

import json

from click.testing import CliRunner

from crashsvc.cli.scrub import scrub
from tests.anonymize.planted import CORPUS_DIR, load_planted


def test_explain_prints_paths_and_rules_but_no_values(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    case = next(case for case in load_planted() if case.name == "ios")
    result = CliRunner().invoke(scrub, ["--explain", str(CORPUS_DIR / "ios.json")])
    assert result.exit_code == 0, result.output
    assert "user" in result.output and "account_identity" in result.output
    assert "exception.value" in result.output and "email" in result.output
    assert [value for value in case.planted if value.lower() in result.output.lower()] == []
    assert list(tmp_path.iterdir()) == []


def test_explain_json_with_app_rules(tmp_path):
    (tmp_path / "apps").mkdir()
    (tmp_path / "default.json").write_text(
        (CORPUS_DIR.parents[2] / "config/scrubbing/default.json").read_text()
    )
    (tmp_path / "apps" / "5.json").write_text(json.dumps({"version": 2, "sensitive_keys": ["flow"]}))
    result = CliRunner().invoke(
        scrub,
        ["--explain", str(CORPUS_DIR / "ios.json"), "--app-id", "5", "--config-dir", str(tmp_path), "--json"],
    )
    assert result.exit_code == 0, result.output
    explained = json.loads(result.output)
    assert explained["scrub_version"] == "scrub:1+app:5.2"
    assert explained["install_hash"] == "would be set"
    assert {"rule": "sensitive_key:flow", "path": "tags.flow", "action": "removed", "count": 1} in explained[
        "changes"
    ]


def test_explain_refuses_a_non_report(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    result = CliRunner().invoke(scrub, ["--explain", str(bad)])
    assert result.exit_code != 0 and "JSON object" in result.output
