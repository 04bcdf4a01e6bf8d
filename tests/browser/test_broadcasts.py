"""A manager sends a broadcast from the form and watches it go."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shell, zone_at

pytestmark = pytest.mark.browser


@pytest.fixture
def contact_b_in_the_afternoon(app_env):
    """Contact B in a time zone where it is 14:00 now, whatever the hour the test runs at: the
    served app keeps quiet hours, which would otherwise hold its message back at night. Its
    own zone is taken away afterwards."""
    set_zone = "from contacts.models import Contact\nContact.objects.filter(name='Contact B')"
    shell(app_env, f"{set_zone}.update(time_zone={zone_at(14)!r})")
    yield
    shell(app_env, f"{set_zone}.update(time_zone='')")


@pytest.mark.usefixtures("contact_b_in_the_afternoon")
def test_a_manager_creates_previews_launches_and_watches_a_broadcast(login, app_url):
    page = login("manager")
    page.goto(f"{app_url}/contacts/?q=Contact")
    link = page.get_by_role("link", name="Send a broadcast to 2 contacts")
    expect(link).to_be_visible()  # the count arrives after the page
    link.click()

    page.get_by_label("Name").fill("Browser test reminder")
    page.get_by_role("radio", name="SMS").check()
    body = page.get_by_label("Body")
    body.fill("a" * 150)
    expect(page.locator(".sms-counter")).to_contain_text(
        "172 characters with the opt-out line (GSM-7): 2 segments"
    )
    body.fill("Yours: {subscriptions_link}")  # counted as long as a number's own link
    link_length = int(body.get_attribute("data-link-length"))
    assert link_length > len("https://x/subscriptions//")
    length = len("Yours: ") + link_length + len("\nReply STOP to opt out")
    expect(page.locator(".sms-counter")).to_contain_text(f"{length} characters with the opt-out")
    body.fill("See you tomorrow 😀")
    expect(page.locator(".sms-counter")).to_contain_text("(UCS-2): 1 segment")
    page.get_by_role("button", name="Save and preview").click()

    # Contact A is opted out of SMS (soft); Contact B receives it.
    expect(page.locator(".will-receive")).to_have_text("1 will receive this")
    expect(page.get_by_role("row", name="Opted out of this channel (soft) 1")).to_be_visible()
    page.get_by_role("link", name="Launch…").click()
    page.get_by_role("button", name="Yes, launch it").click()

    expect(page.locator("#progress")).to_contain_text("1 of 1 done (100%)", timeout=15_000)
    expect(page.locator("#progress progress")).to_have_attribute("value", "100")
    expect(page.locator("#progress")).to_contain_text("Done")
    # The page reloads itself once done: the recipients and the buttons are current.
    expect(page.locator("#recipients td", has_text="Sent")).to_have_count(1)
    expect(page.get_by_role("link", name="Cancel the broadcast…")).to_have_count(0)


def test_the_counter_counts_the_text_as_it_is_sent(login, app_url):
    page = login("manager")
    page.goto(f"{app_url}/broadcasts/new/")
    page.get_by_label("Name").fill("Browser test counter")
    body = page.get_by_label("Body")
    counter = page.locator(".sms-counter")
    body.fill("Text STOP to quit")  # tells how to stop: no opt-out line is added
    expect(counter).to_have_text("17 characters (GSM-7): 1 segment")
    body.fill("Envía stop para salir")  # in Spanish, in any case
    expect(counter).to_have_text("21 characters (UCS-2): 1 segment")  # í is not GSM-7
    body.fill("Our nonstop sale")  # says no STOP
    expect(counter).to_have_text("38 characters with the opt-out line (GSM-7): 1 segment")
    body.fill("STOP by")  # says STOP, but not how to stop
    expect(counter).to_have_text("29 characters with the opt-out line (GSM-7): 1 segment")
    body.fill("Never reply STOP")  # says not to
    expect(counter).to_have_text("38 characters with the opt-out line (GSM-7): 1 segment")
    body.fill("No need to reply STOP, really")  # says not to, before it in its sentence
    expect(counter).to_have_text("51 characters with the opt-out line (GSM-7): 1 segment")
    body.fill("Reply STOP to end, no fees")  # a "no" after it is no negation
    expect(counter).to_have_text("26 characters (GSM-7): 1 segment")
    # Saved without the spaces around it, a line break as one character, then the line.
    body.fill("  See you\nthere  ")
    expect(counter).to_have_text("35 characters with the opt-out line (GSM-7): 1 segment")
    page.get_by_role("button", name="Save and preview").click()
    expect(page.get_by_text("35 characters (GSM-7): 1 segment a message.")).to_be_visible()


def test_the_audience_is_counted_again_as_its_filters_change(login, app_url):
    """The form counts its audience as the Contacts table does, as the manager types a search
    or picks a filter, without saving."""
    page = login("manager")
    page.goto(f"{app_url}/broadcasts/new/")
    count = page.locator(".audience-count")
    expect(count).to_have_text(re.compile(r"^[0-9,]+ contacts$"))  # everyone, counted
    everyone = count.inner_text()
    assert everyone != "2 contacts"
    audience = page.locator("fieldset.audience")
    audience.get_by_label("Search").fill("Contact")
    expect(count).to_have_text("2 contacts")
    audience.get_by_label("SMS", exact=True).select_option("opted_out")
    expect(count).to_have_text("1 contact")  # Contact A, opted out of SMS (soft)
    audience.get_by_label("Search").fill("")
    audience.get_by_label("SMS", exact=True).select_option("")
    expect(count).to_have_text(everyone)
