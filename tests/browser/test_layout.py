"""Every page fits a phone's screen and a laptop's, and the menus and tooltips of the Contacts
table behave for the keyboard: Escape closes them, and an in-place change keeps the focus."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
SIZES = pytest.mark.parametrize("size", [PHONE, LAPTOP], ids=["390", "1366"])


def assert_fits(page, screenshots, name: str) -> None:
    """The page scrolls only up and down, never sideways; a screenshot shows how it looks."""
    page.wait_for_load_state("networkidle")
    width = page.evaluate("window.innerWidth")
    page.screenshot(path=screenshots / f"{name}-{width}.png", full_page=True)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{name} is {scroll_width} px wide in a {width} px window"


@SIZES
def test_the_login_page_fits(browser, app_url, tmp_path, size):
    context = browser.new_context(viewport=size)
    try:
        page = context.new_page()
        page.goto(f"{app_url}/accounts/login/")
        expect(page.locator("#id_username")).to_be_visible()
        assert_fits(page, tmp_path, "login")
    finally:
        context.close()


@SIZES
@pytest.mark.parametrize("username", ["staff", "admin"])
def test_the_contact_pages_fit(login, app_url, tmp_path, size, username):
    page = login(username)
    page.set_viewport_size(size)
    assert_fits(page, tmp_path, "contacts")
    page.goto(f"{app_url}/broadcasts/insights/")
    assert_fits(page, tmp_path, "insights")
    page.goto(f"{app_url}/contacts/?sms=hard")
    assert_fits(page, tmp_path, "contacts-hard")
    page.goto(f"{app_url}/contacts/?q=Contact+B")
    page.locator("td a").filter(has_text="Contact B").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Contact B")
    assert_fits(page, tmp_path, "contact")


@SIZES
def test_the_first_cells_of_a_row_are_its_name_and_its_opt_in_icons(login, app_url, size):
    page = login("admin")
    page.set_viewport_size(size)
    page.goto(f"{app_url}/contacts/")
    row = page.locator("tbody tr").first
    for cell in (row.locator("td a").first, row.locator("td.opt-in-cell .opt-in-icon").last):
        expect(cell).to_be_in_viewport()
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"]


@SIZES
def test_the_admin_pages_fit(login, app_url, tmp_path, size):
    page = login("admin")
    page.set_viewport_size(size)
    for name, path in [
        ("new-contact", "/contacts/new/"),
        ("import", "/contacts/import/"),
        ("possible-opt-outs", "/messaging/possible-opt-outs/"),
        ("outbox", "/messaging/outbox/"),
    ]:
        page.goto(f"{app_url}{path}")
        assert_fits(page, tmp_path, name)
    # A file checked, not imported: its page shows what it would do.
    page.goto(f"{app_url}/contacts/import/")
    rows = "name,phone,email\nLayout person,+1 415 555 0199,a-long-address@example.com\n"
    page.set_input_files(
        "#id_file", files=[{"name": "layout.csv", "mimeType": "text/csv", "buffer": rows.encode()}]
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page).to_have_url(re.compile(r"/contacts/import/\d+/$"))
    assert_fits(page, tmp_path, "import-detail")


@SIZES
def test_the_broadcast_pages_fit(login, app_url, tmp_path, size):
    page = login("manager")
    page.set_viewport_size(size)
    page.goto(f"{app_url}/broadcasts/new/?q=Contact")
    assert_fits(page, tmp_path, "broadcast-form")
    page.get_by_label("Name").fill(f"Layout test at {size['width']} px")
    page.get_by_role("radio", name="SMS").check()
    page.get_by_label("Body").fill("A reminder, long enough to wrap on a phone's narrow screen.")
    page.get_by_role("button", name="Save and preview").click()
    expect(page.locator(".will-receive")).to_be_visible()
    assert_fits(page, tmp_path, "broadcast-detail")
    page.goto(f"{app_url}/broadcasts/")
    assert_fits(page, tmp_path, "broadcast-list")


def test_the_calls_menu_opens_inside_the_window(login, app_url):
    page = login("admin")
    page.set_viewport_size(LAPTOP)
    page.goto(f"{app_url}/contacts/")

    def show_created(checked: bool) -> None:
        page.get_by_text("Columns", exact=True).click()
        page.get_by_label("Created").set_checked(checked)
        page.get_by_role("button", name="Save columns").click()

    def open_calls_menu() -> None:
        page.locator("td.opt-in-cell").first.get_by_label(re.compile("^Calls")).click()
        expect(page.locator("details[open] .opt-in-menu")).to_be_visible()
        page.wait_for_function(
            """() => {
              const box = document.querySelector("details[open] .opt-in-menu")
                .getBoundingClientRect();
              return box.left >= 0 && box.top >= 0 && box.bottom <= innerHeight
                && box.right <= document.documentElement.clientWidth;
            }"""
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]

    open_calls_menu()
    show_created(False)  # the Opt-In column is the last, at the window's right edge
    try:
        open_calls_menu()
    finally:
        show_created(True)


@pytest.mark.parametrize(
    ("username", "button", "panel"),
    [
        ("admin", "td.opt-in-cell summary", ".opt-in-menu"),
        ("staff", "th.column-opt_in summary", ".header-menu-panel"),
        ("staff", ".columns-menu summary", ".columns-menu form"),
    ],
)
def test_escape_closes_a_menu_and_gives_the_focus_back_to_its_button(
    login, app_url, username, button, panel
):
    page = login(username)
    page.goto(f"{app_url}/contacts/")
    page.locator(button).first.click()
    expect(page.locator(panel).first).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(panel).first).to_be_hidden()
    assert page.locator(button).first.evaluate("e => e === document.activeElement")


def test_escape_hides_a_tooltip_shown_by_hover_or_by_focus(login, app_url):
    page = login("staff")
    page.goto(f"{app_url}/contacts/?q=Contact+A")
    icon = page.get_by_role("img", name="SMS: opted out (soft)", exact=True)
    tooltip = page.locator(f"#{icon.get_attribute('aria-describedby')}")
    icon.hover()
    expect(tooltip).to_be_visible()
    page.keyboard.press("Escape")
    expect(tooltip).to_be_hidden()
    page.mouse.move(0, 0)
    icon.focus()
    expect(tooltip).to_be_visible()
    page.keyboard.press("Escape")
    expect(tooltip).to_be_hidden()
    assert icon.evaluate("e => e === document.activeElement")


def test_an_in_place_change_keeps_the_focus_in_the_cell(login, app_url):
    page = login("admin")
    page.goto(f"{app_url}/contacts/?q=Contact+B")
    cell = page.locator("td.opt-in-cell")
    cell.get_by_label("SMS: subscribed", exact=True).click()
    page.get_by_role("button", name="Unsubscribe from SMS").click()
    soft = cell.get_by_label("SMS: opted out (soft)", exact=True)
    try:
        expect(soft).to_be_focused()
        assert cell.evaluate("cell => cell.contains(document.activeElement)")
        # And back, by the keyboard alone.
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        expect(cell.get_by_role("button", name="Resubscribe to SMS")).to_be_focused()
        page.keyboard.press("Enter")
        expect(cell.get_by_label("SMS: subscribed", exact=True)).to_be_focused()
    finally:  # the other tests expect Contact B subscribed
        if soft.count():
            soft.click()
            page.get_by_role("button", name="Resubscribe to SMS").click()
            expect(cell.get_by_label("SMS: subscribed", exact=True)).to_be_visible()


LONG_WORD = "Wolfeschlegelsteinhausenbergerdorff" * 4  # no space to wrap at


@SIZES
def test_a_long_word_wraps_and_the_pages_still_fit(login, app_url, tmp_path, size):
    """A name, an e-mail or a message with a word longer than the window wraps inside its
    box; the page never scrolls sideways."""
    page = login("admin")
    page.set_viewport_size(size)
    page.goto(f"{app_url}/contacts/new/")
    page.get_by_label("Name").fill(LONG_WORD)
    page.get_by_label("Phone").fill("415.555.0193")  # a number no other contact has
    page.get_by_label("Email").fill(f"{LONG_WORD.lower()}@example.com")
    page.get_by_role("button", name="Save").click()
    try:
        expect(page.get_by_role("heading", level=1)).to_have_text(LONG_WORD)
        assert_fits(page, tmp_path, "contact-long-name")
        page.goto(f"{app_url}/contacts/?q=Wolfeschlegel")
        assert_fits(page, tmp_path, "contacts-long-name")
    finally:
        page.goto(f"{app_url}/contacts/?q=Wolfeschlegel")
        page.locator("td a").filter(has_text="Wolfeschlegel").first.click()
        page.get_by_role("link", name="Delete…").click()
        page.get_by_role("button", name=re.compile("^Yes, delete")).click()

    manager = login("manager")
    manager.set_viewport_size(size)
    manager.goto(f"{app_url}/broadcasts/new/")
    manager.get_by_label("Name").fill(f"Layout {LONG_WORD}")
    manager.get_by_label("Body").fill(f"See {LONG_WORD} today")
    manager.get_by_role("button", name="Save and preview").click()
    expect(manager.get_by_role("heading", level=1)).to_contain_text("Layout")
    assert_fits(manager, tmp_path, "broadcast-long-name")
    manager.get_by_role("link", name="Delete…").click()
    assert_fits(manager, tmp_path, "broadcast-delete-long-name")
    manager.get_by_role("button", name="Yes, delete it").click()
    expect(manager.locator(".messagelist")).to_contain_text("was deleted")
