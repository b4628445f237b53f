"""Fixtures for symbolication tests: the shared corpus, a fresh symbol store, and a context factory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crashsvc.symbols import InMemorySymbolIndex, SymbolStore
from workers.context import ProcessingContext

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Services:
    """The slice of ``workers.runtime.Services`` the symbolication stage uses."""

    symbol_index: Any
    symbol_store: Any


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = Path(os.environ.get("CRASHSVC_TEST_CORPUS", PROJECT_ROOT / ".." / "shared" / "corpus"))
    if not (path / "MANIFEST.md").is_file():
        pytest.skip(f"shared crash corpus not found at {path} (set CRASHSVC_TEST_CORPUS)")
    return path.resolve()


@pytest.fixture
def store(tmp_path: Path) -> SymbolStore:
    return SymbolStore(tmp_path / "symbols")


@pytest.fixture
def index() -> InMemorySymbolIndex:
    return InMemorySymbolIndex()


@pytest.fixture
def make_ctx(store: SymbolStore, index: InMemorySymbolIndex):
    def make(report: dict[str, Any]) -> ProcessingContext:
        return ProcessingContext(
            report_id="r-1",
            app_id=1,
            received_at=datetime(2024, 1, 1, tzinfo=UTC),
            report=report,
            services=Services(index, store),
        )

    return make
