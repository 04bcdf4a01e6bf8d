"""Adding and deleting a contact in a real Chromium, as an Admin does it."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_an_admin_creates_a_contact_then_deletes_it(login, app_url):
    page = login("admin")
    page.get_by_role("link", name="New contact").click()
    page.get_by_label("Name").fill("Browser Newcomer")
    page.get_by_label("Phone").fill("415.555.0188")
    page.get_by_label("VIP").check()
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Browser Newcomer")
    expect(page.locator(".messagelist")).to_have_text("Browser Newcomer: created.")
    expect(page.locator(".details")).to_contain_text("(415) 555-0188 +14155550188")

    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete Browser Newcomer?")
    expect(page.locator("main")).to_contain_text("Its tags: VIP.")
    expect(page.locator("main")).to_contain_text("(415) 555-0188 has no hard opt-out now.")
    page.get_by_role("button", name="Yes, delete Browser Newcomer").click()

    expect(page).to_have_url(f"{app_url}/contacts/")
    expect(page.locator(".messagelist")).to_have_text(
        "Browser Newcomer, (415) 555-0188: deleted. The number's opt-outs and the consent "
        "history are kept."
    )
    page.goto(f"{app_url}/contacts/?q=Browser+Newcomer")
    expect(page.locator("td.empty")).to_have_text("No contact matches these filters.")
