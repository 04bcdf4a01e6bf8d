"""Importing a file from another system in a real Chromium, as an Admin does it."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

FILE = b"Who,Number,Remarks\nBrowser Mapped,415.555.0177,met at the fair\n"


def test_an_admin_matches_odd_columns_then_imports_the_file(login, app_url):
    page = login("admin")
    page.goto(f"{app_url}/contacts/import/")
    page.set_input_files(
        "#id_file", files=[{"name": "other-crm.csv", "mimeType": "text/csv", "buffer": FILE}]
    )
    page.get_by_role("button", name="Check the file").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("other-crm.csv: match the columns")
    expect(page.locator("main")).to_contain_text("met at the fair")
    page.get_by_label("Number").select_option(label="Phone")
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator(".errorlist")).to_contain_text("Choose the column that holds the names")

    page.get_by_label("Who").select_option(label="Name")
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("other-crm.csv: 1 row ready")
    expect(page.locator("main")).to_contain_text("1 new contact to create, 0 contacts to update.")
    expect(page.locator("main")).to_contain_text("Ignored columns: remarks.")
    page.get_by_role("button", name="Import 1 row").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("other-crm.csv: imported")
    expect(page.locator(".success")).to_contain_text("1 created, 0 updated")

    # Leave the demo data as it was.
    page.goto(f"{app_url}/contacts/?q=Browser+Mapped")
    page.get_by_role("link", name="Browser Mapped").first.click()
    expect(page.locator(".details")).to_contain_text("(415) 555-0177")
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("button", name="Yes, delete Browser Mapped").click()
    expect(page).to_have_url(f"{app_url}/contacts/")
