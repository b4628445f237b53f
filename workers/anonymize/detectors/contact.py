"""Detectors for contact data and device naming: e-mail, phone, postal address, device and host names."""

from __future__ import annotations

import re

from workers.anonymize.detectors.base import Detector, ScanState, digits_of

EMAIL = re.compile(
    # %40 and %2540 catch addresses that were URL-encoded (once or twice) into query strings and paths;
    # the (?![1-3]x\.) stops asset names such as icon@2x.png from looking like addresses.
    r"(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}(?:@|%40|%2540)(?![1-3]x\.)"
    r"[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}(?![\w-])",
    re.IGNORECASE,
)

# Phone numbers are recognised by shape, never by "any run of digits": a bare digit run is as likely to
# be a heap size, a timestamp or a counter. Accepted shapes: +country…, NANP with separators, trunk-0
# national numbers with separators, and any digit run right after a phone word ("tel:", "phone =").
PHONE = re.compile(
    r"(?P<intl>(?<![\w+])\+\d{1,15}(?:[ .\-]?\(\d{1,5}\)[ .\-]?\d{1,10}|[ .\-]\d{1,10})*(?!\w|[.\-]\d))"
    r"|(?P<nanp>(?<![\w.+:/\-])(?:\(\d{3}\)[ ]?|\d{3}[ .\-])\d{3}[ .\-]\d{4}(?!\w|[.:\-]\d))"
    r"|(?P<trunk>(?<![\w.+:/\-])(?:\(0\d{1,4}\)|0\d{1,4})(?:[ /\-]\d{2,8}){1,4}(?!\w|[.:/\-]\d))"
    r"|(?:\b(?:phone|tel|telephone|mobile|cell|msisdn|sms|whatsapp|fax)(?:[ _-]?(?:no|number|nr|num))?"
    r"\.?[ \t]*[:=#]?[ \t]*(?P<labelled>\+?\d[\d \-]{5,18}\d)(?!\w))",
    re.IGNORECASE,
)
_DATE_SHAPED = re.compile(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{2,4}")


def _accept_phone(match: re.Match[str], state: ScanState) -> bool:
    kind = match.lastgroup
    digits = digits_of(match.group(kind or 0))
    if kind == "intl":
        return 8 <= len(digits) <= 15
    if kind == "nanp":
        return digits[0] in "23456789" and digits[3] in "23456789"
    if kind == "trunk":
        return 9 <= len(digits) <= 13 and not _DATE_SHAPED.match(match.group(kind))
    return 7 <= len(digits) <= 15


POSTAL_ADDRESS = re.compile(
    r"\b\d{1,5}[ ](?:[A-Z][a-z]+[ ]){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|"
    r"Court|Ct|Way|Place|Pl|Terrace|Square|Sq|Parkway|Pkwy|Highway|Hwy)\b\.?"
    r"(?:,?[ ](?:Apt|Suite|Unit)\.?[ ]?\w+)?"
    r"|\b[A-ZÄÖÜ][\wäöüß\-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring)[ ]\d{1,4}[a-z]?\b"
    r"|\b\d{1,4}[ ,]+(?:rue|avenue|boulevard|chemin|place|allée)[ ](?:d[eu][ ]|de la[ ]|des[ ])?[A-Z][\w\-]+"
    r"|\b[A-Z]{2}[ ]\d{5}(?:-\d{4})?\b"
    r"|\b[A-Z]{1,2}\d[A-Z\d]?[ ]\d[A-Z]{2}\b",
)

_DEVICES = (
    r"iPhone|iPad|iPod(?:[ ]touch)?|MacBook(?:[ ](?:Pro|Air))?|iMac|Mac(?:[ ](?:mini|Studio|Pro))?|"
    r"Apple[ ]Watch|AirPods(?:[ ](?:Pro|Max))?|Galaxy(?:[ ][\w+]+)?|Pixel(?:[ ]\w+)?|Phone|Tablet|"
    r"Watch|Laptop|PC|Android|Kindle|Surface|Headphones|Buds"
)
DEVICE_NAME = re.compile(
    rf"(?:\b[A-Z][\w\-]*[ ]){{0,2}}\b[A-Z][\w\-]*['’]s[ ](?:{_DEVICES})(?:[ ](?:\d+|Pro|Max|Plus|mini|Ultra|\(\d+\)))*"
    rf"|\b(?:{_DEVICES})[ ](?:de|von|di|van|da|do|du|of)[ ][A-Z][\w\-]*(?:[ ][A-Z][\w\-]*)?",
)

HOSTNAME = re.compile(
    r"\b[\w\-]+-(?:iPhone|iPad|MacBook(?:-Pro|-Air)?|iMac|Mac-mini|Mac-Studio|Android|Galaxy[\w\-]*)"
    r"(?:-\d+)?(?:\.local(?:domain)?)?\b"
    r"|\b[A-Za-z0-9][\w\-]*\.(?:local|localdomain|lan|home|internal)\b"
    r"|\b(?:DESKTOP|LAPTOP|WIN)-[A-Z0-9]{6,8}\b"
    r"|\bandroid-[0-9a-f]{16}\b",
)


def contact_detectors() -> list[Detector]:
    """E-mail first (it contains dots and digits the later detectors would otherwise chew on)."""
    return [
        Detector("email", "contact", EMAIL, "[email]", needs=("@", "%40")),
        Detector(
            "device_name",
            "device_naming",
            DEVICE_NAME,
            "[device-name]",
            needs=("'s ", "’s ", " de ", " von ", " di ", " van ", " da ", " do ", " du ", " of "),
        ),
        Detector(
            "hostname",
            "network",
            HOSTNAME,
            "[host]",
            needs=("-", "."),
            gate=r"-(?:iphone|ipad|macbook|imac|mac-|android|galaxy)|\.local|\.lan\b|\.home\b|\.internal"
            r"|desktop-|laptop-|win-|android-[0-9a-f]",
        ),
        Detector(
            "postal_address",
            "contact",
            POSTAL_ADDRESS,
            "[address]",
            needs_digit=True,
            gate=(r"\d(?:[ ,]+[a-zäöü]|[a-z]{2}\b|\d{4})", r"stra|str\.|weg |gasse|platz|allee|ring "),
        ),
    ]


def phone_detector() -> Detector:
    """Phone numbers run after card, IBAN, IMEI and IP detectors so those keep their own labels."""
    return Detector(
        "phone",
        "contact",
        PHONE,
        "[phone]",
        needs_digit_pair=True,
        gate=r"\d[ .\-/)]\(?\d|\+\d|\(\d|phone|tel|mobile|cell|msisdn|sms|whatsapp|fax",
        accept=_accept_phone,
        group="last",
    )
