"""``SignatureGenerator``: walks a stack with the rule lists and says why each frame counted or not."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from workers.grouping.frames import ImageIndex, NamedFrame, choose_stack, name_frame
from workers.grouping.normalize import normalize_type
from workers.grouping.siglists import Rule, RuleSet

SEPARATOR = " | "
DEFAULT_VARIABLE_RE = re.compile(r"\{\{\s*default\s*\}\}")
MAX_FINGERPRINT_VALUES = 16
MAX_FINGERPRINT_VALUE_LENGTH = 200
EMPTY_STACK = "<no frames>"


@dataclass(frozen=True)
class SignatureResult:
    """What grouping decided for one report.

    ``signature`` is the human-readable form of the group key, ``hash`` the key itself (it covers
    the algorithm id, so two algorithms never share a group by accident), ``fingerprint`` the
    client's override with ``{{ default }}`` expanded (``None`` without one), ``explanation`` one
    dict per decision.
    """

    algorithm: str
    signature: str
    hash: str
    fingerprint: list[str] | None
    explanation: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "signature": self.signature,
            "hash": self.hash,
            "fingerprint": self.fingerprint,
            "explanation": self.explanation,
        }


def signature_hash(algorithm: str, parts: list[str]) -> str:
    """The group key: 32 hex digits of SHA-256 over the algorithm id and the signature parts."""
    payload = algorithm + "\n" + "\n".join(part.replace("\n", " ") for part in parts)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


class SignatureGenerator:
    """One algorithm's walk: sentinel, then skip irrelevant, keep prefixes, end on the culprit frame.

    ``rules_for(platform)`` returns the ``RuleSet`` for a report platform.
    """

    def __init__(self, algorithm: str, rules_for: Any, max_frames: int) -> None:
        self.algorithm = algorithm
        self.rules_for = rules_for
        self.max_frames = max_frames

    def generate(self, report: dict[str, Any]) -> SignatureResult:
        platform = report.get("platform") if isinstance(report.get("platform"), str) else "other"
        rules: RuleSet = self.rules_for(platform)
        explanation: list[dict[str, Any]] = []
        parts: list[str] = []

        exception_type = _exception_type(report)
        if exception_type:
            parts.append(exception_type)
            explanation.append(
                {
                    "kind": "exception_type",
                    "value": exception_type,
                    "contributes": True,
                    "hint": "the exception type (or signal) opens the signature",
                }
            )
        stack = choose_stack(report)
        if stack is None:
            explanation.append({"kind": "stack", "path": None, "frames": 0, "hint": "no thread has frames"})
            frame_parts: list[str] = []
        else:
            frame_parts = self._walk(stack, platform, rules, ImageIndex(report.get("images")), explanation)
        parts.extend(frame_parts or [EMPTY_STACK])

        default_signature = SEPARATOR.join(parts)
        fingerprint = _client_fingerprint(report.get("fingerprint"))
        if fingerprint is None:
            return SignatureResult(
                self.algorithm, default_signature, signature_hash(self.algorithm, parts), None, explanation
            )
        expanded: list[str] = []
        for value in fingerprint:
            expanded.extend(parts if DEFAULT_VARIABLE_RE.fullmatch(value.strip()) else [value])
        uses_default = any(DEFAULT_VARIABLE_RE.fullmatch(value.strip()) for value in fingerprint)
        explanation.append(
            {
                "kind": "fingerprint",
                "value": fingerprint,
                "default": default_signature,
                "contributes": True,
                "hint": "client fingerprint extends the computed signature ({{ default }})"
                if uses_default
                else "client fingerprint replaces the computed signature",
            }
        )
        display = [default_signature if DEFAULT_VARIABLE_RE.fullmatch(v.strip()) else v for v in fingerprint]
        return SignatureResult(
            self.algorithm,
            SEPARATOR.join(display),
            signature_hash(self.algorithm, expanded),
            display,
            explanation,
        )

    def _walk(
        self, stack: Any, platform: str, rules: RuleSet, images: ImageIndex, explanation: list[dict[str, Any]]
    ) -> list[str]:
        named = [name_frame(i, frame, platform, images) for i, frame in enumerate(stack.frames)]
        # Rules describe functions: a frame without a symbol is matched by its image (package=) only.
        classes = [rules.classify(f.name if f.symbolicated else "", f.package) for f in named]
        start = next((f.index for f in named if classes[f.index][0]), 0)
        # An in-app frame ends the walk only if no rule keeps the walk going past it.
        has_app = any(f.in_app is True and classes[f.index][1:] == (None, None) for f in named[start:])
        explanation.append(
            {
                "kind": "stack",
                "path": stack.path,
                "frames": len(named),
                "mode": "in_app" if has_app else "crash_site",
                "hint": f"{stack.hint}; "
                + (
                    "ends on the first in-app frame"
                    if has_app
                    else "no in-app frame: ends on the first frame that is neither irrelevant nor a prefix"
                ),
            }
        )
        for frame in named[:start]:
            explanation.append(
                _entry(frame, False, "above the sentinel frame: crash-handling machinery", None)
            )
        contributing: list[str] = []
        for frame in named[start:]:
            lead = "sentinel frame, the signature starts here; " if frame.index == start > 0 else ""
            if self._decide(frame, classes[frame.index][1:], has_app, contributing, explanation, lead):
                rest = len(named) - frame.index - 1
                if rest:
                    explanation.append(
                        {
                            "kind": "rest",
                            "frames": rest,
                            "contributes": False,
                            "hint": "not examined: the signature was complete",
                        }
                    )
                break
        return contributing

    def _decide(
        self,
        frame: NamedFrame,
        rules: tuple[Rule | None, Rule | None],
        has_app: bool,
        contributing: list[str],
        explanation: list[dict[str, Any]],
        lead: str,
    ) -> bool:
        """Record one frame's fate; True when the signature is complete."""
        prefix, irrelevant = rules
        if irrelevant is not None:
            explanation.append(_entry(frame, False, lead + f"irrelevant: {irrelevant.comment}", irrelevant))
            return False
        if contributing and contributing[-1] == frame.name:
            explanation.append(_entry(frame, False, lead + "recursion: same as the frame above", None))
            return False
        if prefix is not None:
            contributing.append(frame.name)
            explanation.append(_entry(frame, True, lead + f"prefix, walking on: {prefix.comment}", prefix))
            return self._full(contributing, explanation)
        if has_app and frame.in_app is not True:
            explanation.append(
                _entry(frame, False, lead + "system frame between the crash and app code", None)
            )
            return False
        contributing.append(frame.name)
        hint = (
            "first in-app frame: the signature ends here"
            if has_app
            else "crash site: first frame neither irrelevant nor a prefix"
        )
        explanation.append(_entry(frame, True, lead + hint, None))
        return True

    def _full(self, contributing: list[str], explanation: list[dict[str, Any]]) -> bool:
        if len(contributing) < self.max_frames:
            return False
        explanation[-1]["hint"] += f"; frame limit ({self.max_frames}) reached"
        return True


