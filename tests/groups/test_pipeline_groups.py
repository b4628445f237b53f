"""Reports posted to the edge and processed by a real worker land in the right groups, counted exactly."""

from __future__ import annotations

from tests.groups.conftest import today, variant


def test_one_bug_across_versions_os_and_devices_is_one_group(world):
    f = world.factory
    on_ipad = variant(
        f, app_version="2.10.0", os_version="18.0", device_model="iPad13,1", install="install-3"
    )
    on_ipad["os"]["name"] = "iPadOS"
    world.process(
        variant(f, app_version="2.4.1", os_version="17.5.1", device_model="iPhone15,2", install="install-1"),
        variant(f, app_version="2.4.1", os_version="17.5.1", device_model="iPhone15,2", install="install-1"),
        variant(f, app_version="2.5.0", os_version="18.0", device_model="iPhone16,1", install="install-2"),
        on_ipad,
    )
    [group] = world.groups()
    assert group["count"] == 4
    assert group["affected_installs"] == 3  # two reports from install-1 count it once
    assert group["daily_14d"][-1] == 4 and sum(group["daily_14d"]) == 4 and len(group["daily_14d"]) == 14
    assert group["platform"] == "cocoa"

    detail = world.api.get(f"/groups/{group['id']}").get_json()
    assert detail["breakdowns"]["app_version"] == [
        {"value": "2.4.1", "count": 2},
        {"value": "2.10.0", "count": 1},
        {"value": "2.5.0", "count": 1},
    ]
    assert detail["breakdowns"]["os_name"] == [{"value": "iOS", "count": 3}, {"value": "iPadOS", "count": 1}]
    assert detail["breakdowns"]["os_version"] == [
        {"value": "17.5.1", "count": 2},
        {"value": "18.0", "count": 2},
    ]
    assert {entry["value"] for entry in detail["breakdowns"]["device_model"]} == {
        "iPhone15,2",
        "iPhone16,1",
        "iPad13,1",
    }
    assert detail["daily"][-1] == {"day": today(), "count": 4}
    assert len(detail["samples"]) == 4
    assert detail["explanation"], "the latest report's explanation says why the signature is what it is"


def test_different_bugs_are_different_groups(world):
    f = world.factory
    world.process(variant(f, bug="A"), variant(f, bug="B"), variant(f, bug="B"))
    counts = sorted((g["exception_type"], g["count"]) for g in world.groups())
    assert counts == [("EXC_BUG_B", 2), ("EXC_CRASH", 1)]


def test_resolved_group_regresses_on_a_new_report(world):
    f = world.factory
    world.process(variant(f))
    [group] = world.groups()
    assert world.api.post(f"/groups/{group['id']}/status", {"status": "resolved"}).status_code == 200
    world.process(variant(f))
    [group] = world.groups()
    assert group["status"] == "regressed"
    history = world.api.get(f"/groups/{group['id']}").get_json()["history"]
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [
        ("resolved", "unresolved", "resolved"),
        ("regressed", "resolved", "regressed"),
    ]
    assert history[0]["user_id"] == world.admin.id and history[1]["user_id"] is None


def test_resolved_in_version_regresses_only_for_later_versions(world):
    f = world.factory
    world.process(variant(f, app_version="2.9.0"))
    [group] = world.groups()
    response = world.api.post(
        f"/groups/{group['id']}/status", {"status": "resolved", "resolved_in_version": "2.10"}
    )
    assert response.get_json()["resolved_in_version"] == "2.10"
    world.process(variant(f, app_version="2.9.5"), variant(f, app_version="2.10.0"))  # old builds still crash
    assert world.groups()[0]["status"] == "resolved"
    world.process(variant(f, app_version="2.11"))
    [group] = world.groups()
    assert (group["status"], group["count"]) == ("regressed", 4)
    history = world.api.get(f"/groups/{group['id']}").get_json()["history"]
    assert history[-1]["action"] == "regressed"
    assert history[-1]["detail"]["app_version"] == "2.11"


def test_ignored_group_stays_ignored(world):
    f = world.factory
    world.process(variant(f))
    [group] = world.groups()
    world.api.post(f"/groups/{group['id']}/status", {"status": "ignored"})
    world.process(variant(f))
    assert [(g["status"], g["count"]) for g in world.groups(status="ignored")] == [("ignored", 2)]
