"""The Contacts table in a real Chromium, as staff and admins use it."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_the_opt_in_status_column_shows_by_default(login):
    page = login("staff")
    expect(page.locator("th.column-opt_in summary")).to_have_text("Opt-In Status ▾")
    expect(page.locator("td.opt-in-cell .opt-in-icon").first).to_be_visible()


def test_the_opt_in_header_filters_the_table_by_a_channel(login):
    page = login("staff")
    page.locator("th.column-opt_in summary").click()
    page.locator("th.column-opt_in li").filter(has_text="Opted out (hard)").first.click()
    expect(page).to_have_url(re.compile(r"[?&]sms=hard"))
    expect(page.locator('[aria-label="SMS: opted out (hard)"]').first).to_be_visible()
    expect(page.locator('[aria-label="SMS: subscribed"]')).to_have_count(0)


@pytest.mark.parametrize(
    ("search", "name", "text"),
    [
        ("?q=Contact+B", "SMS: subscribed", "Subscribed to SMS"),
        ("?q=Contact+A", "SMS: opted out (soft)", "Opted out of SMS: by admin on"),
        ("?sms=hard", "SMS: opted out (hard)", "Opted out of SMS: replied “STOP” on"),
        ("?calls=hard", "Calls & Voicemails: opted out (hard)",
         "Opted out of Calls & Voicemails: pressed the unsubscribe digit on"),
    ],
)  # fmt: skip
def test_hovering_an_icon_shows_its_tooltip(login, app_url, search, name, text):
    page = login("staff")
    page.goto(f"{app_url}/contacts/{search}")
    icon = page.get_by_role("img", name=name, exact=True).first
    tooltip = page.locator(f"#{icon.get_attribute('aria-describedby')}")
    expect(tooltip).to_be_hidden()
    icon.hover()
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(text)
    if name.startswith("SMS: opted out (hard)"):
        expect(tooltip).to_contain_text("It ends when the number replies START.")
    if name.startswith("Calls & Voicemails: opted out (hard)"):
        expect(tooltip).to_contain_text("It ends when a call from the number presses 1.")


def test_keyboard_focus_shows_the_tooltip_too(login, app_url):
    page = login("staff")
    page.goto(f"{app_url}/contacts/?q=Contact+A")
    icon = page.get_by_role("img", name="SMS: opted out (soft)", exact=True)
    icon.focus()
    expect(page.locator(f"#{icon.get_attribute('aria-describedby')}")).to_be_visible()


def test_the_hard_icon_is_red_and_marked_and_the_soft_one_only_greyed(login, app_url):
    page = login("staff")
    page.goto(f"{app_url}/contacts/?sms=hard")
    hard = page.get_by_role("img", name="SMS: opted out (hard)", exact=True).first
    assert hard.evaluate("e => getComputedStyle(e).outlineColor") == "rgb(186, 33, 33)"
    assert hard.evaluate("e => getComputedStyle(e, '::after').content") == '"✕"'
    page.goto(f"{app_url}/contacts/?q=Contact+A")
    soft = page.get_by_role("img", name="SMS: opted out (soft)", exact=True)
    assert soft.evaluate("e => getComputedStyle(e).outlineStyle") == "none"
    assert soft.evaluate("e => getComputedStyle(e, '::after').content") == "none"
    glyph_filter = soft.locator(".glyph").evaluate("e => getComputedStyle(e).filter")
    assert "grayscale" in glyph_filter


def test_an_admin_unsubscribes_and_resubscribes_in_place(login, app_url):
    page = login("admin")
    page.goto(f"{app_url}/contacts/?q=Contact+B")
    page.evaluate("window.stillTheSamePage = true")
    cell = page.locator("td.opt-in-cell")

    cell.get_by_label("SMS: subscribed", exact=True).click()
    page.get_by_role("button", name="Unsubscribe from SMS").click()
    expect(cell.get_by_label("SMS: opted out (soft)", exact=True)).to_be_visible()
    expect(cell).to_contain_text("Contact B: unsubscribed from SMS.")

    cell.get_by_label("SMS: opted out (soft)", exact=True).click()
    page.get_by_role("button", name="Resubscribe to SMS").click()
    expect(cell.get_by_label("SMS: subscribed", exact=True)).to_be_visible()
    expect(cell).to_contain_text("Contact B: resubscribed to SMS.")
    assert page.evaluate("window.stillTheSamePage") is True


def test_a_hard_opt_out_offers_no_action_only_the_reason(login, app_url):
    page = login("admin")
    page.goto(f"{app_url}/contacts/?sms=hard")
    page.get_by_label("SMS: opted out (hard)", exact=True).first.click()
    menu = page.locator("details[open] .opt-in-menu")
    expect(menu).to_contain_text("nobody here can lift it")
    expect(menu.get_by_role("button")).to_have_count(0)


def test_a_hidden_column_stays_hidden_after_a_reload(login):
    page = login("manager")

    def show_opt_in(checked: bool) -> None:
        page.get_by_text("Columns", exact=True).click()
        page.get_by_label("Opt-In Status").set_checked(checked)
        page.get_by_role("button", name="Save columns").click()

    show_opt_in(False)
    expect(page.locator("th.column-opt_in")).to_have_count(0)
    page.reload()
    expect(page.locator("th.column-opt_in")).to_have_count(0)
    expect(page.get_by_role("columnheader", name="Phone", exact=True)).to_be_visible()
    show_opt_in(True)
    expect(page.locator("th.column-opt_in")).to_have_count(1)


def test_the_tag_chooser_shows_only_for_the_tag_actions(login):
    page = login("admin")
    action, tag = page.locator("#bulk-action"), page.locator("#bulk-tag")
    expect(action).to_have_value("")  # no change to anyone's subscriptions by default
    expect(tag).to_be_hidden()
    expect(page.locator("label[for=bulk-tag]")).to_be_hidden()
    action.select_option(label="Add a tag")
    expect(tag).to_be_visible()
    expect(page.locator("label[for=bulk-tag]")).to_be_visible()
    action.select_option(label="Export CSV")
    expect(tag).to_be_hidden()
    action.select_option(label="Remove a tag")
    expect(tag).to_be_visible()


def test_without_javascript_the_tag_chooser_shows_and_a_tag_action_needs_a_tag(browser, app_url):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{app_url}/accounts/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{app_url}/broadcasts/insights/")
        page.goto(f"{app_url}/contacts/")
        expect(page.locator("#bulk-tag")).to_be_visible()  # beside every action
        page.locator("#bulk-action").select_option(label="Add a tag")
        page.locator("#bulk-scope").select_option(label="all contacts matching the filters")
        page.get_by_role("button", name="Apply").click()
        expect(page.get_by_text("Choose the tag to add, in the Tag list beside the action."))\
            .to_be_visible()  # fmt: skip
        expect(page).to_have_url(f"{app_url}/contacts/")
    finally:
        context.close()


def test_the_all_matching_confirmation_says_whom_in_words(login, app_url):
    page = login("admin")
    page.goto(f"{app_url}/contacts/")
    page.locator("#id_tag").select_option(label="VIP")
    page.get_by_role("button", name="Filter").click()
    page.locator("#bulk-action").select_option(label="Unsubscribe from SMS (soft)")
    page.locator("#bulk-scope").select_option(label="all contacts matching the filters")
    page.get_by_role("button", name="Apply").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(
        re.compile(r"^Unsubscribe from SMS \(soft\): all [\d,]+ contacts tagged VIP\?$")
    )
    expect(page.get_by_role("button", name="Yes, unsubscribe from SMS (soft)")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("tag=")
    page.get_by_role("link", name="Cancel").click()  # nothing changed
    expect(page).to_have_url(re.compile(r"/contacts/\?.*tag="))


def test_staff_see_no_bulk_bar_and_no_export(login):
    page = login("staff")
    expect(page.locator("td.opt-in-cell").first).to_be_visible()
    expect(page.locator("#bulk-form")).to_have_count(0)
    expect(page.get_by_text("Export CSV")).to_have_count(0)
    expect(page.locator("input[name=contacts]")).to_have_count(0)


def test_the_bulk_bar_sent_incomplete_keeps_the_ticked_rows_and_the_action(login, app_url):
    """A new user's click-through: with three rows ticked and "Add a tag" chosen, Apply
    without a tag came back with "Choose the tag…", no row ticked and the action reset."""
    page = login("admin")
    page.goto(f"{app_url}/contacts/?per_page=25")
    boxes = page.locator('input[name="contacts"]')
    for row in range(3):
        boxes.nth(row).check()
    problem = page.locator("#bulk-problem")
    page.locator("#bulk-form button[type=submit]").click()
    expect(problem).to_have_text("Choose an action in the Action list.")
    expect(page.locator("#bulk-action")).to_be_focused()
    page.select_option("#bulk-action", "add_tag")
    page.locator("#bulk-form button[type=submit]").click()
    expect(problem).to_have_text("Choose the tag to add, in the Tag list beside the action.")
    expect(page.locator("#bulk-tag")).to_be_focused()
    expect(page.locator('input[name="contacts"]:checked')).to_have_count(3)
    expect(page.locator("#bulk-action")).to_have_value("add_tag")
    for row in range(3):
        boxes.nth(row).uncheck()
    page.select_option("#bulk-action", "remove_tag")
    page.select_option("#bulk-tag", index=1)
    page.locator("#bulk-form button[type=submit]").click()
    expect(problem).to_have_text(
        "Select at least one contact, or choose all contacts matching the filters."
    )
    expect(page).to_have_url(f"{app_url}/contacts/?per_page=25")  # nothing was sent
