"""The triage scenario in a real browser: sign in, overview, filter and search, a group's stack,
resolve, a new report regresses it, sign out; a viewer cannot triage; others' groups are 404."""

from __future__ import annotations

import re

import pytest

from tests.web.browser import browser_page, screenshot  # noqa: F401 - fixture
from tests.web.conftest import PASSWORD, group_of, send_report

pytestmark = pytest.mark.browser


def variant(factory, exception_type: str, message: str, function: str, version: str = "2.4.1") -> dict:
    """The iOS sample with another exception and other in-app function names: another group."""
    report = factory.report()
    report["exception"] = {**report["exception"], "type": exception_type, "value": message}
    report["app"] = {**report["app"], "version": version}
    for frame in report["threads"][0]["frames"]:
        if frame.get("in_app"):
            frame["function"] = function
    return report


@pytest.fixture
def triage_world(live_server, edge_app, edge_client, edge_factory):
    app_row = edge_factory.app_row(name="Shop iOS")
    other = edge_factory.app_row(name="Secret app")
    developer = edge_factory.user(email="dev@example.com")
    viewer = edge_factory.user(email="viewer@example.com")
    edge_factory.member(developer, app_row, "developer")
    edge_factory.member(viewer, app_row, "viewer")
    nil_crash = send_report(edge_client, edge_factory, app_row)
    send_report(edge_client, edge_factory, app_row)
    other_report = variant(
        edge_factory,
        "NSRangeException",
        "index 7 beyond bounds [0 .. 2]",
        "MyApp.CartViewController.removeItem(at:)",
    )
    send_report(edge_client, edge_factory, app_row, **other_report)
    secret_report = send_report(edge_client, edge_factory, other)
    return {
        "app": app_row,
        "nil_group": group_of(edge_factory, nil_crash),
        "secret_group": group_of(edge_factory, secret_report),
        "url": live_server.url,
        "client": edge_client,
        "factory": edge_factory,
    }


def sign_in(page, base: str, email: str, path: str = "/") -> None:
    page.goto(base + path)
    page.wait_for_url(re.compile(r"/login"))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_developer_triages_a_crash_end_to_end(browser_page, triage_world):  # noqa: F811
    page, base, world = browser_page, triage_world["url"], triage_world
    app_id, group_id = world["app"].id, world["nil_group"]

    sign_in(page, base, "dev@example.com", f"/apps/{app_id}")
    page.wait_for_url(re.compile(rf"/apps/{app_id}$"))
    assert page.text_content("[data-testid=kpi-reports]").strip() == "3"
    assert page.locator("[data-testid=top-groups] li").count() == 2
    assert page.locator("svg.bars rect.bar").count() == 30
    screenshot(page, "01-overview")

    page.click("nav.tabs >> text=Crash groups")
    page.wait_for_url(re.compile(rf"/apps/{app_id}/groups"))
    assert page.locator("[data-testid=group-table] tbody tr[data-group-id]").count() == 2
    page.select_option("select[name=status]", "unresolved")  # app.js submits on change
    page.wait_for_url(re.compile(r"status=unresolved"))
    page.fill("input[name=q]", "unwrapping an Optional")
    page.click("form[data-testid=filters] button[type=submit]")
    page.wait_for_url(re.compile(r"q=unwrapping"))
    rows = page.locator("[data-testid=group-table] tbody tr[data-group-id]")
    assert rows.count() == 1 and rows.first.get_attribute("data-group-id") == str(group_id)
    assert page.locator("svg.spark").count() == 1
    screenshot(page, "02-group-list-filtered")

    rows.first.locator("a.group-link").click()
    page.wait_for_url(re.compile(rf"/groups/{group_id}$"))
    stack = page.locator("[data-testid=stack]")
    in_app = stack.locator("li.frame.in-app .fn")
    assert "ProfileViewController.loadAvatar" in in_app.first.text_content()
    system_run = stack.locator("li.frame-run details").first
    assert not system_run.evaluate("element => element.open")  # system frames start folded
    system_run.locator("summary").click()
    assert system_run.evaluate("element => element.open")
    assert "__pthread_kill" in system_run.text_content()
    assert page.locator("[data-testid=breakdown-app_version]").text_content().count("2.4.1") == 1
    screenshot(page, "03-group-detail")

    page.click("text=Full report, all threads")
    page.wait_for_url(re.compile(r"/reports/"))
    assert "ProfileViewController.loadAvatar" in page.text_content("li.frame.in-app .fn")
    assert page.locator("[data-testid=pipeline-notes] tbody tr").count() >= 1  # what the anonymizer did
    assert "Alice" not in page.content()  # the device name was scrubbed before storage
    screenshot(page, "03b-report")
    page.go_back()

    page.click("[data-testid=status-actions] button[value=resolve].primary")
    page.wait_for_url(re.compile(rf"/groups/{group_id}$"))
    assert page.text_content("h1 .status").strip() == "resolved"
    assert "resolved" in page.text_content("[data-testid=history]")

    send_report(world["client"], world["factory"], world["app"])  # the crash comes back
    page.reload()
    assert page.text_content("h1 .status").strip() == "regressed"
    assert "automatic" in page.text_content("[data-testid=history]")
    page.fill("textarea[name=text]", "Came back in 2.4.1 — looking at the avatar cache.")
    page.click("#notes button[type=submit]")
    assert "avatar cache" in page.text_content("[data-testid=notes]")
    screenshot(page, "04-group-regressed")

    page.click("header.topbar button:has-text('Sign out')")
    page.wait_for_url(re.compile(r"/login"))
    page.goto(f"{base}/groups/{group_id}")
    page.wait_for_url(re.compile(r"/login\?next="))
    assert page.console_errors == []


def test_viewer_reads_but_cannot_triage_and_others_groups_are_404(browser_page, triage_world):  # noqa: F811
    page, base, world = browser_page, triage_world["url"], triage_world
    group_id = world["nil_group"]
    sign_in(page, base, "viewer@example.com", f"/groups/{group_id}")
    page.wait_for_url(re.compile(rf"/groups/{group_id}$"))
    assert page.locator("[data-testid=stack] li.frame.in-app").count() >= 1
    assert page.locator("[data-testid=status-actions]").count() == 0
    assert page.locator("textarea[name=text]").count() == 0
    # Even a hand-made request with a valid CSRF token is refused for the viewer's role.
    status = page.evaluate(
        """async ([groupId]) => {
            const token = document.querySelector('input[name=csrf_token]').value;
            const body = new URLSearchParams({csrf_token: token, action: 'resolve'});
            const response = await fetch(`/groups/${groupId}/status`, {method: 'POST', body});
            return response.status;
        }""",
        [group_id],
    )
    assert status == 403
    screenshot(page, "05-viewer-group")

    response = page.goto(f"{base}/groups/{world['secret_group']}")
    assert response.status == 404
    assert "Not found" in page.text_content("h1")
    assert "Secret app" not in page.content()
    screenshot(page, "06-other-apps-group-404")
