"""Late symbols: reports stored before their debug file arrive get symbolicated and regrouped."""

from __future__ import annotations

from sqlalchemy import select

from crashsvc.models import ReportMissingSymbol
from tests.symbols_api.conftest import elf_debug_id, frames_of
from tests.symbols_api.test_native_pipeline import BASE, elf_report


def test_report_before_its_elf_is_symbolicated_and_regrouped(pipeline, gcc_program):
    binary, symbols = gcc_program
    debug_id = elf_debug_id(binary)
    frames = [
        {"instruction_addr": hex(BASE + symbols["crash_here"])},
        {"instruction_addr": hex(BASE + symbols["after_call_last"])},
        {"instruction_addr": "0x7f0000001234"},
    ]
    first = pipeline.run(elf_report(debug_id, frames))
    second = pipeline.run(elf_report(debug_id, frames))
    assert frames_of(first)[0]["symbolicated"] is False
    assert {m["debug_id"] for m in first["missing_symbols"]} == {
        debug_id,
        "11111111-2222-3333-4444-555555555555",
    }
    old_group = first["group_id"]
    assert second["group_id"] == old_group and pipeline.groups() == {old_group: 2}
    with pipeline.factory.services.db.sessions() as session:
        keys = session.scalars(
            select(ReportMissingSymbol.symbol_key).where(ReportMissingSymbol.report_id == first["id"])
        ).all()
    assert sorted(keys) == sorted([debug_id, "11111111-2222-3333-4444-555555555555"])

    pipeline.upload(binary)
    pipeline.process()  # builds the SymCache, which queues both reports; the same burst runs them

    for report_id in (first["id"], second["id"]):
        stored = pipeline.stored(report_id)
        out = frames_of(stored)
        assert [f["function"] for f in out[:3]] == ["read_value", "crash_here", "call_last"]
        assert [m["debug_id"] for m in stored["missing_symbols"]] == ["11111111-2222-3333-4444-555555555555"]
        assert stored["group_id"] != old_group
        assert "crash_here" in stored["signature"] or "read_value" in stored["signature"]
        rules = [(n["stage"], n["rule"], n["path"]) for n in stored["notes"]]
        assert rules.count(("symbolicate", "missing_symbols", "images[1]")) == 1
        assert ("symbolicate", "missing_symbols", "images[0]") not in rules
    new_group = pipeline.stored(first["id"])["group_id"]
    assert pipeline.groups() == {old_group: 0, new_group: 2}

    # Idempotent: reprocessing again (a retried job, a second upload) moves nothing twice.
    from workers.reprocess import reprocess_report

    assert reprocess_report(first["id"]) == "updated"
    pipeline.upload(binary)
    pipeline.process()
    assert pipeline.groups() == {old_group: 0, new_group: 2}
    assert frames_of(pipeline.stored(first["id"])) == frames_of(pipeline.stored(report_id))


def test_reports_of_other_apps_and_other_files_are_left_alone(pipeline, factory, gcc_program):
    binary, symbols = gcc_program
    debug_id = elf_debug_id(binary)
    frames = [{"instruction_addr": hex(BASE + symbols["crash_here"])}]
    unrelated = pipeline.run(elf_report("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", frames))
    from tests.symbols_api.conftest import SymbolsPipeline

    other_app = SymbolsPipeline(pipeline.client, factory)
    other = other_app.run(elf_report(debug_id, frames))
    pipeline.upload(binary)
    pipeline.process()
    assert pipeline.stored(unrelated["id"]) == unrelated
    assert other_app.stored(other["id"]) == other


def test_missing_symbol_summary_lists_what_to_upload(pipeline, gcc_program):
    from crashsvc.symbols.catalog import missing_symbol_summary

    binary, symbols = gcc_program
    debug_id = elf_debug_id(binary)
    frames = [{"instruction_addr": hex(BASE + symbols["crash_here"])}, {"instruction_addr": "0x7f0000001234"}]
    pipeline.run(elf_report(debug_id, frames))
    pipeline.run(elf_report(debug_id, frames[:1]))
    with pipeline.factory.services.db.sessions() as session:
        summary = missing_symbol_summary(session, pipeline.app_row.id)
    assert [(s["debug_id"], s["image"], s["type"], s["reports"]) for s in summary] == [
        (debug_id, "prog", "elf", 2),
        ("11111111-2222-3333-4444-555555555555", "libc.so.6", "elf", 1),
    ]
    assert summary[0]["upload_command"].startswith(f"crashsvc symbols upload --app {pipeline.app_row.id} ")


def test_another_workers_cached_lookup_sees_symbols_after_its_next_refresh(pipeline, gcc_program):
    """A worker caches 'no symbols' for a while; a finished SymCache build anywhere ends that at its next batch."""
    from crashsvc.symbols.dbindex import DatabaseSymbolIndex

    binary, _symbols = gcc_program
    debug_id = elf_debug_id(binary)
    services = pipeline.factory.services
    root = services.settings.symbols_path
    other_worker = DatabaseSymbolIndex(services.db.sessions, root, cache_seconds=3600, redis=services.redis)
    other_worker.refresh()
    index = other_worker.for_app(pipeline.app_row.id)
    assert index.find_native(debug_id) is None
    uncached = DatabaseSymbolIndex(services.db.sessions, root).for_app(pipeline.app_row.id)

    pipeline.upload(binary)
    pipeline.process()  # builds the SymCache in this process, not the other worker's
    assert uncached.find_native(debug_id) is not None
    assert index.find_native(debug_id) is None  # cached until its next batch
    other_worker.refresh()
    found = index.find_native(debug_id)
    assert found is not None and found == uncached.find_native(debug_id)
    # A cached file that left the disk (a symbol purge) is looked up again, not served.
    found.unlink()
    assert index.find_native(debug_id) is None
