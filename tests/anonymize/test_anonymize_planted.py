"""The product's promise on the planted corpus: no planted identifier survives, every debug value does."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

import pytest

from tests.anonymize.planted import load_planted
from workers.anonymize import anonymize

NOW = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
CASES = load_planted()


def _forms(value: str) -> set[str]:
    return {value, value.lower(), quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_no_planted_value_survives(case, rules, keyring):
    result = anonymize(case.report, rules, keyring, NOW)
    dumped = json.dumps(result.as_dict()) + json.dumps(result.as_dict(), ensure_ascii=False)
    lowered = dumped.lower()
    leaks = [value for value in case.planted for form in _forms(value) if form.lower() in lowered]
    assert leaks == []


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_debug_value_survives(case, rules, keyring):
    result = anonymize(case.report, rules, keyring, NOW)
    dumped = json.dumps(result.as_dict(), ensure_ascii=False)
    missing = [value for value in case.debug_values if value not in dumped]
    assert missing == []


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_input_is_not_modified_and_notes_carry_no_values(case, rules, keyring):
    original = copy.deepcopy(case.report)
    result = anonymize(case.report, rules, keyring, NOW)
    assert case.report == original
    notes = json.dumps([note.as_dict() for note in result.notes], ensure_ascii=False).lower()
    assert [value for value in case.planted if value.lower() in notes] == []
    assert (result.install_hash is not None) == case.has_install_id
    assert result.scrub_version == "scrub:1"


def test_corpus_plants_every_category():
    names = {case.name for case in CASES}
    assert names == {"android", "ios", "js"}
    assert all(len(case.planted) >= 25 and case.debug_values for case in CASES)
