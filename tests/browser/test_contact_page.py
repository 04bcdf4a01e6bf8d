"""The contact page in a real Chromium."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_opt_in_card_says_each_status_in_words_and_keeps_them_in_place(login, app_url):
    page = login("admin")
    page.goto(f"{app_url}/contacts/?q=Contact+B")
    page.get_by_role("link", name="Contact B", exact=True).click()
    card = page.locator(".card", has=page.get_by_role("heading", name="Opt-In Status"))
    words = card.locator(".opt-in-words")
    expect(words.first).to_have_text(
        re.compile(r"^SMS: Subscribed — agreed on paper or in person on")
    )
    before = words.all_inner_texts()

    card.get_by_label("SMS: subscribed", exact=True).click()
    page.get_by_role("button", name="Unsubscribe from SMS").click()
    expect(words.first).to_have_text(
        re.compile(r"^SMS: Opted out \(soft\) — by admin on \d{1,2} [A-Z][a-z]{2} \d{4}$")
    )
    # The page is read again, its history too, and says what changed.
    expect(page.locator(".messagelist")).to_contain_text("Contact B: unsubscribed from SMS.")
    expect(page.locator(".timeline-card")).to_contain_text("SMS: Subscribed → Opted out (soft)")

    card.get_by_label("SMS: opted out (soft)", exact=True).click()
    page.get_by_role("button", name="Resubscribe to SMS").click()
    expect(words).to_have_text(before)
