"""``crashsvc signature FILE.json``: the signature and its explanation for a report on disk."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from crashsvc.cli.signature import signature
from tests.grouping.conftest import CASES_DIR

CASE = CASES_DIR / "ios" / "nsrange_feed_cell_abort_frames.json"


def write_report(tmp_path: Path) -> Path:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(json.loads(CASE.read_text())["report"]))
    return path


def test_prints_signature_and_why(tmp_path: Path) -> None:
    result = CliRunner().invoke(signature, [str(write_report(tmp_path))])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "NSRangeException | MyApp.FeedViewController.cell"
    assert "algorithm sig:1" in lines[1]
    assert any("objc_exception_throw" in line and "sig1/cocoa/irrelevant.txt:" in line for line in lines)
    assert any(line.startswith("  + #12  MyApp.FeedViewController.cell") for line in lines)


def test_json_output_and_labelled_case_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(signature, [str(CASE), "--json", "--algorithm", "sig:1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["signature"] == "NSRangeException | MyApp.FeedViewController.cell"
    assert data["algorithm"] == "sig:1" and len(data["hash"]) == 32
    assert any(entry["kind"] == "frame" for entry in data["explanation"])


def test_errors_are_one_line_messages(tmp_path: Path) -> None:
    report = write_report(tmp_path)
    unknown = CliRunner().invoke(signature, [str(report), "--algorithm", "sig:9"])
    assert unknown.exit_code == 2 and "unknown signature algorithm 'sig:9'" in unknown.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    broken = CliRunner().invoke(signature, [str(bad)])
    assert broken.exit_code == 1 and "not a JSON document" in broken.output
    bad.write_text("[1, 2]")
    assert "a report is a JSON object" in CliRunner().invoke(signature, [str(bad)]).output
