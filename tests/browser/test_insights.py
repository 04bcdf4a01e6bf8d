"""The Insights page in a real Chromium: the first page after logging in, its charts drawn
(SVG, within the Content-Security-Policy), a group's link leading to its contacts, and a
chart's numbers downloaded as CSV."""

import csv
import io

import pytest
from playwright.sync_api import expect

from tests.browser.test_security import watch

pytestmark = pytest.mark.browser


def test_a_manager_lands_on_the_charts_and_downloads_their_numbers(login, app_url):
    page = login("manager")  # the login lands on Insights (the fixture waits for it)
    seen = watch(page)
    page.goto(f"{app_url}/broadcasts/insights/")
    expect(page.get_by_role("heading", name="Insights", level=1)).to_be_visible()
    # Each chart is drawn, with its bars, and named for screen readers.
    for name in ["SMS: who may be reached now", "Calls & Voicemails: who may be reached now",
                 "Opt-outs a day by source, and the contacts' re-subscriptions"]:  # fmt: skip
        chart = page.get_by_role("img", name=name)
        expect(chart).to_be_visible()
        assert chart.bounding_box()["width"] > 300
        assert chart.locator("rect").count() > 4
    # The demo's seed opted contacts out today: the day's row and the chart show them.
    totals = page.locator(".insight-numbers").filter(has_text="In total")
    stop_total = int(totals.locator("tr.source-stop td").inner_text())
    assert stop_total > 0
    # Re-subscriptions are no opt-outs: they have a heading of their own.
    expect(totals.locator("thead th").first).to_have_text("Opt-outs, by source")
    resubscribed = totals.locator("tbody.resubscriptions")
    expect(resubscribed.locator("th").first).to_have_text("Re-subscriptions")
    expect(resubscribed.locator("tr.source-resubscribed th")).to_have_text("By the contact")
    assert seen["violations"] == [] and seen["dialogs"] == []

    with page.expect_download() as download:
        page.locator("#opt-outs-title ~ p a", has_text="Download as CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert rows[0][:2] == ["day", "STOP reply"]
    assert len(rows) == 91  # the header and 90 days
    assert sum(int(row[1]) for row in rows[1:]) == stop_total

    # A group's number leads to the Contacts table filtered to it.
    page.locator("figure").filter(has_text="SMS").get_by_role(
        "link", name="Opted out (hard)"
    ).click()
    expect(page).to_have_url(f"{app_url}/contacts/?sms=hard")
    expect(page.locator("#id_sms")).to_have_value("hard")
