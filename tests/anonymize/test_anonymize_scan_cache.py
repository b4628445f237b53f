"""The scan cache may only ever return what a fresh scan would: results that depend on the report are not kept."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

from workers.anonymize import anonymize, load_rules
from workers.anonymize.detectors import ScanState
from workers.anonymize.scanner import PURE_DETECTORS, ScanCache, scrub_text

NOW = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
DEBUG_ID = "3b4c9f2e-8d71-4a65-9e0f-12ab34cd56ef"


def test_a_uuid_kept_as_debug_id_in_one_report_is_still_removed_in_the_next(keyring):
    rules = load_rules(None)
    message = f"missing dSYM {DEBUG_ID}"
    with_image = {"images": [{"debug_id": DEBUG_ID}], "exception": {"value": message}}
    without = {"exception": {"value": message}}
    assert anonymize(with_image, rules, keyring, NOW).report["exception"]["value"] == message
    assert anonymize(without, rules, keyring, NOW).report["exception"]["value"] == "missing dSYM [id]"
    assert anonymize(with_image, rules, keyring, NOW).report["exception"]["value"] == message


def test_identity_values_of_one_report_are_removed_even_from_strings_cached_clean(keyring):
    rules = load_rules(None)
    clean = {"breadcrumbs": [{"message": "opened profile of jdoe99"}]}
    assert (
        anonymize(clean, rules, keyring, NOW).report["breadcrumbs"][0]["message"]
        == "opened profile of jdoe99"
    )
    named = {"user": {"username": "jdoe99"}, "breadcrumbs": [{"message": "opened profile of jdoe99"}]}
    assert "jdoe99" not in json.dumps(anonymize(named, rules, keyring, NOW).report)


def test_cached_results_and_notes_equal_a_fresh_scan(keyring):
    rules, fresh = load_rules(None), load_rules(None)
    report = {
        "breadcrumbs": [
            {"data": {"url": "https://api.example.com/v2/feed?page=3&token=abc3"}},
            {"message": "viewDidAppear #3"},
            {"message": "mail jane@example.com"},
        ],
        "images": [
            {
                "code_file": "/private/var/containers/Bundle/Application/"
                "0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D/Example.app/Example"
            }
        ],
    }
    anonymize(report, rules, keyring, NOW)  # fills the caches
    assert rules.text_cache.results and rules.path_cache.results
    again, first = anonymize(report, rules, keyring, NOW), anonymize(report, fresh, keyring, NOW)
    assert again.as_dict() == first.as_dict()


def test_impure_detectors_are_never_cached():
    rules = load_rules(None)
    impure = {detector.name for detector in rules.text_detectors} - PURE_DETECTORS
    assert impure == {"userpath", "uuid_like_install_id"}
    cache = ScanCache()
    scrub_text(
        "/Users/jdoe/src/app.swift", rules.text_detectors, rules.actions, ScanState(), Counter(), cache
    )
    scrub_text(f"id {DEBUG_ID}", rules.text_detectors, rules.actions, ScanState(), Counter(), cache)
    assert cache.results == {}


def test_cache_is_bounded():
    rules = load_rules(None)
    cache = ScanCache(max_entries=10, max_length=20)
    for number in range(25):
        scrub_text(f"thread {number}", rules.text_detectors, rules.actions, ScanState(), Counter(), cache)
    scrub_text("x" * 21, rules.text_detectors, rules.actions, ScanState(), Counter(), cache)
    assert 0 < len(cache.results) <= 10 and "x" * 21 not in cache.results