def _entry(frame: NamedFrame, contributes: bool, hint: str, rule: Rule | None) -> dict[str, Any]:
    return {
        "kind": "frame",
        "index": frame.index,
        "name": frame.name,
        "function": frame.function,
        "in_app": frame.in_app,
        "symbolicated": frame.symbolicated,
        "contributes": contributes,
        "hint": hint,
        "rule": rule.ref if rule else None,
        "pattern": rule.as_dict()["pattern"] if rule else None,
    }


def _exception_type(report: dict[str, Any]) -> str | None:
    exception = report.get("exception")
    if not isinstance(exception, dict):
        return None
    if isinstance(exception.get("type"), str) and exception["type"].strip():
        return normalize_type(exception["type"])
    mechanism = exception.get("mechanism")
    if isinstance(mechanism, dict):
        signal = mechanism.get("signal")
        if isinstance(signal, dict):
            signal = signal.get("name") or signal.get("number")
        if signal not in (None, ""):
            return str(signal)
    return None


def _client_fingerprint(value: Any) -> list[str] | None:
    """The client's fingerprint as a list of strings, or None when absent, empty or just the default."""
    if not isinstance(value, list):
        return None
    values = [
        " ".join(str(item).split())[:MAX_FINGERPRINT_VALUE_LENGTH]
        for item in value[:MAX_FINGERPRINT_VALUES]
        if isinstance(item, str | int | float) and not isinstance(item, bool) and str(item).strip()
    ]
    if not values or (len(values) == 1 and DEFAULT_VARIABLE_RE.fullmatch(values[0])):
        return None
    return values
