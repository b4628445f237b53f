"""Server secrets generated on first run: every process of a fresh data dir ends up with the same ones."""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import stat
from pathlib import Path

from crashsvc.keys import load_or_create_secrets


def _load_after(barrier, data_dir: str, results) -> None:
    barrier.wait()  # all processes reach for the missing file at the same moment
    secrets = load_or_create_secrets(Path(data_dir), None, None)
    results.put((secrets.secret_key, secrets.server_key.hex()))


def test_processes_starting_together_on_a_fresh_data_dir_agree_on_the_keys(tmp_path):
    # `crashsvc serve` starts gunicorn's workers and the report worker at once: a web process
    # sealing with one key while the worker opens with another would lose every report.
    data_dir = tmp_path / "var"
    context = multiprocessing.get_context("fork")
    processes = 8
    barrier = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(target=_load_after, args=(barrier, str(data_dir), results)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert [worker.exitcode for worker in workers] == [0] * processes, "a process failed to load the secrets"
    seen = {results.get(timeout=5) for _ in workers}
    assert len(seen) == 1, "processes generated different keys"
    stored = json.loads((data_dir / "secrets.json").read_text())
    ((secret_key, server_key_hex),) = seen
    assert stored["secret_key"] == secret_key
    assert stat.S_IMODE(os.stat(data_dir / "secrets.json").st_mode) == 0o600


def test_configured_keys_win_and_missing_ones_are_kept_for_the_next_start(tmp_path):
    first = load_or_create_secrets(tmp_path, "configured", None)
    again = load_or_create_secrets(tmp_path, None, None)
    assert first.secret_key == "configured"
    assert again.server_key == first.server_key
    assert again.secret_key != "configured"  # only what was generated is stored


def test_fully_configured_secrets_leave_the_data_dir_untouched(tmp_path):
    server_key = base64.b64encode(bytes(range(32))).decode()
    secrets = load_or_create_secrets(tmp_path / "absent", "configured", server_key)
    assert (secrets.secret_key, secrets.server_key) == ("configured", bytes(range(32)))
    assert not (tmp_path / "absent").exists()
