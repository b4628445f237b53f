"""Sample symbol inputs shared by the symbolication unit tests and the full-pipeline tests."""

from __future__ import annotations

SNAPSHOTS = ["bruno", "XCDYouTubeKit-54", "handcrafted", "spaces"]
MACOS_CRASH_ID = "67e9247c-814e-392b-a027-dbde6748fcbf"  # corpus apple/macos-crash dSYM

# Our own .crash for the corpus "crash" binary: frame 0 is the crashing instruction (0xdc15 in the
# image, expected in native_lookups.json), frame 1 a libsystem frame without symbols.
CRASH_TEXT = f"""\
Incident Identifier: 5C32DF84-31A0-43E7-87D0-239F7F594940
CrashReporter Key:   0123456789abcdef
Process:         crash [4242]
Path:            /Applications/Crash.app/Contents/MacOS/crash
Code Type:       X86-64 (Native)
Date/Time:       2024-02-01 10:00:00.250 +0100
Report Version:  104

Exception Type:  EXC_BAD_ACCESS (SIGSEGV)
Exception Codes: KERN_INVALID_ADDRESS at 0x0000000000000000

Thread 0 Crashed:: Dispatch queue: com.apple.main-thread
0   crash                               0x000000010000dc15 0x100000000 + 56341
1   libsystem_kernel.dylib              0x00007fff61bc6c2a 0x7fff61bc6000 + 3114

Binary Images:
       0x100000000 -        0x10001ffff +crash x86_64  <{MACOS_CRASH_ID.replace("-", "")}> /Applications/Crash.app/Contents/MacOS/crash
    0x7fff61bc6000 -     0x7fff61bfffff  libsystem_kernel.dylib x86_64  <1b7d718405d63a83bb1bf9af6aef61f3> /usr/lib/system/libsystem_kernel.dylib
"""

HAND_WRITTEN = """\
# compiler: R8
com.example.shop.CartActivity -> a.a:
    1:1:void onCheckout():20:20 -> a
    2:2:void validate():31:31 -> a
    2:2:void onCheckout():21 -> a
com.example.shop.EmptyCartException -> a.b:
"""


def android_report(frames: list[dict], mapping_uuid: str | None = None, **extra) -> dict:
    report = {
        "platform": "android",
        "app": {"id": "com.example.shop", "version": "2.0.1", "build": "42"},
        "threads": [{"id": 1, "crashed": True, "frames": frames}],
        **extra,
    }
    if mapping_uuid:
        report["images"] = [{"type": "proguard", "uuid": mapping_uuid}]
    return report
