"""sig:1 behaviour that the labelled cases do not pin down: fingerprints, explanations, limits, stability."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.grouping.conftest import CASES_DIR
from workers.grouping import DEFAULT_ALGORITHM, UnknownAlgorithm, compute_signature, get_algorithm


def case(path: str) -> dict:
    return json.loads((CASES_DIR / path).read_text(encoding="utf-8"))["report"]


NSRANGE = "ios/nsrange_feed_cell_v1.json"

# A code change that moves groups must fail here. If it is meant to, it is a new algorithm (sig:2).
GOLDEN = {
    "ios/nsrange_feed_cell_v1.json": "77a1e1d9",
    "android/npe_cart_adapter_v1.json": "f36255cd",
    "native/unsymbolicated_engine_a.json": "ebf52091",
    "js/checkout_pay_v1_ios.json": "2bc7ffb0",
}


@pytest.mark.parametrize(("path", "prefix"), GOLDEN.items())
def test_golden_hashes_are_stable(path: str, prefix: str) -> None:
    assert compute_signature(case(path)).hash[:8] == prefix


def test_golden_full_hash_and_shape() -> None:
    result = compute_signature(case(NSRANGE))
    assert result.algorithm == "sig:1"
    assert result.hash == "77a1e1d9fddef59bf41635900a50af9f"
    assert len(result.hash) == 32 and int(result.hash, 16) >= 0


def test_rule_lists_of_sig1_are_frozen() -> None:
    algorithm = get_algorithm("sig:1")
    assert algorithm.current_rules_digest() == algorithm.rules_digest, (
        "config/siglists/sig1 was edited: released rule lists are frozen, register sig:2 instead"
    )


def test_registry() -> None:
    assert DEFAULT_ALGORITHM == "sig:1"
    algorithm = get_algorithm("sig:1")
    assert "First algorithm" in algorithm.changelog and algorithm.released
    with pytest.raises(UnknownAlgorithm, match="sig:99"):
        get_algorithm("sig:99")


def test_hash_covers_the_algorithm_id() -> None:
    from workers.grouping.generator import signature_hash

    assert signature_hash("sig:1", ["A", "b"]) != signature_hash("sig:2", ["A", "b"])
    assert signature_hash("sig:1", ["A", "b"]) != signature_hash("sig:1", ["A | b"])


@pytest.mark.parametrize("variable", ["{{ default }}", "{{default}}", "{{  default\t}}", " {{ default }} "])
def test_fingerprint_default_variable_is_whitespace_tolerant(variable: str) -> None:
    plain = compute_signature(case(NSRANGE))
    report = case(NSRANGE)
    report["fingerprint"] = [variable, "eu"]
    result = compute_signature(report)
    assert result.signature == plain.signature + " | eu"
    assert result.fingerprint == [plain.signature, "eu"]
    report["fingerprint"] = [variable]
    assert compute_signature(report).hash == plain.hash
    assert compute_signature(report).fingerprint is None


def test_fingerprint_override_ignores_the_stack_and_records_the_default() -> None:
    report = case(NSRANGE)
    report["fingerprint"] = ["db-down"]
    result = compute_signature(report)
    assert result.signature == "db-down" and result.fingerprint == ["db-down"]
    entry = next(e for e in result.explanation if e["kind"] == "fingerprint")
    assert entry["default"] == "NSRangeException | MyApp.FeedViewController.cell"
    assert "replaces" in entry["hint"]


@pytest.mark.parametrize("junk", [None, [], "db-down", [None, True, {}], ["", "  "], {"a": 1}])
def test_unusable_fingerprints_are_ignored(junk: object) -> None:
    report = case(NSRANGE)
    report["fingerprint"] = junk
    assert compute_signature(report).hash == compute_signature(case(NSRANGE)).hash


def test_explanation_names_rule_file_line_and_why() -> None:
    result = compute_signature(case("ios/nsrange_feed_cell_abort_frames.json"))
    frames = [e for e in result.explanation if e["kind"] == "frame"]
    throw = next(e for e in frames if e["name"] == "objc_exception_throw")
    assert throw["contributes"] is False
    assert throw["rule"].startswith("sig1/cocoa/irrelevant.txt:")
    line = int(throw["rule"].rsplit(":", 1)[1])
    text = (CASES_DIR.parents[2] / "config/siglists" / throw["rule"].split(":")[0]).read_text().splitlines()
    assert text[line - 1].startswith("objc_exception_throw")
    assert "exception type" in throw["hint"]
    kill = next(e for e in frames if e["name"] == "__pthread_kill")
    assert kill["rule"].startswith("sig1/common/irrelevant.txt:")
    system = next(e for e in frames if e["name"] == "-[__NSArrayM objectAtIndexedSubscript:]")
    assert system["rule"] is None and "system frame" in system["hint"]
    last = [e for e in frames if e["contributes"]][-1]
    assert last["name"] == "MyApp.FeedViewController.cell" and "first in-app frame" in last["hint"]
    assert result.explanation[-1] == {
        "kind": "rest",
        "frames": 6,
        "contributes": False,
        "hint": "not examined: the signature was complete",
    }


def test_sentinel_drops_crash_handler_frames() -> None:
    result = compute_signature(case("native/inventory_out_of_range_gcc13_handler.json"))
    frames = [e for e in result.explanation if e["kind"] == "frame"]
    assert "sentinel" in frames[0]["hint"] and not frames[0]["contributes"]
    assert frames[1]["name"] == "__restore_rt" and frames[1]["hint"].startswith("sentinel frame")


def native(frames: list[dict], **extra: object) -> dict:
    return {
        "platform": "native",
        "exception": {"type": "SIGSEGV"},
        "threads": [{"crashed": True, "frames": frames}],
        **extra,
    }


def test_prefix_frames_stop_at_the_frame_limit() -> None:
    frames = [
        {"function": name, "in_app": False}
        for name in ["memcpy", "malloc", "free", "strlen", "memset", "strcmp"]
    ]
    result = compute_signature(native(frames + [{"function": "app::run", "in_app": True}]))
    assert result.signature == "SIGSEGV | memcpy | malloc | free | strlen | memset"
    assert "frame limit (5) reached" in [e for e in result.explanation if e["kind"] == "frame"][4]["hint"]


def test_in_app_frame_matching_an_irrelevant_rule_does_not_end_the_walk() -> None:
    frames = [{"function": "abort", "in_app": True}, {"function": "libfoo::fail", "in_app": False}]
    result = compute_signature(native(frames))
    assert result.signature == "SIGSEGV | libfoo::fail"
    assert result.explanation[1]["mode"] == "crash_site"


def test_thread_choice_and_empty_reports() -> None:
    threads = [{"frames": []}, {"frames": [{"function": "worker::loop"}]}]
    result = compute_signature({"platform": "native", "threads": threads})
    assert result.signature == "worker::loop"
    assert "first thread with frames" in result.explanation[0]["hint"]
    empty = compute_signature({"platform": "other"})
    assert empty.signature == "<no frames>" and len(empty.hash) == 32


def test_signal_is_used_when_there_is_no_exception_type() -> None:
    report = native([{"function": "app::run"}])
    report["exception"] = {"mechanism": {"signal": {"name": "SIGBUS", "number": 10}}}
    assert compute_signature(report).signature == "SIGBUS | app::run"


def test_frame_without_image_falls_back_to_its_address() -> None:
    result = compute_signature(native([{"instruction_addr": "0xdeadbeef"}]))
    assert result.signature == "SIGSEGV | 0xdeadbeef"


@settings(max_examples=60, deadline=None)
@given(
    line_shift=st.integers(0, 5000),
    slide=st.integers(0, 2**20).map(lambda pages: pages * 0x4000),
    device=st.sampled_from(["iPhone13,2", "iPad8,1", "iPhone16,1"]),
)
def test_lines_addresses_and_devices_never_move_a_group(line_shift: int, slide: int, device: str) -> None:
    for path in (NSRANGE, "ios/unsymbolicated_bug_a_device1.json"):
        original = case(path)
        moved = copy.deepcopy(original)
        moved["device"]["model"] = device
        for image in moved["images"]:
            image["image_addr"] = hex(int(image["image_addr"], 16) + slide)
        for thread in moved["threads"]:
            for frame in thread["frames"]:
                frame["instruction_addr"] = hex(int(frame["instruction_addr"], 16) + slide)
                frame["lineno"] = frame.get("lineno", 0) + line_shift
        assert compute_signature(moved).hash == compute_signature(original).hash
