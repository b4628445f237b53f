"""Worker memory with many debug files in rotation: the store's handle LRU keeps it bounded.

Builds N distinct ELF files (gcc, many functions each), stores them with SymCaches, then looks up
addresses round-robin over all of them for several rounds, printing the process RSS, once with the
default-style bound and once effectively unbounded. Usage: ``python bench/symbol_memory.py [N]``.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from crashsvc.symbols import SymbolStore

FUNCTIONS = 4000


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _build(workdir: Path, i: int) -> Path:
    source = workdir / f"lib{i}.c"
    body = "\n".join(f"int f{i}_{n}(int x) {{ return x * {n} + {i}; }}" for n in range(FUNCTIONS))
    source.write_text(body + "\nint main(void) { return 0; }\n")
    binary = workdir / f"lib{i}"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(binary), str(source)], check=True)
    return binary


def _rotate(store: SymbolStore, records: list, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        for record in records:
            cache = store.open_symcache(record.symcache_path)
            for addr in range(0x1100, 0x1100 + 64 * 97, 97):
                cache.lookup(addr)
        samples.append(_rss_mib())
    return samples


def main(count: int = 50) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="symmem-"))
    store = SymbolStore(workdir / "store")
    records = [store.add_upload(_build(workdir, i))[0] for i in range(count)]
    sizes = [record.symcache_path.stat().st_size for record in records]
    print(f"{count} SymCaches, {sum(sizes) / 2**20:.1f} MiB total, {max(sizes) / 2**20:.2f} MiB largest")
    print(f"RSS after building: {_rss_mib():.1f} MiB")
    bounded = SymbolStore(workdir / "store", max_open_handles=8, max_open_bytes=8 * 2**20)
    print("bounded (8 handles / 8 MiB):", " ".join(f"{v:.1f}" for v in _rotate(bounded, records, 5)), "MiB")
    print("open handles:", len(bounded.handles), f"open bytes: {bounded.handles.open_bytes / 2**20:.1f} MiB")
    bounded.handles.clear()
    unbounded = SymbolStore(workdir / "store", max_open_handles=10_000, max_open_bytes=2**40)
    print("unbounded:", " ".join(f"{v:.1f}" for v in _rotate(unbounded, records, 5)), "MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
