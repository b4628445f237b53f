"""Our own fixture: a small C program built with ``gcc -g``, uploaded and symbolicated via its ELF."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from crashsvc.symbols import UploadMetadata
from workers.symbolicate import symbolicate_report

# Functions are packed (-falign-functions=1) and call_last ends in a call to a noreturn function, so
# its return address is exactly the first byte of after_call_last: only the caller adjustment
# (addr - 1 on x86_64) attributes that frame to call_last.
PROGRAM = """\
#include <stdlib.h>

static inline __attribute__((always_inline)) int read_value(int *p) {
    return *p * 3;
}

__attribute__((noinline)) int crash_here(int *p) {
    return read_value(p) + 1;
}

__attribute__((noinline, noreturn)) void give_up(int *p) {
    crash_here(p);
    abort();
}

__attribute__((noinline, noreturn)) void call_last(int *p) {
    give_up(p);
}

__attribute__((noinline)) int after_call_last(int x) {
    return x + 7;
}

int main(int argc, char **argv) {
    (void)argv;
    if (argc > 5) return after_call_last(argc);
    call_last(NULL);
}
"""
BASE = 0x555555550000


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    gcc, nm = shutil.which("gcc"), shutil.which("nm")
    if not gcc or not nm:
        pytest.skip("gcc and nm are needed to build the ELF fixture")
    workdir = tmp_path_factory.mktemp("gcc")
    (workdir / "prog.c").write_text(PROGRAM)
    binary = workdir / "prog"
    subprocess.run(
        [
            gcc,
            "-g",
            "-O1",
            "-falign-functions=1",
            "-fno-reorder-functions",
            "-o",
            str(binary),
            str(workdir / "prog.c"),
        ],
        check=True,
        cwd=workdir,
        capture_output=True,
    )
    symbols = {}
    for line in subprocess.run(
        [nm, str(binary)], check=True, capture_output=True, text=True
    ).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            symbols[parts[2]] = int(parts[0], 16)
    if symbols["after_call_last"] <= symbols["call_last"]:
        pytest.skip("the compiler did not lay out functions in source order")
    return binary, symbols


def _report(debug_id: str, frames: list[dict]) -> dict:
    return {
        "platform": "native",
        "device": {"arch": "x86_64"},
        "threads": [{"id": 1, "crashed": True, "frames": frames}],
        "images": [
            {
                "type": "elf",
                "debug_id": debug_id,
                "code_file": "/opt/demo/prog",
                "image_addr": hex(BASE),
                "image_size": 0x10000,
            },
            {
                "type": "elf",
                "debug_id": "11111111-2222-3333-4444-555555555555",
                "code_file": "/usr/lib/x86_64-linux-gnu/libc.so.6",
                "image_addr": "0x7f0000000000",
                "image_size": 0x200000,
            },
        ],
    }


def test_gcc_elf_is_identified_and_cached(program, store):
    binary, _ = program
    (stored,) = store.add_upload(binary, UploadMetadata())
    assert stored.kind == "native" and stored.file_format == "elf" and stored.arch == "x86_64"
    assert "debug" in stored.features and stored.code_id and len(stored.code_id) == 40  # GNU build id
    assert stored.symcache_path is not None and stored.symcache_path.is_file()


def test_gcc_elf_symbolicates_with_inlines_and_caller_adjustment(program, store, index, make_ctx):
    binary, symbols = program
    stored = store.add_upload(binary)
    index.add_all(stored)
    frames = [
        {"instruction_addr": hex(BASE + symbols["crash_here"])},  # crashing instruction (inlined code)
        {"instruction_addr": hex(BASE + symbols["after_call_last"])},  # return address into call_last
        {"instruction_addr": "0x7f0000001234"},  # libc, no symbols uploaded
    ]
    ctx = make_ctx(_report(stored[0].debug_id, frames))
    symbolicate_report(ctx)
    out = ctx.report["threads"][0]["frames"]

    assert [f["function"] for f in out[:3]] == ["read_value", "crash_here", "call_last"]
    assert [f.get("inlined", False) for f in out[:3]] == [True, False, False]
    assert [f["lineno"] for f in out[:3]] == [4, 8, 17]
    assert all(f["filename"] == "prog.c" and f["in_app"] for f in out[:3])
    assert out[0]["instruction_addr"] == out[1]["instruction_addr"] == hex(BASE + symbols["crash_here"])
    assert out[2]["instruction_addr"] == hex(BASE + symbols["after_call_last"])  # original address kept
    assert out[3] == {
        "instruction_addr": "0x7f0000001234",
        "symbolicated": False,
        "image_addr": "0x7f0000000000",
        "package": "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "in_app": False,
    }
    assert ctx.missing_symbols == [
        {
            "image": "libc.so.6",
            "debug_id": "11111111-2222-3333-4444-555555555555",
            "arch": "x86_64",
            "type": "elf",
        }
    ]
    assert [(n.rule, n.path) for n in ctx.notes if n.rule == "missing_symbols"] == [
        ("missing_symbols", "images[1]")
    ]


def test_same_address_as_crashing_frame_resolves_to_the_next_function(program, store, index, make_ctx):
    """Without the caller adjustment the return address lands in after_call_last (the guarded bug)."""
    binary, symbols = program
    stored = store.add_upload(binary)
    index.add_all(stored)
    ctx = make_ctx(
        _report(stored[0].debug_id, [{"instruction_addr": hex(BASE + symbols["after_call_last"])}])
    )
    symbolicate_report(ctx)
    assert ctx.report["threads"][0]["frames"][0]["function"] == "after_call_last"
