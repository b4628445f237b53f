"""Upload validation and the store: bad files get a stable code; good ones are stored by content."""

from __future__ import annotations

import os
import zipfile

import pytest

from crashsvc.symbols import (
    InMemorySymbolIndex,
    OpenHandleCache,
    SymbolFileError,
    SymbolStore,
    UploadLimits,
    build_symcache,
    identify_file,
    safe_member_name,
)


def _error_code(call) -> str:
    with pytest.raises(SymbolFileError) as info:
        call()
    return info.value.code


@pytest.mark.corpus
def test_truncated_macho_is_invalid(corpus, store, tmp_path):
    truncated = tmp_path / "crash"
    truncated.write_bytes((corpus / "apple/macos-crash/crash").read_bytes()[:300])
    assert _error_code(lambda: store.add_upload(truncated)) == "invalid_symbol_file"


def test_empty_file_is_invalid(store, tmp_path):
    empty = tmp_path / "App.sym"
    empty.write_bytes(b"")
    assert _error_code(lambda: store.add_upload(empty)) == "invalid_symbol_file"


def test_wrong_format_is_invalid(store, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("these are release notes, not symbols\n")
    assert _error_code(lambda: store.add_upload(text)) == "invalid_symbol_file"
    broken_map = tmp_path / "app.js.map"
    broken_map.write_text('{"version": 3, "mappings": 12, "sources": []}')
    assert _error_code(lambda: identify_file(broken_map)) == "invalid_symbol_file"


def test_zip_with_parent_entries_is_unsafe(store, tmp_path):
    upload = tmp_path / "symbols.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        archive.writestr("ok/App.sym", "MODULE Linux x86_64 000000000000000000000000000000000 app\n")
        archive.writestr("../../etc/evil", "x")
    assert _error_code(lambda: store.add_upload(upload)) == "unsafe_archive"
    assert not (tmp_path / "etc").exists() and not list((store.root / "tmp").iterdir())


@pytest.mark.parametrize("name", ["/etc/passwd", "C:/Windows/x", "a/../../b", "..\\x"])
def test_unsafe_member_names(name):
    assert _error_code(lambda: safe_member_name(name)) == "unsafe_archive"


def test_zip_symlink_entry_is_unsafe(store, tmp_path):
    upload = tmp_path / "symbols.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        link = zipfile.ZipInfo("link")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    assert _error_code(lambda: store.add_upload(upload)) == "unsafe_archive"


def test_folder_symlink_escaping_is_unsafe(store, tmp_path):
    folder = tmp_path / "App.dSYM"
    folder.mkdir()
    os.symlink("/etc/hostname", folder / "escape")
    assert _error_code(lambda: store.add_upload(folder)) == "unsafe_archive"


def test_zip_bounds(store, tmp_path):
    upload = tmp_path / "big.zip"
    with zipfile.ZipFile(upload, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.js", "0" * 100_000)
        archive.writestr("b.js", "1")
    assert (
        _error_code(lambda: store.add_upload(upload, limits=UploadLimits(max_total_bytes=50_000)))
        == "upload_too_large"
    )
    assert (
        _error_code(lambda: store.add_upload(upload, limits=UploadLimits(max_files=1))) == "upload_too_large"
    )


@pytest.mark.corpus
def test_zip_of_dsym_and_sym_is_stored_once_by_content(corpus, tmp_path):
    upload = tmp_path / "symbols.zip"
    dwarf = corpus / "apple/electron/Electron.app.dSYM/Contents/Resources/DWARF/Electron"
    with zipfile.ZipFile(upload, "w") as archive:
        archive.write(dwarf, "Electron.app.dSYM/Contents/Resources/DWARF/Electron")
        archive.write(corpus / "apple/electron/Electron.sym", "Electron.sym")
        archive.writestr("Electron.app.dSYM/Contents/Info.plist", "<plist/>")  # skipped, not an error
    store = SymbolStore(tmp_path / "store")
    first = store.add_upload(upload)
    again = store.add_upload(upload)
    assert first == again
    assert {(r.file_format, r.debug_id, r.arch) for r in first} == {
        ("macho", "cb63147a-c9dc-308b-8ca1-ee92a5042e8e", "x86_64"),
        ("breakpad", "cb63147a-c9dc-308b-8ca1-ee92a5042e8e", "x86_64"),
    }
    macho = next(r for r in first if r.file_format == "macho")
    assert macho.path == store.root / "objects" / macho.sha256[:2] / macho.sha256
    assert macho.size == dwarf.stat().st_size and macho.path.read_bytes() == dwarf.read_bytes()
    assert macho.symcache_path.is_file() and "debug" in macho.features
    assert len(list((store.root / "objects").glob("*/*"))) == 2
    rebuilt = InMemorySymbolIndex.from_store(SymbolStore(store.root))  # the filesystem-backed index
    assert rebuilt.find_native("CB63147A-C9DC-308B-8CA1-EE92A5042E8E") is not None


@pytest.mark.corpus
def test_build_symcache_as_a_later_job(corpus, store):
    (stored,) = store.add_upload(corpus / "windows/crash.pdb", build_symcaches=False)
    assert stored.symcache_path is not None and not stored.symcache_path.exists()
    assert build_symcache(stored) == stored.symcache_path
    assert store.open_symcache(stored.symcache_path).lookup(0x3756)[0].symbol == "malloc"


@pytest.mark.corpus
def test_pe_without_debug_info_is_stored_without_symcache(corpus, store):
    (stored,) = store.add_upload(corpus / "windows/crash.exe")
    assert (stored.file_format, stored.code_id, stored.symcache_path) == ("pe", "5ab380779000", None)


def test_open_handle_cache_is_bounded():
    cache = OpenHandleCache(max_handles=2, max_bytes=100)
    opened = []

    def opener(name, weight):
        def open_it():
            opened.append(name)
            return object(), weight

        return open_it

    first = cache.get("a", opener("a", 10))
    assert cache.get("a", opener("a", 10)) is first
    cache.get("b", opener("b", 10))
    cache.get("c", opener("c", 10))  # evicts "a" (count bound)
    assert len(cache) == 2
    cache.get("a", opener("a", 10))
    assert opened == ["a", "b", "c", "a"]
    cache.get("big", opener("big", 95))  # byte bound: only the newest survives
    assert len(cache) == 1 and cache.open_bytes == 95
