"""The processing pipeline, in order. This list is the spec of what happens to a report.

1. anonymize   — strip every identifier before anything is written (workers/anonymize)
2. symbolicate — addresses and obfuscated names to functions, files, lines (workers/symbolicate)
3. group       — a stable, versioned signature (workers/grouping)
4. store       — one transaction: the report row and its group's counters (workers/store.py)
"""

from __future__ import annotations

from collections.abc import Callable

from workers.context import ProcessingContext
from workers.stages import anonymize_stage, group_stage, store_stage, symbolicate_stage

Stage = Callable[[ProcessingContext], None]

STAGES: list[tuple[str, Stage]] = [
    ("anonymize", anonymize_stage),
    ("symbolicate", symbolicate_stage),
    ("group", group_stage),
    ("store", store_stage),
]


def run_pipeline(ctx: ProcessingContext, stages: list[tuple[str, Stage]] | None = None) -> None:
    for _name, stage in stages or STAGES:
        stage(ctx)
