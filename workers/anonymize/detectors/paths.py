"""Generalize file paths: a home directory's owner, per-install container ids and Android's random dirs.

These run on debugging path fields (``code_file``, ``abs_path``…) as well as on free text: they keep the
binary or source file name and replace only the segments that name a person or an installation.
"""

from __future__ import annotations

import re

from workers.anonymize.detectors.base import Detector, ScanState

USER_PLACEHOLDER = "<user>"
# Directory names under /Users or C:\Users that belong to nobody in particular.
SHARED_HOMES = frozenset({"shared", "public", "default", "all users", "default user", USER_PLACEHOLDER})

HOME_DIR = re.compile(
    # Case-sensitive on Unix so that URL paths such as /users/42/avatar are left to the other detectors.
    r"(?P<prefix>(?<![\w.])(?:/private)?/(?:Users|home|var/home|export/home)/)(?P<owner>[^/\s\"'<>:;,()]+)"
    r"|(?P<winprefix>\b[A-Za-z]:(?:\\\\|\\|/)+(?i:Users|Documents and Settings)(?:\\\\|\\|/)+)"
    r"(?P<winowner>[^\\/\"'<>:;,*?|\r\n]+?(?=\\|/)|[^\\/\s\"'<>:;,*?|]+)",
)
CONTAINER_ID = re.compile(
    r"(?<=[/\\])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?=[/\\]|$|[\s\"'),;])"
)
ANDROID_RANDOM_DIR = re.compile(
    r"(?P<tilde>(?<=/)~~[A-Za-z0-9_\-]{8,}={0,2}(?=/))"
    r"|(?<=/)(?P<package>[A-Za-z][\w]*(?:\.[\w]+)+)-(?P<random>[A-Za-z0-9_\-]{16,}={1,2})(?=/|$)"
)


def _home_owner(match: re.Match[str]) -> str:
    return match.group("owner") or match.group("winowner") or ""


def _accept_home(match: re.Match[str], state: ScanState) -> bool:
    owner = _home_owner(match)
    if owner.lower() in SHARED_HOMES:
        return False
    # The owner's login name is an identity value: remove it wherever else it shows up in the report.
    if len(owner) >= 3:
        state.known_values.add(owner)
    return True


def generalize_home(match: re.Match[str], state: ScanState) -> str:
    """``/Users/jane/…`` becomes ``/Users/<user>/…``; the rest of the path is untouched."""
    return (match.group("prefix") or match.group("winprefix")) + USER_PLACEHOLDER


def generalize_container(match: re.Match[str], state: ScanState) -> str:
    """A per-install container directory becomes the literal ``<uuid>``."""
    return "<uuid>"


def generalize_android_dir(match: re.Match[str], state: ScanState) -> str:
    """``~~AbC==`` and ``com.app-AbC==`` (random per install since Android 11) lose their random part."""
    if match.group("tilde"):
        return "~~<random>=="
    return f"{match.group('package')}-<random>=="


def path_detectors() -> list[Detector]:
    """Home directories, container ids and Android install dirs, all generalized by default."""
    return [
        Detector(
            "userpath",
            "account_identity",
            HOME_DIR,
            "<user>",
            needs=("/users/", "/home/", "\\users\\", "\\users/", "/users\\", "documents and settings"),
            accept=_accept_home,
            generalize=generalize_home,
        ),
        Detector(
            "container_path",
            "install_id",
            CONTAINER_ID,
            "<uuid>",
            needs=("-",),
            gate=r"-[0-9a-f]{4}-[0-9a-f]{4}-",
            generalize=generalize_container,
        ),
        Detector(
            "android_install_dir",
            "install_id",
            ANDROID_RANDOM_DIR,
            "<random>",
            needs=("/",),
            gate=r"~~|==(?:/|$)",  # Android pads the random part
            generalize=generalize_android_dir,
        ),
    ]
