"""The compiled validator and marshmallow agree: same inputs accepted, same output, same error paths."""

from __future__ import annotations

import copy
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from crashsvc.ingest.schema import ReportSchema, flatten_errors
from crashsvc.ingest.validator import BAIL_ON, ReportValidator
from tests.factories import load_report

VALIDATOR = ReportValidator()
SCHEMA = ReportSchema()
BASE = load_report()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(
        ["0x1a2b", "cocoa", "true", "yes", "1", "2026-11-28T14:37:12Z", str(uuid.uuid4()), "0xZZ", ""]
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def paths(report, prefix=""):
    """Every (path, container, key) in a report, to mutate one place at a time."""
    if isinstance(report, dict):
        for key, value in report.items():
            yield report, key
            yield from paths(value)
    elif isinstance(report, list):
        for index, value in enumerate(report):
            yield report, index
            yield from paths(value)


PLACES = list(range(len(list(paths(copy.deepcopy(BASE))))))


def normalize(value):
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def typed(value):
    """A value with every leaf's type spelled out (``1 == True`` must not pass as equal)."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


def fast_agrees_with_checking(data):
    """Where the fast walk vouches for an input, its result is exactly the checking walk's."""
    try:
        fast = VALIDATOR._fast(copy.deepcopy(data))
    except BAIL_ON:
        return True
    checked, errors = VALIDATOR.validate_checking(copy.deepcopy(data))
    return not errors and typed(fast) == typed(checked)


def exact_agrees_with_checking(data):
    """Where the exact tier says "valid as sent", the checking walk accepts it and changes nothing."""
    if not VALIDATOR._exact(copy.deepcopy(data)):
        return True
    checked, errors = VALIDATOR.validate_checking(copy.deepcopy(data))
    if errors:
        return False
    if "report_id" in checked:
        checked["report_id"] = str(checked["report_id"])  # the one conversion the exact tier allows
    return typed(checked) == typed(data)


def both(data):
    assert fast_agrees_with_checking(data)
    assert exact_agrees_with_checking(data)
    try:
        expected, expected_errors = SCHEMA.load(data), {}
    except ValidationError as error:
        expected, expected_errors = None, flatten_errors(error.messages)
    actual, actual_errors = VALIDATOR.validate(data)
    return (normalize(expected), set(expected_errors)), (normalize(actual), set(actual_errors))


def test_the_benchmark_report_is_loaded_identically():
    expected, actual = both(copy.deepcopy(BASE))
    assert expected == actual
    assert expected[1] == set()


def test_the_fast_walk_vouches_for_a_typical_report():
    """Valid reports must not fall through to the checking walk, or the fast path buys nothing."""
    assert typed(VALIDATOR._fast(copy.deepcopy(BASE))) == typed(
        VALIDATOR.validate_checking(copy.deepcopy(BASE))[0]
    )


def test_the_exact_tier_takes_a_typical_report_as_it_is():
    data = copy.deepcopy(BASE)
    report, errors, vouched = VALIDATOR.check(data)
    assert report is data and errors == {} and vouched


@pytest.mark.parametrize(
    ("place", "value", "valid"),
    [
        # valid, but past what msgspec can bound exactly: left to the walks
        (("threads", 0, "frames", 0, "instruction_addr"), 2**64 - 1, True),
        (("threads", 0, "frames", 0, "instruction_addr"), "0X1A2B", True),
        (("threads", 0, "frames", 0, "instruction_addr"), "0x00000000000000001a", True),
        (("threads", 0, "frames", 0, "instruction_addr"), "0x1a2b\n", True),  # int() strips it
        (("report_id",), "6F1C1F0E-3D3A-4C6E-9B59-4F0F6C1E2A11", True),  # valid, but not canonical
        (("device", "extra"), None, True),  # a free-form object's null is dropped: a change
        (("os", "unknown_key"), "x", True),  # an unknown key is dropped: a change
        (("threads", 0, "crashed"), 1, True),  # converted to True: a change
        # invalid
        (("threads", 0, "frames", 0, "instruction_addr"), 2**64, False),
        (("timestamp",), "2026-13-45T10:00:00Z", False),
        (("timestamp",), float("inf"), False),
        (("breadcrumbs", 0, "timestamp"), "yesterday", False),
        (("tags", "k"), None, False),
        (("platform",), "symbian", False),
        (("device", "model"), None, True),
        (("threads", 0, "frames", 0, "lineno"), 2**31 + 1, False),
    ],
)
def test_the_exact_tier_refuses_what_it_cannot_prove_unchanged(place, value, valid):
    data = copy.deepcopy(BASE)
    container = data
    for key in place[:-1]:
        container = container[key]
    container[place[-1]] = value
    assert not VALIDATOR._exact(copy.deepcopy(data))
    report, errors, _vouched = VALIDATOR.check(data)
    assert (not errors) is valid
    assert report is not data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(place=st.sampled_from(PLACES), value=json_values, replace_key=st.booleans())
def test_any_single_mutation_gets_the_same_verdict(place, value, replace_key):
    data = copy.deepcopy(BASE)
    container, key = list(paths(data))[place]
    if replace_key and isinstance(container, dict):
        container[f"x_{key}"] = container.pop(key)
    else:
        container[key] = value
    expected, actual = both(data)
    assert expected == actual


@settings(max_examples=200, deadline=None)
@given(top=st.dictionaries(st.sampled_from(list(SCHEMA.fields) + ["other"]), json_values, max_size=6))
def test_random_top_level_objects_get_the_same_verdict(top):
    top["opt_in"] = True
    expected, actual = both(top)
    assert expected == actual
