"""Labelled reports → expected signatures; the same bug groups together, different bugs never do.

Each file in cases/<platform>/ holds a report, the signature a person expects for it and a ``bug``
label. Reports with the same label are the same bug seen through different app versions, OS
versions, devices, recursion depths or extra system frames: they must share a hash. Reports with
different labels are different bugs (often with the same top frame): they must not.
"""

from __future__ import annotations

import itertools

import pytest

from tests.grouping.conftest import load_cases
from workers.grouping import compute_signature

CASES = load_cases()


@pytest.mark.parametrize(("path", "case"), CASES, ids=[path for path, _ in CASES])
def test_case_has_expected_signature(path: str, case: dict) -> None:
    result = compute_signature(case["report"])
    assert result.signature == case["expected_signature"], f"{path}: {case['description']}"


def test_same_bug_same_group_different_bugs_different_groups() -> None:
    hashes: dict[str, set[str]] = {}
    for _path, case in CASES:
        hashes.setdefault(case["bug"], set()).add(compute_signature(case["report"]).hash)
    for bug, seen in hashes.items():
        assert len(seen) == 1, f"{bug}: the same bug split into {len(seen)} groups"
    for (bug_a, seen_a), (bug_b, seen_b) in itertools.combinations(hashes.items(), 2):
        assert seen_a.isdisjoint(seen_b), f"different bugs {bug_a} and {bug_b} merged into one group"


def test_cases_cover_every_platform_and_both_directions() -> None:
    platforms = {path.split("/", 1)[0] for path, _ in CASES}
    assert {"ios", "android", "js", "native"} <= platforms
    labels = [case["bug"] for _, case in CASES]
    assert any(labels.count(label) >= 2 for label in labels), "no same-bug pair"
    assert len(set(labels)) >= 10, "too few distinct bugs to show that groups stay apart"
