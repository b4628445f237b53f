"""The list of feature packages that plug routes into the app; each entry is ``register(app)``.

Keeping the list here (not discovered by import side effects) makes the app's surface readable
in one place.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from crashsvc import web
from crashsvc.api import groups, manage, symbols
from crashsvc.purge import api as purge_api

REGISTRARS: list[Callable[[Flask], None]] = [
    purge_api.register,  # DELETE /api/v1/reports/<id> with the report's delete token
    symbols.register,  # POST/GET /api/v1/apps/<id>/symbols
    groups.register,  # /api/v1/apps/<id>/groups, /api/v1/groups/<id> (status, notes, merge)
    manage.register,  # /api/v1/apps/<id>/overview|members|rotate-key, PATCH apps, /me/tokens, /users
    web.register,  # the triage web UI (pages, session sign-in, CSRF, security headers)
]
