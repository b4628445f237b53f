"""Fixtures for the anonymizer tests: the default rule set and an in-memory key ring."""

from __future__ import annotations

import pytest

from workers.anonymize import MemoryHashKeyRing, RuleSet, load_rules


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return load_rules(None)


@pytest.fixture
def keyring() -> MemoryHashKeyRing:
    return MemoryHashKeyRing(key_days=30)
