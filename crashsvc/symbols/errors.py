"""Domain errors for symbol uploads: each carries a stable code the web layer turns into JSON.

This package stays free of Flask; ``status`` is a hint for the one error boundary in the web app.
"""

from __future__ import annotations


class SymbolFileError(Exception):
    """An uploaded symbol file or archive cannot be accepted; ``code`` never changes meaning."""

    def __init__(self, code: str, message: str, *, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        return f"SymbolFileError(code={self.code!r}, message={self.message!r})"


# The stable codes, in one place so docs/symbols.md and the web layer can list them.
INVALID_SYMBOL_FILE = "invalid_symbol_file"  # empty, truncated or not a format we know
UNSUPPORTED_SYMBOL_FILE = "unsupported_symbol_file"  # recognised, but carries nothing to symbolicate with
UNSAFE_ARCHIVE = "unsafe_archive"  # path traversal, absolute names, links leaving the upload
UPLOAD_TOO_LARGE = "upload_too_large"  # total bytes or file count over the configured bound
