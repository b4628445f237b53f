"""Test data factories: apps, users, tokens, and realistic reports."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

from flask import Flask
from rq import Queue

from crashsvc.auth import hash_password, hash_token, new_api_token, new_ingest_key
from crashsvc.models import ApiToken, App, Membership, User

DATA = Path(__file__).parent / "data"


def load_report(name: str = "ios_crash.json") -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


class Factory:
    def __init__(self, app: Flask):
        self.app = app
        self.services = app.extensions["crashsvc"]

    def app_row(self, name: str | None = None, **fields: Any) -> App:
        with self.services.db.transaction() as session:
            row = App(name=name or f"app-{uuid.uuid4().hex[:8]}", ingest_key=new_ingest_key(), **fields)
            session.add(row)
        return row

    def user(
        self, email: str | None = None, admin: bool = False, password: str = "correct horse battery"
    ) -> User:
        with self.services.db.transaction() as session:
            row = User(
                email=email or f"u{uuid.uuid4().hex[:8]}@example.com",
                password_hash=hash_password(password),
                is_admin=admin,
            )
            session.add(row)
        return row

    def member(self, user: User, app: App, role: str = "viewer") -> None:
        with self.services.db.transaction() as session:
            session.add(Membership(user_id=user.id, app_id=app.id, role=role))

    def token(self, user: User, scopes: str = "read,write,symbols") -> str:
        token = new_api_token()
        with self.services.db.transaction() as session:
            session.add(
                ApiToken(user_id=user.id, token_hash=hash_token(token), prefix=token[:12], scopes=scopes)
            )
        return token

    def report(self, name: str = "ios_crash.json", **changes: Any) -> dict[str, Any]:
        report = copy.deepcopy(load_report(name))
        report.update(changes)
        return report

    def process_queue(self) -> int:
        """Run a real worker in burst mode until the queue is empty; returns jobs processed."""
        from workers.worker import ReportWorker

        queue = Queue(self.services.settings.queue_name, connection=self.services.redis)
        before = queue.count
        worker = ReportWorker([queue], connection=self.services.redis)
        worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
        return before
