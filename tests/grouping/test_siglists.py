"""The plain-text rule lists: format, error messages, and that every shipped list parses."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.grouping.algorithms import PLATFORM_GROUPS, SIGLISTS_ROOT
from workers.grouping.siglists import RuleList, SiglistError, load_rule_set, parse_rule_file


def test_rules_comments_and_package_targets() -> None:
    text = (
        "# Header\n\n# raising\nobjc_exception_throw\nabort   # abort itself\npackage=libc\\.so  # bionic\n"
    )
    rules = parse_rule_file(text, "irrelevant", "v/x/irrelevant.txt")
    assert [(r.pattern, r.line, r.comment, r.target) for r in rules] == [
        ("objc_exception_throw", 4, "raising", "function"),
        ("abort", 5, "abort itself", "function"),
        ("libc\\.so", 6, "bionic", "package"),
    ]
    assert rules[2].as_dict()["pattern"] == "package=libc\\.so"


def test_invalid_regex_names_file_and_line() -> None:
    with pytest.raises(SiglistError, match=r"v/x/prefix\.txt:2: invalid regular expression"):
        parse_rule_file("ok  # fine\nbroken(  # oops\n", "prefix", "v/x/prefix.txt")


def test_patterns_match_whole_names_and_first_rule_wins() -> None:
    rules = RuleList("prefix", parse_rule_file("malloc  # a\nmalloc.*  # b\n", "prefix", "p.txt"))
    assert rules.match("malloc", None).comment == "a"
    assert rules.match("malloc_zone_malloc", None).comment == "b"
    assert rules.match("xmalloc", None) is None
    assert rules.match("", None) is None


@pytest.mark.parametrize("platform", [*PLATFORM_GROUPS, "other"])
def test_every_shipped_list_parses_and_every_rule_says_why(platform: str) -> None:
    groups = PLATFORM_GROUPS.get(platform, ("common",))
    rule_set = load_rule_set(SIGLISTS_ROOT, "sig1", groups)
    every = rule_set.sentinel.rules + rule_set.irrelevant.rules + rule_set.prefix.rules
    assert every, platform
    assert all(rule.comment for rule in every), [rule.ref for rule in every if not rule.comment]


def test_each_version_directory_has_all_lists() -> None:
    for group in {g for groups in PLATFORM_GROUPS.values() for g in groups}:
        for kind in ("sentinel", "irrelevant", "prefix"):
            assert (SIGLISTS_ROOT / "sig1" / group / f"{kind}.txt").is_file(), f"{group}/{kind}.txt"


def test_missing_lists_are_empty(tmp_path: Path) -> None:
    rule_set = load_rule_set(tmp_path, "none", ("common",))
    assert rule_set.irrelevant.match("abort", None) is None
