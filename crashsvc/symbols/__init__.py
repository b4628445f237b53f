"""Symbol files: upload validation, the content-addressed store and the index that finds them.

Pure Python (no Flask, no database). The web upload endpoint and the database-backed index build on
``SymbolStore``, ``build_symcache`` and the ``SymbolIndex`` protocol.
"""

from crashsvc.symbols.errors import SymbolFileError
from crashsvc.symbols.formats import IdentifiedFile, identify_file
from crashsvc.symbols.index import InMemorySymbolIndex, SymbolIndex, url_key
from crashsvc.symbols.open_cache import OpenHandleCache
from crashsvc.symbols.store import StoredDebugFile, SymbolStore, UploadMetadata, build_symcache
from crashsvc.symbols.upload import UploadEntry, UploadLimits, safe_member_name, walk_upload

__all__ = [
    "IdentifiedFile",
    "InMemorySymbolIndex",
    "OpenHandleCache",
    "StoredDebugFile",
    "SymbolFileError",
    "SymbolIndex",
    "SymbolStore",
    "UploadEntry",
    "UploadLimits",
    "UploadMetadata",
    "build_symcache",
    "identify_file",
    "safe_member_name",
    "url_key",
    "walk_upload",
]
