"""The full pipeline for symbol tests: upload over HTTP → ingest → real RQ worker → read API."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.factories import Factory


class SymbolsPipeline:
    """One app with a developer token; upload, send reports, run the worker, read the results."""

    def __init__(self, client, factory: Factory):
        self.client = client
        self.factory = factory
        self.app_row = factory.app_row()
        self.user = factory.user()
        factory.member(self.user, self.app_row, "developer")
        self.token = factory.token(self.user)
        self.auth = {"Authorization": f"Bearer {self.token}"}

    def upload(self, *files: Path | tuple[str, bytes], expect: int = 201, **form: str) -> dict[str, Any]:
        """POST files (paths, or (name, bytes) pairs) to the symbols endpoint."""
        return self.upload_to(self.app_row.id, *files, expect=expect, **form)

    def upload_to(self, app_id: int, *files: Path | tuple[str, bytes], expect: int = 201, **form: str):
        fields: list[tuple[str, Any]] = list(form.items())
        for item in files:
            name, data = item if isinstance(item, tuple) else (Path(item).name, Path(item).read_bytes())
            fields.append(("file", FileStorage(io.BytesIO(data), name)))
        # Encoded in memory: the test client's own encoder spools big bodies to a file it never closes.
        boundary, body = encode_multipart(MultiDict(fields))
        response = self.client.post(
            f"/api/v1/apps/{app_id}/symbols",
            data=body,
            headers=self.auth,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def send(self, report: dict[str, Any]) -> str:
        body = {"opt_in": True, **report}
        response = self.client.post(
            "/api/v1/reports", json=body, headers={"X-Crashsvc-Key": self.app_row.ingest_key}
        )
        assert response.status_code == 202, response.get_json()
        return response.get_json()["id"]

    def process(self) -> int:
        return self.factory.process_queue()

    def stored(self, report_id: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/reports/{report_id}", headers=self.auth)
        assert response.status_code == 200, response.get_json()
        data = response.get_json()
        assert data["status"] == "processed", data
        return data

    def groups(self) -> dict[int, int]:
        """Every group of the app with its count, emptied ones too (the API hides those)."""
        from sqlalchemy import select

        from crashsvc.models import Group

        with self.factory.services.db.sessions() as session:
            rows = session.execute(select(Group.id, Group.count).where(Group.app_id == self.app_row.id)).all()
        return dict(rows)

    def run(self, report: dict[str, Any]) -> dict[str, Any]:
        """Send one report, run the worker, return what the read API shows."""
        report_id = self.send(report)
        self.process()
        return self.stored(report_id)


@pytest.fixture
def pipeline(client, factory) -> SymbolsPipeline:
    return SymbolsPipeline(client, factory)


def frames_of(stored: dict[str, Any], thread: int = 0) -> list[dict[str, Any]]:
    return stored["report"]["threads"][thread]["frames"]


# -- our own native fixture: a C program built with gcc -g ----------------------------------------
PROGRAM = """\
#include <stdlib.h>

static inline __attribute__((always_inline)) int read_value(int *p) {
    return *p * 3;
}

__attribute__((noinline)) int crash_here(int *p) {
    return read_value(p) + 1;
}

__attribute__((noinline, noreturn)) void call_last(int *p) {
    crash_here(p);
    abort();
}

__attribute__((noinline)) int after_call_last(int x) {
    return x + 7;
}

int main(int argc, char **argv) {
    (void)argv;
    if (argc > 5) return after_call_last(argc);
    call_last(NULL);
}
"""


@pytest.fixture(scope="session")
def gcc_program(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    """(ELF with DWARF, symbol name → address) of a small C program built for this test run."""
    gcc, nm = shutil.which("gcc"), shutil.which("nm")
    if not gcc or not nm:
        pytest.skip("gcc and nm are needed to build the ELF fixture")
    workdir = tmp_path_factory.mktemp("gcc-symbols")
    (workdir / "prog.c").write_text(PROGRAM)
    binary = workdir / "prog"
    subprocess.run(
        [gcc, "-g", "-O1", "-falign-functions=1", "-fno-reorder-functions", "-o", str(binary), "prog.c"],
        check=True,
        cwd=workdir,
        capture_output=True,
    )
    symbols = {}
    for line in subprocess.run(
        [nm, str(binary)], check=True, capture_output=True, text=True
    ).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            symbols[parts[2]] = int(parts[0], 16)
    return binary, symbols


def elf_debug_id(path: Path) -> str:
    from crashsvc.symbols import identify_file

    (identified,) = identify_file(path)
    return identified.debug_id
