"""In the browser: every page keeps to the Content-Security-Policy, and names and replies that
carry HTML or script show as text, with no script run and no dialog opened."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_simulate_inbound import simulate

pytestmark = pytest.mark.browser

PAYLOAD = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def watch(page) -> dict[str, list[str]]:
    """Dialogs opened and Content-Security-Policy violations reported on `page`."""
    seen = {"dialogs": [], "violations": []}
    page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and seen["violations"].append(message.text)
        ),
    )
    return seen


def test_no_page_needs_an_inline_script_or_style(login, app_url):
    page = login("admin")
    seen = watch(page)
    for path in [
        "/broadcasts/insights/", "/contacts/", "/contacts/?sms=hard", "/contacts/new/",
        "/contacts/import/", "/broadcasts/",
        "/messaging/possible-opt-outs/", "/messaging/outbox/", "/admin/",
        "/admin/contacts/contact/", "/accounts/password_change/",
    ]:  # fmt: skip
        response = page.goto(app_url + path)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
    page.goto(f"{app_url}/contacts/?q=Contact+A")
    page.get_by_role("link", name="Contact A").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("link", name="Delete…").click()  # the confirmation only: nothing goes
    page.wait_for_load_state("networkidle")
    assert seen["violations"] == []


def test_an_in_place_change_keeps_to_the_policy_too(login, app_url):
    """htmx settles the attributes of what it swaps in, a tooltip's placed style among them,
    which the policy forbids as an attribute."""
    page = login("admin")
    seen = watch(page)
    page.goto(f"{app_url}/contacts/?q=Contact+B")
    cell = page.locator("td.opt-in-cell")
    for before, button, after in [
        ("SMS: subscribed", "Unsubscribe from SMS", "SMS: opted out (soft)"),
        ("SMS: opted out (soft)", "Resubscribe to SMS", "SMS: subscribed"),
    ]:
        icon = cell.get_by_label(before, exact=True)
        icon.hover()  # its tooltip placed beside it
        icon.click()
        page.get_by_role("button", name=button).click()
        expect(cell.get_by_label(after, exact=True)).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert seen["violations"] == []


def test_html_in_a_name_and_in_a_reply_shows_as_text(login, app_env, app_url):
    page = login("admin")
    seen = watch(page)
    page.goto(f"{app_url}/contacts/?q=Contact+B")
    page.get_by_role("link", name="Contact B").click()
    detail = page.url
    page.fill("#id_name", PAYLOAD)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(f"{PAYLOAD}: saved.")).to_be_visible()

    # A reply that may ask to stop, with a script in it, waits for review.
    simulate(app_env, app_url, "--from", "+14155550101", "--body", f"who is this? {PAYLOAD}")
    try:
        for path in ["/contacts/?q=img", "/admin/contacts/contact/?q=img",
                     "/messaging/possible-opt-outs/"]:  # fmt: skip
            page.goto(app_url + path)
            expect(page.get_by_text(PAYLOAD).first).to_be_visible()
        page.goto(detail)
        expect(page.get_by_role("heading", name=PAYLOAD)).to_be_visible()

        # Confirmed, the reply becomes the opt-out's words: in the tooltip and the history.
        page.goto(f"{app_url}/messaging/possible-opt-outs/")
        page.get_by_role("button", name="Confirm: opt out").first.click()
        page.get_by_role("button", name="Yes, opt (415) 555-0101 out of SMS").click()
        page.goto(f"{app_url}/contacts/?q=img")
        icon = page.locator("td.opt-in-cell").get_by_label("SMS: opted out (hard)", exact=True)
        icon.hover()
        expect(page.get_by_role("tooltip").filter(has_text=PAYLOAD)).to_be_visible()
        page.goto(detail)
        expect(page.get_by_text(PAYLOAD).first).to_be_visible()

        # A tag, brought by an import: in the table's Tags column and on the contact page.
        page.goto(f"{app_url}/contacts/import/")
        rows = f'name,phone,tags\n"Tagged person","+1 415 555 0177","{PAYLOAD}"\n'
        page.set_input_files("#id_file", files=[
            {"name": "tags.csv", "mimeType": "text/csv", "buffer": rows.encode()}
        ])  # fmt: skip
        page.get_by_role("button", name="Check the file").click()
        page.get_by_role("button", name="Import 1 row").click()
        page.goto(f"{app_url}/contacts/?q=Tagged+person")
        expect(page.locator("span.tag").filter(has_text=PAYLOAD)).to_be_visible()
        page.get_by_role("link", name="Tagged person").click()
        expect(page.locator("span.tag").filter(has_text=PAYLOAD)).to_be_visible()

        # A broadcast's name and body, on its page and in its preview.
        manager = login("manager")
        watched = watch(manager)
        manager.goto(f"{app_url}/broadcasts/new/")
        manager.get_by_label("Name").fill(PAYLOAD)
        manager.get_by_role("radio", name="SMS").check()
        manager.get_by_label("Body").fill(PAYLOAD)
        manager.get_by_role("button", name="Save and preview").click()
        expect(manager.locator("pre.body")).to_contain_text(PAYLOAD)
        expect(manager.locator(".preview")).to_contain_text(PAYLOAD)  # Contact B's name

        for checked in (page, manager):
            assert checked.locator("img[src=x]").count() == 0
        assert seen["dialogs"] == watched["dialogs"] == []
        assert seen["violations"] == watched["violations"] == []
    finally:
        simulate(app_env, app_url, "--from", "+14155550101", "--body", "START")
        page.goto(detail)
        page.fill("#id_name", "Contact B")
        page.get_by_role("button", name="Save").click()
