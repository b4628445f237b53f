"""Java (ProGuard/R8) and JavaScript (source maps) through upload → ingest → worker → read API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.symbol_samples import HAND_WRITTEN, android_report
from tests.symbols_api.conftest import frames_of

RELEASE = "web@1.0.0"


def js_report(abs_path: str, positions: list[tuple[int, int, str | None]], release: str = RELEASE) -> dict:
    frames = []
    for line, col, name in positions:
        frame = {"abs_path": abs_path, "lineno": line + 1, "colno": col + 1, "platform": "javascript"}
        if name:
            frame["function"] = name
        frames.append(frame)
    return {
        "platform": "javascript",
        "release": release,
        "exception": {"type": "Error", "value": "boom", "frames": frames},
    }


def test_hand_written_mapping_late_then_remapped_and_regrouped(pipeline, tmp_path):
    from symbolic import ProguardMapper  # the mapping's UUID, as the uploading build tool computes it

    frames = [{"platform": "java", "module": "a.a", "function": "a", "lineno": 2, "filename": "SourceFile"}]
    path = tmp_path / "mapping.txt"
    path.write_text(HAND_WRITTEN)
    uuid = str(ProguardMapper.open(str(path)).uuid)
    report = android_report(frames, uuid, exception={"type": "b", "module": "a", "value": "empty"})

    before = pipeline.run(report)
    assert before["missing_symbols"] == [
        {"image": "proguard mapping", "debug_id": uuid, "arch": None, "type": "proguard"}
    ]
    assert before["exception_type"] == "b"

    uploaded = pipeline.upload(("mapping.txt", HAND_WRITTEN.encode()))
    assert uploaded["files"][0]["debug_id"] == uuid
    pipeline.process()

    after = pipeline.stored(before["id"])
    out = frames_of(after)
    assert [(f["module"], f["function"], f["lineno"], f.get("inlined", False)) for f in out] == [
        ("com.example.shop.CartActivity", "validate", 31, True),
        ("com.example.shop.CartActivity", "onCheckout", 21, False),
    ]
    assert after["exception_type"] == "EmptyCartException"
    assert after["report"]["exception"]["raw_type"] == "b"
    assert after["missing_symbols"] == [] and after["symbolicated"] is True
    assert after["group_id"] != before["group_id"]
    assert pipeline.groups() == {before["group_id"]: 0, after["group_id"]: 1}


@pytest.mark.corpus
def test_corpus_proguard_mappings(corpus, pipeline):
    (by_uuid,) = pipeline.upload(corpus / "android/proguard/symbolic_proguard.txt")["files"]
    (by_version,) = pipeline.upload(
        corpus / "android/proguard/mapping-inlines.txt", app_version="2.0.1", build="42"
    )["files"]
    assert by_uuid["debug_id"] == "a48ca62b-df26-544e-a8b9-2a5ce210d1d5"
    assert (by_version["app_version"], by_version["build"]) == ("2.0.1", "42")
    pipeline.process()

    stored = pipeline.run(
        android_report(
            [
                {
                    "platform": "java",
                    "module": "android.support.constraint.a.b",
                    "function": "a",
                    "lineno": 116,
                },
                {"platform": "java", "module": "io.sentry.sample.MainActivity", "function": "a", "lineno": 1},
            ],
            by_uuid["debug_id"],
        )
    )
    assert [(f["module"], f["function"], f["lineno"]) for f in frames_of(stored)] == [
        ("android.support.constraint.solver.ArrayRow", "createRowDefinition", 116),
        ("io.sentry.sample.MainActivity", "bar", 54),
        ("io.sentry.sample.MainActivity", "foo", 44),
        ("io.sentry.sample.MainActivity", "onClickHandler", 40),
    ]

    stored = pipeline.run(
        android_report(
            [  # no image: found through app version + build
                {"platform": "java", "module": "io.sentry.sample.MainActivity", "function": "t", "lineno": 1},
                {
                    "platform": "java",
                    "module": "android.view.View",
                    "function": "performClick",
                    "lineno": 7125,
                },
            ]
        )
    )
    assert [(f["function"], f.get("lineno")) for f in frames_of(stored)] == [
        ("bar", 54),
        ("foo", 44),
        ("onClickHandler", 40),
        ("performClick", 7125),
    ]


GREET = "function greet(name) {\n  throw new Error('hi ' + name);\n}\ngreet('x');\n"
MINIFIED = "function g(n){throw new Error('hi '+n)}g('x');\n//# sourceMappingURL=app.min.js.map\n"
SOURCEMAP = {
    "version": 3,
    "file": "app.min.js",
    "sources": ["src/greet.js"],
    "names": ["greet", "name"],
    "sourcesContent": [GREET],
    "mappings": "AAAA,SAASA,KACP,cAEA",
}


def test_generated_sourcemap_late_upload(pipeline):
    report = js_report("https://cdn.example.com/static/app.min.js?v=3", [(0, 14, "g")])
    before = pipeline.run(report)
    assert before["missing_symbols"] == [
        {"image": "app.min.js", "debug_id": None, "arch": None, "type": "sourcemap"}
    ]

    pipeline.upload(
        ("app.min.js", MINIFIED.encode()),
        ("app.min.js.map", json.dumps(SOURCEMAP).encode()),
        release=RELEASE,
        url_prefix="~/static/",
    )
    pipeline.process()

    frame = pipeline.stored(before["id"])["report"]["exception"]["frames"][0]
    assert frame["symbolicated"] is True
    assert (frame["filename"], frame["lineno"], frame["colno"]) == ("greet.js", 2, 3)
    assert frame["context_line"] == "  throw new Error('hi ' + name);"
    assert frame["minified"]["lineno"] == 1 and frame["minified"]["colno"] == 15

    other_release = pipeline.run(
        js_report("https://cdn.example.com/static/app.min.js", [(0, 14, "g")], "web@0.9")
    )
    assert other_release["report"]["exception"]["frames"][0]["symbolicated"] is False


@pytest.mark.corpus
def test_every_expected_sourcemap_lookup(corpus, pipeline):
    cases = json.loads((corpus / "expected" / "sourcemaps.json").read_text())
    sent = []
    for case in cases:
        bundle = Path(
            case.get("minified") or case["map"].removesuffix(".map").removesuffix(".min") + ".min.js"
        ).name
        release = f"web@{len(sent)}"  # one release per case: bundles may share names
        files = [(bundle + ".map", (corpus / case["map"]).read_bytes())]
        if case.get("minified"):
            files.insert(0, (bundle, (corpus / case["minified"]).read_bytes()))
        pipeline.upload(*files, release=release)
        positions = [(line, col, name) for line, col, name, _ in case["lookups"]]
        sent.append((case, pipeline.send(js_report("https://app.example.com/" + bundle, positions, release))))
    pipeline.process()
    checked = 0
    for case, report_id in sent:
        stored = pipeline.stored(report_id)
        frames = stored["report"]["exception"]["frames"]
        for frame, (line, col, name, expected) in zip(frames, case["lookups"], strict=True):
            assert frame["symbolicated"] is True, case["map"]
            assert (frame["lineno"], frame["colno"]) == (expected["src_line"] + 1, expected["src_col"] + 1)
            if "src" in expected:
                assert frame["filename"] == expected["src"]
            if "function_name" in expected:
                assert frame["function"] == expected["function_name"]
            elif name:
                assert frame["function"] in (name, name.rsplit(".", 1)[-1])
            assert (frame["minified"]["lineno"], frame["minified"]["colno"]) == (line + 1, col + 1)
            checked += 1
        assert stored["missing_symbols"] == []
    assert checked == 8
