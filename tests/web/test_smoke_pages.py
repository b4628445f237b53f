"""Every page renders for a signed-in member (fast checks before the browser scenario)."""

from __future__ import annotations

from tests.web.conftest import sign_in


def test_pages_render_for_a_developer(web):
    client = web["client"]
    response = sign_in(client, "developer@example.com")
    assert response.status_code == 302
    app_id, group_id = web["app"].id, web["group_id"]
    for path in (
        "/",
        f"/apps/{app_id}",
        f"/apps/{app_id}/groups",
        f"/groups/{group_id}",
        f"/reports/{web['report_id']}",
        "/account/tokens",
    ):
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:2000])
        assert "text/html" in response.content_type
