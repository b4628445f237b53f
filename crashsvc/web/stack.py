"""Shaping a stored report for display: which thread to show first, frames in runs, short text.

Consecutive system frames collapse into one run (a ``<details>`` on the page), so the developer's
own frames stand out without hiding anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FrameRun:
    in_app: bool
    frames: list[dict[str, Any]] = field(default_factory=list)
    first_index: int = 0


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def frame_location(frame: dict[str, Any]) -> str:
    """'File.swift:40' / 'libfoo.so' / '0x1a2b' — where a frame is, as plain text."""
    filename = frame.get("filename") or frame.get("abs_path")
    if filename:
        line = frame.get("lineno")
        return f"{filename}:{line}" if line not in (None, "") else str(filename)
    return str(frame.get("module") or frame.get("package") or frame.get("instruction_addr") or "")


def frame_runs(frames: list[Any]) -> list[FrameRun]:
    """Frames (innermost first) grouped into consecutive in-app / system runs."""
    runs: list[FrameRun] = []
    for index, raw in enumerate(_as_list(frames)):
        frame = _as_dict(raw)
        in_app = bool(frame.get("in_app"))
        if not runs or runs[-1].in_app != in_app:
            runs.append(FrameRun(in_app=in_app, first_index=index))
        runs[-1].frames.append(frame)
    return runs


def threads_crashed_first(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's threads with the crashed one first; an exception stack counts as a thread."""
    threads = [_as_dict(thread) for thread in _as_list(data.get("threads"))]
    exception = _as_dict(data.get("exception"))
    if _as_list(exception.get("frames")):
        threads.insert(0, {"name": "exception", "crashed": True, "frames": exception["frames"]})
    return sorted(threads, key=lambda thread: not thread.get("crashed"))


def crashed_thread(data: dict[str, Any]) -> dict[str, Any] | None:
    threads = threads_crashed_first(data)
    return threads[0] if threads else None


def pretty_json(value: Any) -> str:
    """The stored report as indented JSON text (shown escaped inside <pre>)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def install(app) -> None:
    from crashsvc.symbols.catalog import upload_command

    app.add_template_global(upload_command, "upload_command")
    app.add_template_global(frame_location, "frame_location")
    app.add_template_global(frame_runs, "frame_runs")
