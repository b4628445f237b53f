"""Login rate limits: failed attempts counted per account and per client in short-lived Redis keys.

Privacy: the counter keys carry a keyed hash (HMAC with the server secret) of the e-mail or client
address, never the value, and expire with the window; nothing else about the client is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from redis import Redis

from crashsvc.web.sessions import client_fingerprint

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_CLIENT = 20
_PREFIX = "crashsvc:login:"


@dataclass
class LoginThrottle:
    redis: Redis
    secret: bytes

    def _keys(self, email: str) -> tuple[str, str]:
        account = _PREFIX + "acct:" + client_fingerprint(self.secret, "acct:" + email.strip().lower())
        client = (
            _PREFIX + "client:" + client_fingerprint(self.secret, "client:" + (request.remote_addr or ""))
        )
        return account, client

    def blocked_for(self, email: str) -> int:
        """Seconds until another attempt is allowed (0: allowed now)."""
        account, client = self._keys(email)
        pipe = self.redis.pipeline()
        pipe.get(account).get(client).ttl(account).ttl(client)
        failures_account, failures_client, ttl_account, ttl_client = pipe.execute()
        waits = []
        if int(failures_account or 0) >= MAX_FAILURES_PER_ACCOUNT:
            waits.append(ttl_account)
        if int(failures_client or 0) >= MAX_FAILURES_PER_CLIENT:
            waits.append(ttl_client)
        return max((max(wait, 1) for wait in waits), default=0)

    def record_failure(self, email: str) -> None:
        pipe = self.redis.pipeline()
        for key in self._keys(email):
            pipe.incr(key).expire(key, WINDOW_SECONDS, nx=True)
        pipe.execute()

    def record_success(self, email: str) -> None:
        self.redis.delete(self._keys(email)[0])


def login_throttle() -> LoginThrottle:
    services = current_app.extensions["crashsvc"]
    secret = current_app.config["SECRET_KEY"]
    return LoginThrottle(services.redis, secret.encode() if isinstance(secret, str) else secret)
