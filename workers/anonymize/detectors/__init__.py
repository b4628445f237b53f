"""Named free-text detectors (*what matches*), in the order they run.

Order matters: a later detector sees the text after earlier ones replaced their matches, so the more
specific shapes (PEM, JWT, URL secrets, e-mail, IBAN, IMEI, card) run before the looser ones (phone).
"""

from __future__ import annotations

from workers.anonymize.detectors.base import Detector, ScanState, compact_id
from workers.anonymize.detectors.contact import contact_detectors, phone_detector
from workers.anonymize.detectors.credentials import credential_detectors
from workers.anonymize.detectors.identity import (
    KeyIsSensitive,
    KeyTokens,
    known_identity_detector,
    labelled_value_detector,
    uuid_detector,
)
from workers.anonymize.detectors.network import ipv4_detector, network_detectors
from workers.anonymize.detectors.numbers import number_detectors
from workers.anonymize.detectors.paths import path_detectors

__all__ = [
    "Detector",
    "ScanState",
    "compact_id",
    "free_text_detectors",
    "path_detectors",
    "known_identity_detector",
]


def free_text_detectors(key_is_sensitive: KeyIsSensitive, key_tokens: KeyTokens) -> list[Detector]:
    """Every built-in detector for free text, in running order; key rules come from the rule set."""
    return [
        *credential_detectors(),
        *network_detectors(),  # url_secrets, mac, ipv6
        *path_detectors(),
        *contact_detectors(),  # email, device_name, hostname, postal_address
        uuid_detector(),
        *number_detectors(),  # iban, imei, card, ssn, gps, cell_id
        ipv4_detector(),
        phone_detector(),
        labelled_value_detector(key_is_sensitive, key_tokens),
    ]
