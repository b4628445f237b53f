"""The upload endpoint's edges: bad files get a clear 4xx with a stable code; tokens and roles are checked."""

from __future__ import annotations

import io
import zipfile

import pytest


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def truncated_macho() -> bytes:
    # A 64-bit Mach-O header that promises load commands the file does not have.
    return (
        b"\xcf\xfa\xed\xfe"
        + b"\x07\x00\x00\x01"
        + b"\x03\x00\x00\x00"
        + b"\x06\x00\x00\x00"
        + b"\x10\x00\x00\x00"
    )


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("empty.dSYM", b"", "invalid_symbol_file"),
        ("notes.txt", b"just some text\n", "invalid_symbol_file"),
        ("broken.map", b'{"version": 3, "mappings": 12}', "invalid_symbol_file"),
        ("escape.zip", _zip({"../../etc/evil.so": b"\x7fELF"}), "unsafe_archive"),
        ("absolute.zip", _zip({"/tmp/evil.so": b"\x7fELF"}), "unsafe_archive"),
    ],
)
def test_bad_upload_is_a_clear_4xx(pipeline, name, content, code):
    body = pipeline.upload((name, content), expect=400)
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert (
        pipeline.client.get(f"/api/v1/apps/{pipeline.app_row.id}/symbols", headers=pipeline.auth).get_json()[
            "files"
        ]
        == []
    )


def test_truncated_macho_is_refused(pipeline, truncated_macho):
    body = pipeline.upload(("App", truncated_macho), expect=400)
    assert body["error"]["code"] == "invalid_symbol_file"


def test_one_bad_file_refuses_the_whole_upload(pipeline, gcc_program):
    binary, _ = gcc_program
    body = pipeline.upload(binary, ("empty", b""), expect=400)
    assert body["error"]["code"] == "invalid_symbol_file"
    listed = pipeline.client.get(f"/api/v1/apps/{pipeline.app_row.id}/symbols", headers=pipeline.auth)
    assert listed.get_json()["files"] == []


def test_too_large_is_413(make_app, tmp_path):
    from tests.factories import Factory
    from tests.symbols_api.conftest import SymbolsPipeline

    app = make_app(symbols_max_upload_bytes="1000")
    pipeline = SymbolsPipeline(app.test_client(), Factory(app))
    body = pipeline.upload(("big.js", b"x" * 5000), expect=413)
    assert body["error"]["code"] == "upload_too_large"
    zipped = _zip({"a.js": b"var a = 1;\n" * 300})  # small zip, large content
    body = pipeline.upload(("bomb.zip", zipped), expect=413)
    assert body["error"]["code"] == "upload_too_large"


def test_no_file_field(pipeline):
    response = pipeline.client.post(
        f"/api/v1/apps/{pipeline.app_row.id}/symbols", headers=pipeline.auth, data={"release": "1"}
    )
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "no_file"


def test_scope_and_role_are_required(pipeline, factory, gcc_program):
    binary, _ = gcc_program
    url = f"/api/v1/apps/{pipeline.app_row.id}/symbols"
    assert pipeline.client.post(url, data={}).status_code == 401

    read_only = factory.token(pipeline.user, scopes="read")
    response = pipeline.client.post(url, headers={"Authorization": f"Bearer {read_only}"}, data={})
    assert response.status_code == 403

    viewer = factory.user()
    factory.member(viewer, pipeline.app_row, "viewer")
    pipeline.auth = {"Authorization": f"Bearer {factory.token(viewer)}"}
    assert pipeline.upload(binary, expect=403)["error"]["code"] == "forbidden"

    outsider = factory.user()
    pipeline.auth = {"Authorization": f"Bearer {factory.token(outsider)}"}
    assert pipeline.upload(binary, expect=404)["error"]["code"] == "not_found"
    assert pipeline.client.get(url, headers=pipeline.auth).status_code == 404


def test_same_file_twice_is_one_row(pipeline, gcc_program):
    binary, _ = gcc_program
    first = pipeline.upload(binary)
    pipeline.process()
    second = pipeline.upload(binary)
    assert [f["id"] for f in second["files"]] == [f["id"] for f in first["files"]]
    assert second["files"][0]["status"] == "ready" and second["job_id"] is None
    listed = pipeline.client.get(
        f"/api/v1/apps/{pipeline.app_row.id}/symbols", headers=pipeline.auth
    ).get_json()
    assert len(listed["files"]) == 1
    assert set(listed["files"][0]) >= {
        "debug_id",
        "code_id",
        "arch",
        "kind",
        "status",
        "sha256",
        "uploaded_at",
    }
    assert "path" not in listed["files"][0]
