"""The list of feature packages that plug routes into the app; each entry is ``register(app)``.

Keeping the list here (not discovered by import side effects) makes the app's surface readable
in one place.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

REGISTRARS: list[Callable[[Flask], None]] = []
