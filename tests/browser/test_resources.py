"""Every page's resources load, the app's icon among them: browsers ask for /favicon.ico on
pages that name no icon of their own (the Django admin's)."""

import pytest

pytestmark = pytest.mark.browser


def test_every_page_s_resources_load(login, app_url):
    page = login("admin")
    failed = []
    page.on("response", lambda response: response.status < 400 or failed.append(response.url))
    # Not those the next page's load cut short (net::ERR_ABORTED): the icon, as a rule.
    page.on(
        "requestfailed",
        lambda request: request.failure == "net::ERR_ABORTED" or failed.append(request.url),
    )
    for path in [
        "/broadcasts/insights/", "/contacts/", "/contacts/1/", "/contacts/import/",
        "/broadcasts/", "/messaging/outbox/", "/admin/", "/admin/contacts/contact/",
    ]:  # fmt: skip
        page.goto(app_url + path)
        page.wait_for_load_state("networkidle")
    assert failed == []
    icon = page.request.get(f"{app_url}/favicon.ico")
    assert icon.ok and icon.headers["content-type"] == "image/svg+xml"
