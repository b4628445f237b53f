"""Benchmark the anonymizer on a realistic iOS report (40 frames, ~8 KB): prints reports per second.

Run standalone: ``.venv/bin/python bench/anonymize.py [--seconds 5] [--report tests/data/ios_crash.json]
[--cold]``. One process, one core. ``--cold`` empties the rule set's string caches before every report,
the worst case of a stream in which no string ever repeats.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from workers.anonymize import MemoryHashKeyRing, anonymize, load_rules  # noqa: E402

FUNCTIONS = [
    "-[EXFeedViewController tableView:cellForRowAtIndexPath:]",
    "-[UITableView _createPreparedCellForGlobalRow:]",
    "__CFRunLoopDoObservers",
    "__CFRunLoopRun",
    "CFRunLoopRunSpecific",
    "GSEventRunModal",
    "-[UIApplication _run]",
    "UIApplicationMain",
    "main",
    "start",
]


def realistic_ios_report() -> dict:
    """A typical crash from an iOS app: one crashed thread of 40 frames, a few images and breadcrumbs."""
    images = [
        {
            "type": "macho",
            "debug_id": f"3b4c9f2e-8d71-4a65-9e0f-12ab34cd56{index:02x}",
            "arch": "arm64e",
            "code_file": (
                f"/private/var/containers/Bundle/Application/0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D/"
                f"Example.app/Frameworks/Kit{index}.framework/Kit{index}"
            ),
            "image_addr": hex(0x104000000 + index * 0x1000000),
            "image_size": 5242880,
        }
        for index in range(4)
    ]
    frames = [
        {
            "instruction_addr": hex(0x104000000 + index * 0x1234),
            "function": FUNCTIONS[index % len(FUNCTIONS)],
            "symbol_addr": hex(0x104000000 + index * 0x1200),
            "image_addr": hex(0x104000000 + (index % 4) * 0x1000000),
            "module": f"Kit{index % 4}",
            "in_app": index < 5,
        }
        for index in range(40)
    ]
    breadcrumbs = [
        {
            "timestamp": f"2026-03-01T14:2{index // 6}:{index * 7 % 60:02d}Z",
            "type": "navigation" if index % 3 else "http",
            "category": "ui.lifecycle" if index % 3 else "http",
            "message": f"viewDidAppear EXFeedViewController #{index}" if index % 3 else None,
            "data": {
                "url": f"https://api.example.com/v2/feed?page={index}&token=abc{index}",
                "status_code": 200,
            }
            if index % 3 == 0
            else {"screen": "Feed"},
        }
        for index in range(10)
    ]
    return {
        "opt_in": True,
        "report_id": "8f14e45f-ceea-467e-9d7b-5b3c2a1d0e9f",
        "timestamp": "2026-03-01T14:22:11Z",
        "platform": "cocoa",
        "release": "com.example.app@2.0.1+42",
        "app": {"id": "com.example.app", "version": "2.0.1", "build": "42", "name": "Example"},
        "os": {"name": "iOS", "version": "17.4.1", "build": "21E236"},
        "device": {
            "model": "iPhone15,2",
            "arch": "arm64e",
            "family": "iPhone",
            "memory_size": 6227427328,
            "free_memory": 734003201,
            "locale": "de_DE",
            "timezone": "Europe/Berlin",
            "id": "F1A2B3C4-D5E6-4F70-8192-A3B4C5D6E7F8",
            "name": "Johnny's iPhone",
        },
        "user": {"id": "u-1", "email": "johnny@example.com"},
        "exception": {
            "type": "NSRangeException",
            "module": "Example",
            "value": "*** -[__NSArrayM objectAtIndexedSubscript:]: index 12 beyond bounds [0 .. 11]",
            "mechanism": {
                "type": "nsexception",
                "handled": False,
                "signal": {"number": 6, "name": "SIGABRT"},
            },
        },
        "threads": [{"id": 0, "name": "com.apple.main-thread", "crashed": True, "frames": frames}],
        "images": images,
        "breadcrumbs": breadcrumbs,
        "tags": {"flow": "feed", "ab_test": "variant-b"},
        "context": {"runtime": {"name": "iOS", "version": "17.4.1"}, "feature_flags": {"new_feed": True}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to measure")
    parser.add_argument("--report", type=Path, help="a native report JSON file instead of the built-in one")
    parser.add_argument("--cold", action="store_true", help="empty the string caches before every report")
    arguments = parser.parse_args()
    report = json.loads(arguments.report.read_text()) if arguments.report else realistic_ios_report()
    size = len(json.dumps(report))
    frames = sum(len(thread.get("frames") or []) for thread in report.get("threads") or [])
    frames += len((report.get("exception") or {}).get("frames") or [])
    rules, keyring, now = load_rules(None), MemoryHashKeyRing(), datetime.now(UTC)
    caches = (rules.text_cache.results, rules.path_cache.results)

    def run() -> None:
        if arguments.cold:
            for cache in caches:
                cache.clear()
        anonymize(report, rules, keyring, now)

    for _ in range(200):  # warm up (compiled patterns; the caches unless --cold)
        run()
    # CPU time of this process, not wall time: on a shared 2-core machine other work steals the core,
    # and what matters for capacity is how much of one core each report costs.
    count, started, wall_started = 0, time.process_time(), time.perf_counter()
    while (elapsed := time.process_time() - started) < arguments.seconds:
        for _ in range(100):
            run()
        count += 100
    wall = time.perf_counter() - wall_started
    print(
        f"anonymize{' (cold)' if arguments.cold else ''}: {count / elapsed:,.0f} reports/s per CPU-second of "
        f"one core, {elapsed / count * 1e6:,.0f} µs CPU per report ({count / wall:,.0f}/s wall clock); "
        f"{size:,} byte report, {frames} frames, {len(report.get('breadcrumbs') or [])} breadcrumbs"
    )


if __name__ == "__main__":
    main()
