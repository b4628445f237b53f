"""Properties of the stage itself: idempotency, address adjustment, demangling, in_app, no services."""

from __future__ import annotations

import copy

import pytest

from workers.symbolicate import symbolicate_report
from workers.symbolicate.demangle import demangle_name
from workers.symbolicate.in_app import is_app_class, is_app_image
from workers.symbolicate.native import ImageMap, lookup_address


@pytest.mark.parametrize(
    ("arch", "addr", "expected"),
    [
        ("x86", 0x1001, 0x1000),  # return address - 1
        ("x86_64", 0x1001, 0x1000),
        ("arm64", 0x1004, 0x1000),  # previous 4-byte instruction
        ("armv7", 0x1004, 0x1002),  # thumb-safe: previous 2-byte boundary
        (None, 0x1001, 0x1000),  # unknown architecture: still step into the call
    ],
)
def test_caller_frames_are_looked_up_one_instruction_earlier(arch, addr, expected):
    assert lookup_address(addr, arch, caller_frame=True) == expected
    assert lookup_address(addr, arch, caller_frame=False) == addr


@pytest.mark.parametrize(
    ("mangled", "readable"),
    [
        ("_ZN12_GLOBAL__N_15crashEv", "(anonymous namespace)::crash()"),
        ("_ZN3std2rt10lang_start17h0123456789abcdefE", "std::rt::lang_start"),  # Rust legacy
        ("_RNvCs1234_7mycrate3foo", "mycrate::foo"),  # Rust v0
        ("$s4main3fooyyF", "main.foo() -> ()"),  # Swift
        ("main", "main"),
        ("-[NSObject description]", "-[NSObject description]"),
    ],
)
def test_demangle_name(mangled, readable):
    assert demangle_name(mangled) == readable


@pytest.mark.parametrize(
    ("path", "in_app"),
    [
        ("/private/var/containers/Bundle/Application/X/App.app/App", True),
        ("/data/app/com.example-1/lib/arm64/libgame.so", True),
        ("/usr/lib/system/libsystem_kernel.dylib", False),
        ("/System/Library/Frameworks/UIKit.framework/UIKit", False),
        ("/system/lib64/libc.so", False),
        ("/apex/com.android.runtime/lib64/bionic/libc.so", False),
        ("C:\\Windows\\System32\\ntdll.dll", False),
        (
            "/Applications/Xcode.app/Contents/Developer/Platforms/iPhoneSimulator.platform/libsystem_c.dylib",
            False,
        ),
    ],
)
def test_in_app_images(path, in_app):
    assert is_app_image(path) is in_app


def test_in_app_classes():
    assert is_app_class("com.example.shop.CartActivity")
    assert not is_app_class("android.view.View") and not is_app_class("java.lang.Thread")


def test_image_map_bounds():
    images = ImageMap(
        [
            {"image_addr": "0x1000", "image_size": 0x100, "debug_id": "a"},
            {"image_addr": 0x5000, "debug_id": "b"},
            {"type": "proguard", "uuid": "c"},
        ]
    )
    assert images.find(0x10FF).debug_id == "a"
    assert images.find(0x1100) is None and images.find(0xFFF) is None
    assert images.find(0x9999).debug_id == "b"  # no size: up to the next image


@pytest.mark.corpus
def test_running_twice_changes_nothing(corpus, store, index, make_ctx):
    index.add_all(store.add_upload(corpus / "apple/macos-crash/crash.dSYM"))
    report = {
        "platform": "native",
        "threads": [
            {
                "id": 0,
                "crashed": True,
                "frames": [
                    {"instruction_addr": "0x10000dc15"},
                    {"instruction_addr": 0x100000D7E},
                    {"instruction_addr": "0x7fff00000010"},
                ],
            }
        ],
        "images": [
            {
                "type": "macho",
                "debug_id": "67e9247c-814e-392b-a027-dbde6748fcbf",
                "arch": "x86_64",
                "code_file": "/Applications/Crash.app/Contents/MacOS/crash",
                "image_addr": "0x100000000",
                "image_size": 0x20000,
            },
            {
                "type": "macho",
                "debug_id": "1b7d7184-05d6-3a83-bb1b-f9af6aef61f3",
                "arch": "x86_64",
                "code_file": "/usr/lib/system/libsystem_kernel.dylib",
                "image_addr": "0x7fff00000000",
            },
        ],
    }
    first = make_ctx(report)
    symbolicate_report(first)
    once = copy.deepcopy(first.report)
    assert len(once["threads"][0]["frames"]) == 3 + 2 + 1  # two inline chains expanded
    assert once["threads"][0]["frames"][3]["instruction_addr"] == 0x100000D7E  # int kept as given
    second = make_ctx(copy.deepcopy(once))
    symbolicate_report(second)
    assert second.report == once
    assert second.missing_symbols == first.missing_symbols == once["missing_symbols"]
    symbolicate_report(first)  # same context again: no duplicate notes either
    assert [n.rule for n in first.notes].count("missing_symbols") == 1


def test_without_symbol_services_the_stage_only_notes(make_ctx):
    ctx = make_ctx({"threads": [{"frames": [{"instruction_addr": "0x1"}]}]})
    ctx.services = None
    symbolicate_report(ctx)
    assert "symbolicated" not in ctx.report["threads"][0]["frames"][0]
    assert [(n.rule, n.detail) for n in ctx.notes] == [("skipped", "no symbol store configured")]
