"""Detectors for network identifiers: IPv4, IPv6, MAC/BSSID, and the secret-bearing parts of URLs."""

from __future__ import annotations

import ipaddress
import re

from workers.anonymize.detectors.base import Detector, ScanState

IPV4 = re.compile(r"(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?!\w|\.\d)")
# Words that, just before a dotted quad, say it is an address rather than a version number.
_IP_CONTEXT = re.compile(
    r"(?:ip|addr|address|host|from|client|remote|server|peer|connect(?:ed|ing)?(?: to)?|"
    r"forwarded(?:-for)?|dns|gateway|router|//|@)[\s:=\[\"']*$",
    re.IGNORECASE,
)


def _accept_ipv4(match: re.Match[str], state: ScanState) -> bool:
    octets = [int(part) for part in match.groups()]
    if any(octet > 255 for octet in octets):
        return False
    # A version string such as 2.0.1.5 has the shape of an address. Small first and small other parts
    # without a network word before them are read as a version; random addresses almost never look so.
    looks_like_version = octets[0] < 10 and all(octet < 100 for octet in octets[1:])
    if not looks_like_version:
        return True
    before = match.string[max(0, match.start() - 24) : match.start()]
    return bool(_IP_CONTEXT.search(before))


IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?:%[\w.]+)?(?![\w:])"
)


def _accept_ipv6(match: re.Match[str], state: ScanState) -> bool:
    text = match.group(0).split("%", 1)[0]
    if "::" not in text and text.count(":") != 7:
        return False  # times (10:22:33) and MACs have colons but are not compressed or full addresses
    groups = [group for group in text.replace(".", ":").split(":") if group]
    if len(groups) < 2 or not any(char.isdigit() for char in text):
        return False  # "::1", "ab::cd" and C++ scopes are not someone's address
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


MAC = re.compile(
    r"(?<![\w:\-])[0-9A-Fa-f]{2}([:\-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![\w:\-])"
    r"|(?<![\w.])[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}(?![\w.])"
)

URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]{1,15}://[^\s\"'<>\\^`{|}]+")
_URL_PARTS = re.compile(
    r"(?P<scheme>[^:]+://)(?:(?P<userinfo>[^/?#@]*)@)?(?P<rest>[^?#]*)(?P<secret>[?#].*)?", re.DOTALL
)


def _url_has_secrets(match: re.Match[str], state: ScanState) -> bool:
    url = match.group(0)
    if "?" in url or "#" in url:
        return True
    authority = url.split("://", 1)[1].split("/", 1)[0]
    return "@" in authority


def strip_url_secrets(match: re.Match[str], state: ScanState) -> str:
    """Keep scheme, host, port and path; drop user:password@, the query string and the fragment."""
    url = match.group(0)
    trailing = ""
    while url and url[-1] in ".,;:!)]":
        trailing = url[-1] + trailing
        url = url[:-1]
    parts = _URL_PARTS.match(url)
    if parts is None:
        return "[url]" + trailing
    return parts.group("scheme") + parts.group("rest") + trailing


def network_detectors() -> list[Detector]:
    """URL secrets first so that credentials inside URLs disappear with the query string they sit in."""
    return [
        Detector(
            "url_secrets",
            "credentials",
            URL,
            "[url]",
            needs=("://",),
            accept=_url_has_secrets,
            generalize=strip_url_secrets,
        ),
        Detector(
            "mac",
            "network",
            MAC,
            "[mac]",
            needs=(":", "-", "."),
            gate=r"[:.\-](?:[0-9a-f]{2}[:\-]|[0-9a-f]{4}\.)",
        ),  # a separator, two or four hex digits, another
        Detector(
            "ipv6",
            "network",
            IPV6,
            "[ip]",
            needs_digit=True,
            needs=(":",),
            gate=r":(?::|[0-9a-f]{1,4}:)",
            accept=_accept_ipv6,
        ),
    ]


def ipv4_detector() -> Detector:
    """IPv4 runs after URL stripping and before phone numbers (a dotted quad is not a phone number)."""
    return Detector(
        "ip", "network", IPV4, "[ip]", needs_digit_pair=True, gate=r"\d\.\d+\.\d", accept=_accept_ipv4
    )
