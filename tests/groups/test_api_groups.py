"""Every group endpoint: what it answers, and who may not (401 without token, 403 viewer or scope, 404 outsider)."""

from __future__ import annotations

import pytest

from tests.groups.conftest import Api, variant


@pytest.fixture
def two_groups(world):
    f = world.factory
    world.process(variant(f, bug="A"), variant(f, bug="A"), variant(f, bug="B", app_version="3.0"))
    groups = {g["exception_type"]: g for g in world.groups()}
    return groups["EXC_CRASH"], groups["EXC_BUG_B"]


def test_list_filters_sorts_and_searches(world, two_groups):
    a, b = two_groups
    ids = lambda **params: [g["id"] for g in world.groups(**params)]  # noqa: E731
    assert ids(sort="count") == [a["id"], b["id"]]
    assert ids(app_version="3.0") == [b["id"]]
    assert ids(os_version="17.5.1", sort="count") == [a["id"], b["id"]]
    assert ids(os="iOS", platform="cocoa", sort="count") == [a["id"], b["id"]]
    assert ids(q="exc_bug") == [b["id"]]
    assert ids(q="unexpectedly found nil", sort="count") == [a["id"], b["id"]]  # the exception message
    assert ids(q="100%_") == []
    assert ids(since="2000-01-01", until="2000-01-02") == []
    assert ids(status="resolved") == []
    response = world.api.get(f"/apps/{world.app_row.id}/groups", limit=1, offset=1, sort="affected_installs")
    assert (response.get_json()["total"], len(response.get_json()["groups"])) == (2, 1)
    for bad in ({"sort": "nope"}, {"limit": "x"}, {"since": "yesterday"}):
        assert (
            world.api.get(f"/apps/{world.app_row.id}/groups", **bad).get_json()["error"]["code"]
            == "invalid_query"
        )
    assert (
        world.api.get(f"/apps/{world.app_row.id}/groups", status="x").get_json()["error"]["code"]
        == "invalid_status"
    )


def test_os_filter_follows_the_reports_that_remain(world):
    # The OS filter reads the os_name breakdown (no index on the reports): deleting the group's
    # only iPadOS report takes the group out of the iPadOS list, and only out of that one.
    f = world.factory
    world.send(variant(f))
    on_ipad = variant(f)
    on_ipad["os"]["name"] = "iPadOS"
    accepted = world.client.post(
        "/api/v1/reports", json=on_ipad, headers={"X-Crashsvc-Key": world.app_row.ingest_key}
    )
    assert accepted.status_code == 202
    f.process_queue()
    [group] = world.groups()
    ids = lambda **params: [g["id"] for g in world.groups(**params)]  # noqa: E731
    assert ids(os="iPadOS") == ids(os_name="iOS") == [group["id"]]
    deleted = world.client.delete(
        f"/api/v1/reports/{accepted.get_json()['id']}",
        headers={"X-Crashsvc-Delete-Token": accepted.get_json()["delete_token"]},
    )
    assert deleted.status_code == 204
    assert ids(os="iPadOS") == []
    assert ids(os="iOS") == [group["id"]]


def test_status_bulk_status_and_notes(world, two_groups):
    a, b = two_groups
    bad = world.api.post(f"/groups/{a['id']}/status", {"status": "fixed"})
    assert (bad.status_code, bad.get_json()["error"]["code"]) == (400, "invalid_status")
    bad = world.api.post(f"/groups/{a['id']}/status", {"status": "ignored", "resolved_in_version": "1"})
    assert bad.get_json()["error"]["code"] == "invalid_status"
    response = world.api.post(
        f"/apps/{world.app_row.id}/groups/bulk-status", {"group_ids": [a["id"], b["id"]], "status": "ignored"}
    )
    assert [g["status"] for g in response.get_json()["groups"]] == ["ignored", "ignored"]
    assert (
        world.api.post(
            f"/apps/{world.app_row.id}/groups/bulk-status",
            {"group_ids": [a["id"], 99999], "status": "resolved"},
        ).status_code
        == 404
    )
    assert (
        world.api.post(
            f"/apps/{world.app_row.id}/groups/bulk-status", {"group_ids": "all", "status": "resolved"}
        ).get_json()["error"]["code"]
        == "invalid_request"
    )

    note = world.api.post(f"/groups/{a['id']}/notes", {"text": "  Fixed by #123  "})
    assert note.status_code == 201 and note.get_json()["text"] == "Fixed by #123"
    assert (
        world.api.post(f"/groups/{a['id']}/notes", {"text": " "}).get_json()["error"]["code"]
        == "invalid_note"
    )
    assert world.api.post(f"/groups/{a['id']}/notes", ["x"]).get_json()["error"]["code"] == "invalid_json"
    detail = world.api.get(f"/groups/{a['id']}").get_json()
    assert [n["text"] for n in detail["notes"]] == ["Fixed by #123"]
    assert detail["history"][-1]["detail"] == {"via": "api"}


