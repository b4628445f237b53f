"""Web workers pinned one per CPU: the choice, and the setting that turns it off."""

from __future__ import annotations

import pytest

from config.settings import SettingsError, load_settings
from crashsvc.cpu_pinning import choose_cpu, pin_web_worker


def test_workers_starting_together_spread_over_the_cpus_by_age():
    assert {choose_cpu([0, 1], [], age) for age in (1, 2)} == {0, 1}


def test_a_worker_takes_the_cpu_its_siblings_left_free():
    assert choose_cpu([0, 1], [1], age=1) == 0
    assert choose_cpu([0, 1], [0], age=2) == 1
    # A replacement worker (higher age) fills the hole a dead one left, whatever its age.
    assert choose_cpu([0, 1, 2, 3], [0, 1, 3], age=7) == 2


def test_more_workers_than_cpus_share_them_evenly():
    assert choose_cpu([0, 1], [0, 1, 0], age=4) == 1


def test_pins_outside_the_allowed_cpus_are_ignored():
    assert choose_cpu([2, 3], [0, 1, 2], age=1) == 3


def test_off_or_fewer_workers_than_cpus_pin_nothing():
    assert pin_web_worker("off", 64, 1, 1) is None
    assert pin_web_worker("auto", 0, 1, 1) is None


def test_the_setting_takes_auto_or_off_only():
    assert load_settings({}).web_cpu_affinity == "auto"
    assert load_settings({"WEB_CPU_AFFINITY": "OFF"}).web_cpu_affinity == "off"
    with pytest.raises(SettingsError):
        load_settings({"WEB_CPU_AFFINITY": "sometimes"})
