"""The embedded Valkey's CPU priority: raised where the OS allows, never a reason not to start."""

from __future__ import annotations

import os

import pytest

from config.settings import SettingsError, load_settings
from crashsvc import valkey as valkey_module
from crashsvc.valkey import EmbeddedValkey

can_raise_priority = os.geteuid() == 0


@pytest.fixture
def stopped_after():
    servers: list[EmbeddedValkey] = []
    yield servers.append
    for server in servers:
        server.stop()


@pytest.mark.skipif(not can_raise_priority, reason="raising a priority needs root or CAP_SYS_NICE")
def test_the_event_loop_runs_at_the_configured_priority(tmp_path, stopped_after):
    server = EmbeddedValkey(tmp_path / "valkey", nice=-10)
    stopped_after(server)
    server.start()
    assert server.priority() == -10


def test_without_a_nice_value_the_priority_is_left_alone(tmp_path, stopped_after):
    server = EmbeddedValkey(tmp_path / "valkey")
    stopped_after(server)
    server.start()
    assert server.priority() == os.getpriority(os.PRIO_PROCESS, 0)


def test_a_refused_priority_still_starts_valkey(tmp_path, stopped_after, monkeypatch, caplog):
    def refuse(*_args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(valkey_module.os, "setpriority", refuse)
    server = EmbeddedValkey(tmp_path / "valkey", nice=-10)
    stopped_after(server)
    with caplog.at_level("INFO", logger="crashsvc.valkey"):
        server.start()
    assert server.priority() == os.getpriority(os.PRIO_PROCESS, 0)
    assert "not permitted" in caplog.text


def test_the_setting_is_validated_by_name():
    assert load_settings({}, environ={}).embedded_valkey_nice == -10
    assert load_settings({}, environ={"CRASHSVC_EMBEDDED_VALKEY_NICE": "5"}).embedded_valkey_nice == 5
    with pytest.raises(SettingsError, match="EMBEDDED_VALKEY_NICE"):
        load_settings({}, environ={"CRASHSVC_EMBEDDED_VALKEY_NICE": "-30"})
