"""Detectors for numbers that identify a person or a device: cards, IBANs, SSNs, IMEIs and coordinates.

Each one checks more than the shape (Luhn, mod 97, value ranges) because crash reports are full of
digit runs that are debugging data: addresses, heap sizes, timestamps, counters and build numbers.
"""

from __future__ import annotations

import re

from workers.anonymize.checksums import iban_valid, luhn_valid
from workers.anonymize.detectors.base import Detector, ScanState, digits_of

# Issuer prefixes start with 2-6; starting there also keeps millisecond timestamps (1…) out.
CARD = re.compile(r"(?<![\w.+\-])[2-6](?:\d[ \-]?){11,17}\d(?!\w|[.\-]\d)")
IMEI = re.compile(r"(?<![\w.+\-])\d{2}[ \-]?\d{6}[ \-]?\d{6}[ \-]?\d(?!\w|[.\-]\d)")
ICCID = re.compile(r"(?<![\w.+\-])89\d{16,20}(?!\w|[.\-]\d)")
IBAN = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?!\w)")
SSN = re.compile(
    r"(?<![\w\-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\w|-\d)"
    r"|\b(?:ssn|social security(?: number)?)[ \t]*[:=#]?[ \t]*(?P<labelled>\d{9})\b",
    re.IGNORECASE,
)
GPS = re.compile(
    r"(?<![\w.])(?P<lat>-?\d{1,2}\.\d{3,})[ ]*,[ ]*(?P<lon>-?\d{1,3}\.\d{3,})(?!\w|\.\d)"
    r"|\b\d{1,3}(?:\.\d+)?°[ ]?(?:\d{1,2}(?:\.\d+)?['′][ ]?)?(?:\d{1,2}(?:\.\d+)?[\"″][ ]?)?[NSEWnsew]\b"
)
CELL_ID = re.compile(
    r"\b(?:cell[ _-]?id|cid|lac|tac|eci|nci)[ \t]*[:=][ \t]*(?P<value>\d{2,12})\b", re.IGNORECASE
)


def _accept_card(match: re.Match[str], state: ScanState) -> bool:
    digits = digits_of(match.group(0))
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _accept_imei(match: re.Match[str], state: ScanState) -> bool:
    return luhn_valid(digits_of(match.group(0)))


def _accept_iban(match: re.Match[str], state: ScanState) -> bool:
    return iban_valid(match.group(0).replace(" ", ""))


def _accept_gps(match: re.Match[str], state: ScanState) -> bool:
    if match.group("lat") is None:
        return True
    return abs(float(match.group("lat"))) <= 90 and abs(float(match.group("lon"))) <= 180


def number_detectors() -> list[Detector]:
    """IBAN, IMEI and ICCID before cards (a 15-digit Luhn number is more likely an IMEI than an Amex card)."""
    return [
        Detector(
            "iban", "financial", IBAN, "[iban]", needs_digit_pair=True, gate=r"\d\d{3}", accept=_accept_iban
        ),
        Detector(
            "imei", "hardware_id", IMEI, "[imei]", needs_digit_pair=True, gate=r"\d\d{5}", accept=_accept_imei
        ),
        Detector(
            "iccid",
            "hardware_id",
            ICCID,
            "[iccid]",
            needs_digit_pair=True,
            gate=r"89\d{16}",
            accept=_accept_imei,
        ),
        Detector(
            "card", "financial", CARD, "[card]", needs_digit_pair=True, gate=r"\d\d{3}", accept=_accept_card
        ),
        Detector(
            "ssn",
            "financial",
            SSN,
            "[ssn]",
            needs_digit_pair=True,
            gate=r"\d-\d\d-\d|ssn|social",
            group="last",
        ),
        Detector("gps", "location", GPS, "[gps]", needs_digit=True, gate=r"\.\d{3}|°", accept=_accept_gps),
        Detector(
            "cell_id",
            "location",
            CELL_ID,
            "[cell]",
            needs_digit_pair=True,
            gate=r"cell|cid|lac|tac|eci|nci",
            group="value",
        ),
    ]
