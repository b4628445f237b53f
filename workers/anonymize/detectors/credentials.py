"""Detectors for credentials that can appear anywhere: JWTs, auth headers, PEM keys, API keys, push tokens."""

from __future__ import annotations

import re

from workers.anonymize.detectors.base import Detector, ScanState

PEM = re.compile(r"-----BEGIN [A-Z0-9 ]+-----(?:.*?-----END [A-Z0-9 ]+-----|.*\Z)", re.DOTALL)
JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*")
AUTH_SCHEME = re.compile(
    r"\b(?:bearer|basic|digest|token|negotiate|apikey)[ \t]+(?P<secret>[A-Za-z0-9._~+/=\-]{8,})",
    re.IGNORECASE,
)
# Vendor key shapes (AWS, Google, Stripe, GitHub, GitLab, Slack, SendGrid, Twilio) found under any key name.
API_KEY = re.compile(
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|\bAIza[0-9A-Za-z_\-]{35}\b"
    r"|\b[spr]k_(?:live|test)_[0-9A-Za-z]{16,}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{36,}\b"
    r"|\bglpat-[\w\-]{20,}\b"
    r"|\bxox[abprs]-[A-Za-z0-9\-]{10,}\b"
    r"|\bSG\.[\w\-]{16,}\.[\w\-]{16,}\b"
    r"|\bSK[0-9a-fA-F]{32}\b"
)
# FCM registration tokens; APNs tokens are 64 hex digits and are caught by key name and label instead,
# because a bare 64-hex string in a crash report is far more often a content hash.
PUSH_TOKEN = re.compile(r"\b[\w\-]{11,}:APA91b[\w\-]{20,}")
# Google Analytics client ids (the _ga cookie): a per-browser advertising identifier.
ANALYTICS_ID = re.compile(r"\bGA\d\.\d\.\d{6,12}\.\d{9,10}\b")
COOKIE_HEADER = re.compile(r"\b(?:set-)?cookie[ \t]*:[ \t]*(?P<value>[^\r\n]+)", re.IGNORECASE)


def _accept_auth_scheme(match: re.Match[str], state: ScanState) -> bool:
    secret = match.group("secret")
    # "token expired" and "token refreshed" are words, not tokens: a credential mixes in digits or is long.
    return len(secret) >= 20 or any(char.isdigit() for char in secret)


def credential_detectors() -> list[Detector]:
    """PEM and JWT before everything else: their base64 bodies would otherwise be cut up by later rules."""
    return [
        Detector("pem", "credentials", PEM, "[pem]", needs=("-----begin",)),
        Detector("jwt", "credentials", JWT, "[jwt]", needs=("eyj",)),
        Detector(
            "bearer",
            "credentials",
            AUTH_SCHEME,
            "[token]",
            needs=("bearer", "basic", "digest", "token", "negotiate", "apikey"),
            accept=_accept_auth_scheme,
            group="secret",
        ),
        Detector("cookie", "credentials", COOKIE_HEADER, "[cookie]", needs=("cookie",), group="value"),
        Detector(
            "api_key",
            "credentials",
            API_KEY,
            "[api-key]",
            gate=r"akia|asia|aiza|k_live_|k_test_|gh[pousr]_|glpat-|xox[abprs]-|sg\.|sk[0-9a-f]{32}",
        ),
        Detector(
            "analytics_id", "hardware_id", ANALYTICS_ID, "[ad-id]", needs_digit=True, gate=r"ga\d\.\d\."
        ),
        Detector("push_token", "credentials", PUSH_TOKEN, "[push-token]", needs=(":apa91b",)),
    ]
