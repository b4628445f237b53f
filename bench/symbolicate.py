"""Benchmark: symbolicate a 40-frame native report with SymCaches already built (floor: 3 ms).

Symbols come from the shared corpus (macOS ``crash`` dSYM, DWARF with inlines); the SymCache is built
at upload, as in production, so the timed part is only what a worker does per crash: parse addresses,
find images, open the SymCache through the bounded handle cache, look up, expand inlines, demangle.

    .venv/bin/python bench/symbolicate.py [--corpus DIR] [--iterations 300]
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crashsvc.symbols import InMemorySymbolIndex, SymbolStore  # noqa: E402
from workers.context import ProcessingContext  # noqa: E402
from workers.symbolicate import symbolicate_report  # noqa: E402

FLOOR_MS = 3.0
FRAMES = 40
IMAGE_ADDR = 0x100000000
DSYM = "apple/macos-crash/crash.dSYM"


@dataclass
class Services:
    symbol_index: Any
    symbol_store: Any


def build_report(store: SymbolStore, debug_id: str, symcache_path: Path) -> dict[str, Any]:
    """A report whose 40 frames all land on code the SymCache knows (plus one system image)."""
    symcache = store.open_symcache(symcache_path)
    addresses = [addr for addr in range(0x1000, 0x20000, 0x61) if symcache.lookup(addr)][: FRAMES - 2]
    frames = [{"instruction_addr": hex(IMAGE_ADDR + addr)} for addr in addresses]
    frames += [{"instruction_addr": "0x7fff61bc6c2a"}, {"instruction_addr": "0x7fff61bc85be"}]
    return {
        "platform": "cocoa",
        "threads": [{"id": 0, "crashed": True, "frames": frames}],
        "images": [
            {
                "type": "macho",
                "debug_id": debug_id,
                "arch": "x86_64",
                "image_addr": hex(IMAGE_ADDR),
                "image_size": 0x100000,
                "code_file": "/Applications/Crash.app/Contents/MacOS/crash",
            },
            {
                "type": "macho",
                "debug_id": "1b7d7184-05d6-3a83-bb1b-f9af6aef61f3",
                "arch": "x86_64",
                "image_addr": "0x7fff61bc6000",
                "image_size": 0x3A000,
                "code_file": "/usr/lib/system/libsystem_kernel.dylib",
            },
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path(os.environ.get("CRASHSVC_TEST_CORPUS", ROOT / ".." / "shared" / "corpus")),
    )
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args()
    if not (args.corpus / DSYM).exists():
        print(f"corpus not found at {args.corpus}; set CRASHSVC_TEST_CORPUS", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        store = SymbolStore(Path(tmp))
        stored = store.add_upload(args.corpus / DSYM)  # SymCache built here, at upload
        index = InMemorySymbolIndex()
        index.add_all(stored)
        report = build_report(store, stored[0].debug_id, stored[0].symcache_path)
        copies = [copy.deepcopy(report) for _ in range(args.iterations + 20)]
        timings = []
        for i, item in enumerate(copies):
            ctx = ProcessingContext("bench", 1, datetime.now(UTC), item, services=Services(index, store))
            start = time.perf_counter()
            symbolicate_report(ctx)
            elapsed = (time.perf_counter() - start) * 1000
            if i >= 20:  # the first runs warm the handle cache, as a long-lived worker's would be
                timings.append(elapsed)
        frames_out = len(copies[-1]["threads"][0]["frames"])
        resolved = sum(1 for f in copies[-1]["threads"][0]["frames"] if f["symbolicated"])
    median = statistics.median(timings)
    p95 = sorted(timings)[int(len(timings) * 0.95) - 1]
    print(
        f"symbolicate 40-frame native report: median {median:.3f} ms, p95 {p95:.3f} ms "
        f"({len(timings)} runs, {frames_out} frames out incl. inlines, {resolved} symbolicated)"
    )
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}"
    )
    if median > FLOOR_MS:
        print(f"FAIL: median above the {FLOOR_MS} ms floor", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
