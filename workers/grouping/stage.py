"""The pipeline's grouping stage: fill the context's signature fields from the symbolicated report."""

from __future__ import annotations

from workers.context import ProcessingContext
from workers.grouping.algorithms import DEFAULT_ALGORITHM, get_algorithm

STAGE = "group"


def group_signature(ctx: ProcessingContext) -> None:
    """Compute the report's signature with the context's algorithm (``sig:1`` unless one is pinned).

    Sets ``signature`` (human-readable), ``signature_hash`` (the group key), ``signature_algorithm``,
    ``fingerprint`` and ``signature_explanation``, and notes every frame a rule skipped. Running it
    again on the same context gives the same fields and the same notes, not duplicates.
    """
    algorithm = get_algorithm(ctx.signature_algorithm or DEFAULT_ALGORITHM)
    result = algorithm.generate(ctx.report)
    ctx.signature = result.signature
    ctx.signature_hash = result.hash
    ctx.signature_algorithm = result.algorithm
    ctx.fingerprint = result.fingerprint
    ctx.signature_explanation = result.explanation

    ctx.notes = [note for note in ctx.notes if note.stage != STAGE]
    stack_path = next((e["path"] for e in result.explanation if e["kind"] == "stack"), None)
    for entry in result.explanation:
        if entry["kind"] == "frame" and entry["rule"] and not entry["contributes"]:
            ctx.note(
                STAGE,
                f"skip_frame:{entry['pattern']}",
                path=f"{stack_path}[{entry['index']}]",
                detail=entry["rule"],
            )
        elif entry["kind"] == "fingerprint":
            ctx.note(STAGE, "client_fingerprint", path="fingerprint", count=len(entry["value"]))
        elif entry["kind"] == "stack" and not entry["frames"]:
            ctx.note(STAGE, "no_frames", path="threads")
