"""Crash content is attacker-controlled: hostile strings in every displayed field stay text."""

from __future__ import annotations

import re

import pytest

from tests.web.browser import browser_page  # noqa: F401 - fixture
from tests.web.conftest import group_of, send_report, sign_in

SCRIPT = "<script>alert('fn')</script>"
IMG = '"><img src=x onerror=alert(1)>'
SVG = 'javascript:alert(2)//"><svg onload=alert(3)>'
RAW_MARKUP = (
    "<script>alert",
    "<img src=x",
    "<svg onload",
    "<iframe",
    "<b>bold",
    'href="javascript:',
    "onerror=alert(1)>",
    "<marquee",
)


def hostile_report(factory) -> dict:
    report = factory.report()
    report["exception"] = {**report["exception"], "type": "<script>alert('type')</script>", "value": IMG}
    report["app"] = {**report["app"], "version": '2.4"><b>bold</b>'}
    report["device"] = {**report["device"], "model": "<iframe src=javascript:alert(4)>"}
    for frame in report["threads"][0]["frames"]:
        if frame.get("in_app"):
            frame["function"] = SCRIPT
            frame["filename"] = SVG
        else:
            frame["function"] = "<marquee>sys</marquee>"
    report["breadcrumbs"] = [
        {
            "timestamp": "2026-11-28T14:37:00Z",
            "category": "javascript:alert(5)",
            "level": "<i>info</i>",
            "message": IMG,
            "type": "default",
        }
    ]
    for image in report.get("images") or []:
        image["code_file"] = "<iframe src=javascript:alert(6)>"
    return report


@pytest.fixture
def hostile(web):
    factory, client = web["factory"], web["client"]
    report_id = send_report(client, factory, web["app"], **hostile_report(factory))
    return {**web, "hostile_report": report_id, "hostile_group": group_of(factory, report_id)}


def _pages(world) -> list[str]:
    app_id = world["app"].id
    return [
        f"/apps/{app_id}",
        f"/apps/{app_id}/groups",
        f"/apps/{app_id}/groups?q=%3Cscript%3E",
        f"/groups/{world['hostile_group']}",
        f"/reports/{world['hostile_report']}",
        f"/apps/{app_id}/settings",
    ]


def test_hostile_report_fields_are_escaped_on_every_page(hostile):
    client = hostile["client"]
    factory = hostile["factory"]
    admin = factory.user(email="root@example.com", admin=True)
    assert admin.is_admin
    sign_in(client, "root@example.com")
    for path in _pages(hostile):
        html = client.get(path).get_data(as_text=True)
        for markup in RAW_MARKUP:
            assert markup not in html, (path, markup)
    report_html = client.get(f"/reports/{hostile['hostile_report']}").get_data(as_text=True)
    # The values are shown — as text.
    assert "&lt;script&gt;alert(&#39;fn&#39;)&lt;/script&gt;" in report_html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in report_html
    group_html = client.get(f"/groups/{hostile['hostile_group']}").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;fn&#39;)&lt;/script&gt;" in group_html
    assert not re.search(r"<a [^>]*href=\"(?!/|#)", report_html + group_html)  # every link is ours


def test_search_text_is_escaped_in_the_form(hostile):
    client = hostile["client"]
    sign_in(client, "developer@example.com")
    html = client.get(f"/apps/{hostile['app'].id}/groups?q=%22%3E%3Cscript%3Ealert(9)%3C/script%3E").get_data(
        as_text=True
    )
    assert "<script>alert(9)" not in html and "&lt;script&gt;alert(9)" in html


@pytest.mark.browser
def test_no_hostile_payload_runs_in_a_real_browser(browser_page, hostile, live_server):  # noqa: F811
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(live_server.url + "/login")
    page.fill("input[name=email]", "developer@example.com")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    for path in _pages(hostile)[:5]:
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        for details in page.locator("details").all():
            if details.is_visible():
                details.locator("summary").first.click()
        assert page.locator("img[src=x], iframe, marquee, svg[onload]").count() == 0, path
    assert dialogs == []
