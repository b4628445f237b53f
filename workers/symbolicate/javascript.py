"""JavaScript / React Native frames: map minified line and column to the original source.

Works for browser bundles, Metro bundles and Hermes bytecode maps (where the "column" is the bytecode
offset and line is 1). symbolic's ``SourceMapCache`` resolves the original function from the map's
scopes (or Hermes' ``x_facebook_sources``), which a plain token look-up cannot. Lines and columns are
1-based on frames, as in browser stack traces. The minified position is kept under ``minified``.
"""

from __future__ import annotations

import posixpath
from typing import Any

from symbolic import SourceMapCache

from workers.symbolicate.in_app import is_app_script

CONTEXT_LINES = 5


def map_frame(frame: dict[str, Any], sourcemap: SourceMapCache) -> dict[str, Any] | None:
    """Return the frame at its original position, or None when the map has no token there."""
    line, column = frame.get("lineno"), frame.get("colno")
    if not isinstance(line, int) or not isinstance(column, int) or line < 1 or column < 1:
        return None
    token = sourcemap.lookup(line, column, CONTEXT_LINES)
    if token is None or not token.src:
        return None
    new = dict(frame)
    new.setdefault(
        "minified",
        {
            key: frame.get(key)
            for key in ("abs_path", "lineno", "colno", "function")
            if frame.get(key) is not None
        },
    )
    new["abs_path"] = token.src
    new["filename"] = posixpath.basename(token.src)
    new["lineno"] = token.line
    new["colno"] = token.col
    if token.function_name:
        new["function"] = token.function_name
    for key in ("context_line", "pre_context", "post_context"):
        new.pop(key, None)
    if token.context_line is not None:
        new["context_line"] = token.context_line.rstrip("\r\n")
        new["pre_context"] = [line.rstrip("\r\n") for line in token.pre_context]
        new["post_context"] = [line.rstrip("\r\n") for line in token.post_context]
    if frame.get("in_app") is None:
        new["in_app"] = is_app_script(token.src)
    new["symbolicated"] = True
    return new
