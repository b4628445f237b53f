"""A least-recently-used cache of opened symbol handles, bounded by count and by bytes.

SymCaches are memory-mapped and ProGuard mappers / source map caches live in memory, so a worker that
sees many apps must let old handles go: evicting the last reference frees the native object.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class OpenHandleCache:
    """Keep at most ``max_handles`` handles and ``max_bytes`` of their weight open at once."""

    def __init__(self, max_handles: int = 64, max_bytes: int = 512 * 1024**2):
        if max_handles <= 0 or max_bytes <= 0:
            raise ValueError("max_handles and max_bytes must be positive")
        self.max_handles = max_handles
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, opener: Callable[[], tuple[Any, int]]) -> Any:
        """Return the handle for ``key``, calling ``opener() -> (handle, weight)`` on a miss."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[0]
        handle, weight = opener()
        with self._lock:
            self.misses += 1
            if key not in self._entries:
                self._entries[key] = (handle, weight)
                self._bytes += weight
            self._evict()
            return handle

    def _evict(self) -> None:
        # Always keep the newest entry, even when it alone is over the byte bound.
        while len(self._entries) > 1 and (
            len(self._entries) > self.max_handles or self._bytes > self.max_bytes
        ):
            _, (_, weight) = self._entries.popitem(last=False)
            self._bytes -= weight

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def open_bytes(self) -> int:
        return self._bytes
