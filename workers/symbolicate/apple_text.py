"""Parse an Apple ``.crash`` text report into threads, binary images and header fields.

The output has the shape of getsentry/apple-crash-report-parser's ``AppleCrashReport`` (the corpus
``.snap`` files are its snapshots), so the two can be compared field by field. The report is read
line by line with a small state machine: header ``Key: value`` lines, ``Thread N`` sections of frames,
a crashed thread's register dump, ``Application Specific Information`` and ``Binary Images``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

KEY_VALUE = re.compile(r"^\s*(.*?)\s*:\s*(.*?)\s*$")
THREAD = re.compile(r"^Thread ([0-9]+)( Crashed)?:\s*(.+?)?\s*$")
THREAD_NAME = re.compile(r"^Thread ([0-9]+) name:\s*(.+?)(?:\s+Dispatch queue:\s*(.*?))?\s*$")
THREAD_STATE = re.compile(r"^Thread ([0-9]+) crashed with .*? Thread State:\s*$")
REGISTER = re.compile(r"\s*([a-z0-9]+):\s+(0x[0-9a-fA-F]+)\s*")
# "12  libdyld.dylib  0x00007fff61a8e085 start + 0" or "... main (main.m:16)"
FRAME = re.compile(r"^[0-9]+\s+(.+?)\s+(0x[0-9a-fA-F]+)\s+(.*?)(?: (?:\+ [0-9]+|\((.*?):([0-9]+)\)))?\s*$")
# "0x10864e000 - 0x10ee0ffff +YetAnotherMac x86_64 (400.9.4 - 1.0.0) <2d90...> /path"
BINARY_IMAGE = re.compile(
    r"^\s*(0x[0-9a-fA-F]+)\s*-\s*(0x[0-9a-fA-F]+)\s+\+?(.+)\s+(\S+?)\s+(?:\(([^)]+?)\))?\s+<([^>]+?)>\s+(.*?)$"
)
HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]+$")
NIL_UUID = "00000000-0000-0000-0000-000000000000"


class AppleReportError(ValueError):
    """The Apple crash report cannot be parsed; the message says which part."""


def parse_crash_text(text: str) -> dict[str, Any]:
    """Parse a ``.crash`` text report into the apple-crash-report-parser structure."""
    report: dict[str, Any] = {"incident_identifier": NIL_UUID, "report_version": 0, "metadata": {}}
    threads: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    names: dict[int, tuple[str, str | None]] = {}
    registers: dict[str, str] = {}
    blocks: dict[str, list[str]] = {"application_specific_information": [], "filtered_syslog": []}
    state = "root"
    for raw_line in text.splitlines():
        line = raw_line.rstrip()
        if line.startswith("Binary Images:"):
            state = "images"
            continue
        if line.startswith("Application Specific Information:"):
            state = "application_specific_information"
            continue
        if line.startswith("Filtered syslog:"):
            state = "filtered_syslog"
            continue
        if THREAD_STATE.match(line):
            state = "registers"
            continue
        if match := THREAD.match(line):
            threads.append(
                {"id": int(match[1]), "name": match[3], "crashed": match[2] is not None, "frames": []}
            )
            state = "thread"
            continue
        if match := THREAD_NAME.match(line):
            names[int(match[1])] = (match[2], match[3])
            state = "root"
            continue
        if state == "root":
            _header_line(report, line)
        elif state == "registers":
            if not line:
                state = "root"
            for match in REGISTER.finditer(line):
                registers[match[1]] = hex(int(match[2], 16))
        elif state == "thread":
            match = FRAME.match(line)
            if match:
                threads[-1]["frames"].append(_frame(match))
            else:
                state = "root"
        elif state == "images":
            if not line:
                continue
            match = BINARY_IMAGE.match(line)
            if match:
                images.append(_image(match))
            else:
                state = "root"
        else:
            blocks[state].append(line)
    for key, lines in blocks.items():
        if lines:
            joined = "\n".join(lines)
            report[key] = joined[:-1] if joined.endswith("\n") else joined
    for thread in threads:
        if thread["id"] in names:
            thread["name"], thread["dispatch_queue"] = names[thread["id"]]
    if registers:
        crashed = next((thread for thread in threads if thread["crashed"]), None)
        if crashed is not None:
            crashed["registers"] = registers
    report["threads"] = [_without_none(thread) for thread in threads]
    report["binary_images"] = [_without_none(image) for image in images]
    return _without_none(report)


def _header_line(report: dict[str, Any], line: str) -> None:
    match = KEY_VALUE.match(line)
    if not match:
        return
    key, value = match[1], match[2]
    if key == "Incident Identifier":
        # The anonymizer redacts it ("[id]") and it is never copied into the report: a value that is
        # not a UUID keeps the nil UUID instead of refusing the whole report.
        try:
            report["incident_identifier"] = str(_uuid(value, "incident identifier"))
        except AppleReportError:
            report["incident_identifier"] = NIL_UUID
    elif key == "Report Version":
        try:
            report["report_version"] = int(value)
        except ValueError:
            raise AppleReportError(f"invalid report version {value!r}") from None
    elif key == "Path":
        report["path"] = value
    elif key == "Code Type":
        report["code_type"] = value
    elif key == "Date/Time":
        # The anonymizer coarsens it ("2024-02-01 10:00:00", no zone); symbolication never needs it.
        try:
            report["timestamp"] = _timestamp(value)
        except AppleReportError:
            report.pop("timestamp", None)
    elif key != "Crashed Thread":
        report["metadata"][key] = value


def _frame(match: re.Match[str]) -> dict[str, Any]:
    symbol = match[3]
    if HEX_ADDRESS.match(symbol):
        symbol = None
    return _without_none(
        {
            "module": None if match[1] == "???" else match[1],
            "symbol": symbol,
            "filename": match[4],
            "lineno": int(match[5]) if match[5] else None,
            "instruction_addr": hex(int(match[2], 16)),
        }
    )


def _image(match: re.Match[str]) -> dict[str, Any]:
    start = int(match[1], 16)
    return {
        "addr": hex(start),
        "size": int(match[2], 16) - start,
        "uuid": str(_uuid(match[6], "binary image identifier")),
        "arch": match[4],
        "version": match[5],
        "name": match[3],
        "path": match[7],
    }


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise AppleReportError(f"invalid {what} {value!r}") from None


def _timestamp(value: str) -> str:
    """RFC 3339 in UTC; fractional seconds kept in groups of 3 digits, as chrono prints them."""
    match = re.match(r"^(\S+ \d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))? ([+-]\d{4})$", value)
    try:
        if not match:
            raise ValueError(value)
        parsed = datetime.strptime(f"{match[1]} {match[3]}", "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        raise AppleReportError(f"invalid timestamp {value!r}") from None
    text = parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    nanos = int((match[2] or "").ljust(9, "0"))
    if nanos:
        digits = 3 if nanos % 1_000_000 == 0 else 6 if nanos % 1000 == 0 else 9
        text += "." + f"{nanos:09d}"[:digits]
    return text + "Z"


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}
