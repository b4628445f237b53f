"""Grouping: a stable, versioned signature for each report (the pipeline's third stage).

``compute_signature(report)`` is pure; ``group_signature(ctx)`` is the pipeline stage. Rule lists
live in ``config/siglists/<version>/``; see docs/grouping.md.
"""

from workers.grouping.algorithms import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    Algorithm,
    UnknownAlgorithm,
    compute_signature,
    get_algorithm,
)
from workers.grouping.generator import SignatureResult
from workers.grouping.stage import group_signature

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "Algorithm",
    "SignatureResult",
    "UnknownAlgorithm",
    "compute_signature",
    "get_algorithm",
    "group_signature",
]