def test_merge_and_unmerge_endpoints(world, two_groups):
    a, b = two_groups
    merged = world.api.post(f"/groups/{a['id']}/merge", {"source_ids": [b["id"]]})
    assert merged.status_code == 200 and merged.get_json()["count"] == 3
    assert [g["id"] for g in world.groups()] == [a["id"]]
    again = world.api.post(f"/groups/{b['id']}/status", {"status": "resolved"})
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "group_merged")
    assert world.api.post(f"/groups/{a['id']}/merge", {"source_ids": [a["id"]]}).get_json()["error"][
        "code"
    ] == ("invalid_merge")
    restored = world.api.post(f"/groups/{a['id']}/unmerge")
    assert [g["count"] for g in restored.get_json()["restored"]] == [1]
    assert restored.get_json()["count"] == 2
    nothing = world.api.post(f"/groups/{a['id']}/unmerge")
    assert (nothing.status_code, nothing.get_json()["error"]["code"]) == (409, "not_merged")


CHANGES = [
    ("/groups/{a}/status", {"status": "resolved"}),
    ("/apps/{app}/groups/bulk-status", {"group_ids": ["{a}"], "status": "resolved"}),
    ("/groups/{a}/notes", {"text": "hi"}),
    ("/groups/{a}/merge", {"source_ids": ["{b}"]}),
    ("/groups/{a}/unmerge", None),
]
READS = ["/apps/{app}/groups", "/groups/{a}"]


def _fill(template, values):
    if isinstance(template, str):
        text = template.format(**values)
        return int(text) if text.isdigit() and template.startswith("{") else text
    if isinstance(template, list):
        return [_fill(item, values) for item in template]
    if isinstance(template, dict):
        return {key: _fill(value, values) for key, value in template.items()}
    return template


def test_authorisation_on_every_endpoint(world, two_groups):
    a, b = two_groups
    values = {"a": a["id"], "b": b["id"], "app": world.app_row.id}
    nobody = Api(world.client, "csvc_not-a-token")
    outsider = world.api_for(None)
    viewer = world.api_for("viewer")
    read_only_developer = world.api_for("developer", scopes="read")
    for path in READS:
        path = path.format(**values)
        assert nobody.get(path).status_code == 401
        assert outsider.get(path).status_code == 404
        assert viewer.get(path).status_code == 200
        assert world.api_for("viewer", scopes="write").get(path).status_code == 403
    for path, body in CHANGES:
        path, body = path.format(**values), _fill(body, values)
        assert nobody.post(path, body).status_code == 401, path
        assert outsider.post(path, body).status_code == 404, path
        assert viewer.post(path, body).get_json()["error"]["code"] == "forbidden", path
        assert read_only_developer.post(path, body).status_code == 403, path
    assert world.api.get("/groups/999999").status_code == 404
    developer = world.api_for("developer")
    assert developer.post(f"/groups/{a['id']}/status", {"status": "resolved"}).status_code == 200
    other_app = world.factory.app_row()
    world.factory.member(developer_user := world.factory.user(), other_app, "developer")
    assert developer_user  # a developer elsewhere is an outsider here
    assert (
        Api(world.client, world.factory.token(developer_user))
        .post(f"/groups/{a['id']}/notes", {"text": "x"})
        .status_code
        == 404
    )
