"""JavaScript frames: corpus/expected/sourcemaps.json through the store + stage, and a generated map."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crashsvc.symbols import UploadMetadata
from workers.symbolicate import symbolicate_report

RELEASE = "web@1.0.0"
ORIGIN = "https://app.example.com/"


def _upload(store, index, path: Path, name: str, release: str = RELEASE) -> None:
    index.add_all(store.add_file(path, name, UploadMetadata(release=release)))


def _js_report(abs_path: str, positions: list[tuple[int, int, str | None]], release: str = RELEASE) -> dict:
    frames = [
        {
            "abs_path": abs_path,
            "lineno": line + 1,
            "colno": col + 1,
            "function": name or None,
            "platform": "javascript",
        }
        for line, col, name in positions
    ]
    frames = [{k: v for k, v in frame.items() if v is not None} for frame in frames]
    return {"platform": "javascript", "release": release, "exception": {"type": "Error", "frames": frames}}


@pytest.mark.corpus
def test_expected_sourcemap_lookups(corpus, store, index, make_ctx):
    cases = json.loads((corpus / "expected" / "sourcemaps.json").read_text())
    checked = 0
    for case in cases:
        # Uploaded the way a build tool names them: the map next to the bundle, as "<bundle>.map".
        bundle = Path(
            case.get("minified") or case["map"].removesuffix(".map").removesuffix(".min") + ".min.js"
        ).name
        if case.get("minified"):
            _upload(store, index, corpus / case["minified"], bundle)
        _upload(store, index, corpus / case["map"], bundle + ".map")
        report = _js_report(ORIGIN + bundle, [(line, col, name) for line, col, name, _ in case["lookups"]])
        ctx = make_ctx(report)
        symbolicate_report(ctx)
        for frame, (line, col, name, expected) in zip(
            report["exception"]["frames"], case["lookups"], strict=True
        ):
            assert frame["symbolicated"] is True, case["map"]
            assert frame["lineno"] == expected["src_line"] + 1
            assert frame["colno"] == expected["src_col"] + 1
            if "src" in expected:
                assert frame["filename"] == expected["src"]
            if "function_name" in expected:
                assert frame["function"] == expected["function_name"]
            elif name:
                # No expectation upstream: either the minified name stays or the map's scopes name it
                # (Metro "e.foo" is "foo" in module.js, as symbolicator's snapshot shows).
                assert frame["function"] in (name, name.rsplit(".", 1)[-1])
            assert frame["minified"]["lineno"] == line + 1 and frame["minified"]["colno"] == col + 1
            checked += 1
        assert ctx.missing_symbols == []
    assert checked == 8


@pytest.mark.corpus
def test_token_names_from_expected_file(corpus):
    """The ``name`` / ``dst_col`` expectations concern the token itself (symbolic's lookup)."""
    from symbolic import SourceMapView

    for case in json.loads((corpus / "expected" / "sourcemaps.json").read_text()):
        view = SourceMapView.from_json_bytes((corpus / case["map"]).read_bytes())
        for line, col, _, expected in case["lookups"]:
            token = view.lookup(line, col)
            if "name" in expected:
                assert token.name == expected["name"]
            if "dst_col" in expected:
                assert token.dst_col == expected["dst_col"]


@pytest.mark.corpus
def test_hermes_frame_found_by_debug_id(corpus, store, index, make_ctx, tmp_path):
    # Hermes frames name the bundle, not a file we have: the debug id in the report finds the map.
    document = json.loads((corpus / "js/react-native/react-native-hermes.map").read_text())
    document["debugId"] = "c5b2ba5c-4cd0-4d40-a4a8-1c3b3e4b2a10"
    with_id = tmp_path / "hermes.map"
    with_id.write_text(json.dumps(document))
    _upload(store, index, with_id, "whatever.map")
    report = _js_report("app:///index.android.bundle", [(0, 11939, None)])
    report["images"] = [
        {
            "type": "sourcemap",
            "code_file": "app:///index.android.bundle",
            "debug_id": "C5B2BA5C-4CD0-4D40-A4A8-1C3B3E4B2A10",
        }
    ]
    ctx = make_ctx(report)
    symbolicate_report(ctx)
    frame = report["exception"]["frames"][0]
    assert (frame["function"], frame["filename"], frame["lineno"], frame["colno"]) == (
        "foo",
        "module.js",
        2,
        11,
    )


def _generated_map(tmp_path: Path) -> tuple[Path, Path]:
    """A one-line bundle and its map, written by hand: no corpus needed."""
    original = "function greet(name) {\n  throw new Error('hi ' + name);\n}\ngreet('x');\n"
    minified = "function g(n){throw new Error('hi '+n)}g('x');\n//# sourceMappingURL=app.min.js.map\n"
    # Segments: [col, src, src_line, src_col, name]; VLQ for 0=A 1=C 2=E 9=S 14=c 15=e 6=M ...
    sourcemap = {
        "version": 3,
        "file": "app.min.js",
        "sources": ["src/greet.js"],
        "names": ["greet", "name"],
        "sourcesContent": [original],
        # g at col 9 → greet(0,9); throw at col 14 → (1,2); g('x') at col 39 → (3,0)
        "mappings": "AAAA,SAASA,KACP,cAEA",
    }
    map_path, js_path = tmp_path / "app.min.js.map", tmp_path / "app.min.js"
    map_path.write_text(json.dumps(sourcemap))
    js_path.write_text(minified)
    return js_path, map_path


def test_generated_sourcemap_via_source_mapping_url(store, index, make_ctx, tmp_path):
    js_path, map_path = _generated_map(tmp_path)
    _upload(store, index, js_path, "static/app.min.js")
    _upload(store, index, map_path, "static/app.min.js.map")
    report = _js_report("https://cdn.example.com/static/app.min.js?v=3", [(0, 14, "g")])
    ctx = make_ctx(report)
    symbolicate_report(ctx)
    frame = report["exception"]["frames"][0]
    assert frame["symbolicated"] is True
    assert (frame["filename"], frame["lineno"], frame["colno"]) == ("greet.js", 2, 3)
    assert frame["context_line"] == "  throw new Error('hi ' + name);"
    assert frame["minified"] == {
        "abs_path": "https://cdn.example.com/static/app.min.js?v=3",
        "lineno": 1,
        "colno": 15,
        "function": "g",
    }
    assert frame["in_app"] is True


def test_wrong_release_is_missing_not_guessed(store, index, make_ctx, tmp_path):
    js_path, map_path = _generated_map(tmp_path)
    _upload(store, index, js_path, "static/app.min.js", release="web@0.9")
    _upload(store, index, map_path, "static/app.min.js.map", release="web@0.9")
    report = _js_report("https://cdn.example.com/static/app.min.js", [(0, 14, "g")])
    ctx = make_ctx(report)
    symbolicate_report(ctx)
    assert report["exception"]["frames"][0]["symbolicated"] is False
    assert report["exception"]["frames"][0]["lineno"] == 1
    assert ctx.missing_symbols == [
        {"image": "app.min.js", "debug_id": None, "arch": None, "type": "sourcemap"}
    ]
