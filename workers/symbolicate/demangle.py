"""Turn mangled C++, Rust (legacy and v0), Swift and MSVC symbol names into readable ones."""

from __future__ import annotations

from functools import lru_cache

import pydemumble

# Prefixes of mangled names; anything else (``main``, ``-[Foo bar]``, already readable) is kept.
MANGLED_PREFIXES = ("_Z", "__Z", "_R", "$s", "_$s", "$S", "_$S", "_T0", "?")


@lru_cache(maxsize=65536)
def demangle_name(name: str) -> str:
    """Return the demangled form of ``name``, or ``name`` itself when it is not mangled."""
    if not name.startswith(MANGLED_PREFIXES):
        return name
    return pydemumble.demangle(name) or name
