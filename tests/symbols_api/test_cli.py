"""`crashsvc symbols upload|list` and `crashsvc reprocess`, against the same database and queue as the app."""

from __future__ import annotations

import json
import zipfile

import pytest
from click.testing import CliRunner

from crashsvc.cli import main
from tests.symbols_api.conftest import elf_debug_id, frames_of
from tests.symbols_api.test_native_pipeline import BASE, elf_report


@pytest.fixture
def cli(app, monkeypatch):
    settings = app.extensions["crashsvc"].settings
    for name in ("DATA_DIR", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.setenv(f"CRASHSVC_{name}", str(getattr(settings, name.lower())))
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


def test_cli_upload_skips_known_files_and_late_reports_are_fixed(cli, pipeline, gcc_program, tmp_path):
    binary, symbols = gcc_program
    debug_id = elf_debug_id(binary)
    before = pipeline.run(elf_report(debug_id, [{"instruction_addr": hex(BASE + symbols["crash_here"])}]))
    assert frames_of(before)[0]["symbolicated"] is False

    bundle = tmp_path / "symbols.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.write(binary, "bin/prog")
        archive.writestr("README.txt", "not a symbol file")
    first = json.loads(
        cli("symbols", "upload", "--app", str(pipeline.app_row.id), "--json", str(bundle)).output
    )
    assert [(f["debug_id"], f["status"]) for f in first["uploaded"]] == [(debug_id, "pending")]
    assert first["ignored"] == ["README.txt"] and first["job_id"]
    again = json.loads(cli("symbols", "upload", "--app", pipeline.app_row.name, "--json", str(binary)).output)
    assert again["uploaded"] == [] and again["skipped"] == ["prog"] and again["job_id"] is None

    pipeline.process()
    assert frames_of(pipeline.stored(before["id"]))[0]["function"] == "read_value"
    listed = json.loads(cli("symbols", "list", "--app", str(pipeline.app_row.id), "--json").output)
    assert [(f["debug_id"], f["status"]) for f in listed["files"]] == [(debug_id, "ready")]
    assert "ready" in cli("symbols", "list", "--app", str(pipeline.app_row.id)).output


def test_cli_upload_refuses_a_bad_file(cli, pipeline, tmp_path):
    empty = tmp_path / "empty.so"
    empty.write_bytes(b"")
    result = cli("symbols", "upload", "--app", str(pipeline.app_row.id), str(empty), ok=False)
    assert result.exit_code != 0 and "invalid_symbol_file" in result.output


def test_reprocess_by_report_app_group_and_missing_symbols(cli, pipeline, gcc_program):
    binary, symbols = gcc_program
    debug_id = elf_debug_id(binary)
    stored = pipeline.run(elf_report(debug_id, [{"instruction_addr": hex(BASE + symbols["crash_here"])}]))
    assert cli("reprocess", ok=False).exit_code != 0
    for selector in (
        ["--report", stored["id"]],
        ["--app", str(pipeline.app_row.id)],
        ["--group", str(stored["group_id"])],
        ["--missing-symbols"],
        ["--missing-symbols", "--regroup"],
    ):
        data = json.loads(cli("reprocess", *selector, "--json").output)
        assert data["report_ids"] == [stored["id"]], selector
    pipeline.process()
    assert pipeline.stored(stored["id"])["group_id"] == stored["group_id"]  # nothing new: nothing moves
    assert pipeline.groups() == {stored["group_id"]: 1}
