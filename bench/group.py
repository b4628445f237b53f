"""Benchmark: signature computation on 40-frame reports (floor for signature + group update: 2,000/s).

The database part of grouping (group upsert, counters) is not timed here yet. Three stacks, each
40 frames, all through ``compute_signature`` with the default algorithm:

- ``worst``: 39 system frames no rule knows, the only in-app frame last, so every frame is named,
  normalized (Swift / ObjC / C++ mix) and matched against every list;
- ``typical``: an uncaught NSException with the abort chain on top, in-app frame at #12;
- ``unsymbolicated``: 40 frames without symbols, named image+offset through the image index.

    .venv/bin/python bench/group.py [--iterations 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.grouping import compute_signature  # noqa: E402

FLOOR_PER_SECOND = 2000
FRAMES = 40
APP_BASE = 0x100400000

SYSTEM_NAMES = [
    "-[UITableView _createPreparedCellForGlobalRow:withIndexPath:willDisplay:]",
    "closure #3 (Swift.Int) -> () in SwiftUI.ViewGraph.updateOutputs<A>(at: A) -> ()",
    "generic specialization <SwiftUI.Text> of SwiftUI.DynamicBody.updateValue() -> ()",
    "std::__1::__function::__func<void (*)(int), std::__1::allocator<void (*)(int)>, void (int)>::operator()(int&&)",
    "__CFRUNLOOP_IS_CALLING_OUT_TO_A_SOURCE0_PERFORM_FUNCTION__",
    "partial apply for closure #1 () -> () in Combine.Publishers.Map.receive(subscriber: A) -> ()",
]


def worst_report(seed: int) -> dict[str, Any]:
    frames = [
        {
            "function": f"{SYSTEM_NAMES[i % len(SYSTEM_NAMES)]}",
            "package": "UIKitCore",
            "in_app": False,
            "instruction_addr": hex(0x182000000 + i * 0x40 + seed),
        }
        for i in range(FRAMES - 1)
    ]
    frames.append(
        {
            "function": "MyApp.AppDelegate.application(_: __C.UIApplication) -> Swift.Bool",
            "package": "MyApp",
            "in_app": True,
            "instruction_addr": hex(APP_BASE + 0x4000 + seed),
            "lineno": seed,
        }
    )
    return report(frames, "EXC_BAD_ACCESS")


def typical_report(seed: int) -> dict[str, Any]:
    top = [
        "__pthread_kill",
        "pthread_kill",
        "abort",
        "abort_message",
        "demangling_terminate_handler()",
        "_objc_terminate()",
        "std::__terminate(void (*)())",
        "__cxa_rethrow",
        "objc_exception_rethrow",
        "__exceptionPreprocess",
        "objc_exception_throw",
        "-[__NSArrayM objectAtIndexedSubscript:]",
    ]
    frames = [
        {"function": name, "package": "libsystem", "in_app": False, "instruction_addr": hex(0x1D0000000 + i)}
        for i, name in enumerate(top)
    ]
    frames.append(
        {
            "function": "MyApp.FeedViewController.cell(at: Swift.Int) -> __C.UITableViewCell",
            "package": "MyApp",
            "in_app": True,
            "instruction_addr": hex(APP_BASE + 0x1A2B0 + seed),
        }
    )
    frames += [
        {
            "function": SYSTEM_NAMES[i % len(SYSTEM_NAMES)],
            "package": "UIKitCore",
            "in_app": False,
            "instruction_addr": hex(0x182000000 + i),
        }
        for i in range(FRAMES - len(frames))
    ]
    return report(frames, "NSRangeException")


def unsymbolicated_report(seed: int) -> dict[str, Any]:
    frames = [
        {"instruction_addr": hex(APP_BASE + 0x1000 + i * 0x130 + seed), "in_app": False}
        for i in range(FRAMES)
    ]
    frames[-1]["in_app"] = True
    return report(frames, "EXC_BAD_ACCESS")


def report(frames: list[dict[str, Any]], exception_type: str) -> dict[str, Any]:
    return {
        "platform": "cocoa",
        "exception": {"type": exception_type, "mechanism": {"signal": "SIGSEGV"}},
        "threads": [{"id": 0, "crashed": True, "frames": frames}],
        "images": [
            {
                "code_file": f"/usr/lib/system/lib{n}.dylib",
                "image_addr": hex(0x180000000 + n * 0x1000000),
                "image_size": 0x800000,
            }
            for n in range(60)
        ]
        + [
            {
                "code_file": "/var/containers/Bundle/Application/X/MyApp.app/MyApp",
                "image_addr": hex(APP_BASE),
                "image_size": 0x100000,
            }
        ],
    }


def renamed(item: dict[str, Any], seed: int) -> dict[str, Any]:
    """Give every symbol a name no earlier report had, so no memoised name or rule decision helps."""
    for frame in item["threads"][0]["frames"]:
        if "function" in frame:
            frame["function"] = (
                frame["function"].replace("(", f"{seed}(", 1)
                if "(" in frame["function"]
                else (frame["function"] + f"_{seed}")
            )
    return item


def measure(build: Any, iterations: int, cold: bool) -> tuple[float, float, float]:
    """(median ms, p95 ms, median CPU ms) of compute_signature over ``iterations`` distinct reports.

    CPU time (this thread only) is printed beside wall time because the 2-core machine is shared:
    wall time includes waiting for a core, CPU time is what one signature costs.
    """
    reports = [build(seed * 4) for seed in range(iterations)]
    if cold:
        reports = [renamed(item, seed) for seed, item in enumerate(reports)]
    for warm in reports[:50]:
        compute_signature(warm)
    timings, cpu = [], []
    for item in reports:
        start, start_cpu = time.perf_counter(), time.thread_time()
        compute_signature(item)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95)], statistics.median(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(
        f"{date.today()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, load {load:.1f}"
    )
    ok = True
    scenarios = (
        ("worst", worst_report),
        ("typical", typical_report),
        ("unsymbolicated", unsymbolicated_report),
    )
    for cold in (False, True):
        print(
            "cold: every symbol new to the worker" if cold else "warm: symbols seen before (a running worker)"
        )
        for label, build in scenarios:
            median, p95, cpu = measure(build, args.iterations, cold)
            per_second = 1000 / median
            if not cold:
                ok = ok and per_second >= FLOOR_PER_SECOND
            print(
                f"  {label:15} median {median:.3f} ms  p95 {p95:.3f} ms  cpu {cpu:.3f} ms  → {per_second:,.0f} reports/s"
            )
    print(f"floor (signature + group update, warm) {FLOOR_PER_SECOND:,}/s:", "ok" if ok else "BELOW FLOOR")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
