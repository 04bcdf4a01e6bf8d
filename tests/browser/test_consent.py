"""Consent on record in a real Chromium: the table's tooltips say how each number agreed, an
Admin records consent on the contact page, and a JOIN text is consent the page shows."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shell, zone_at
from tests.browser.test_simulate_inbound import simulate

pytestmark = pytest.mark.browser


def tooltip_of(page, name: str):
    icon = page.get_by_label(name, exact=True).first  # an image, or for Admins a menu
    icon.hover()
    return page.locator(f"#{icon.get_attribute('aria-describedby')}")


def add_contact(app_env, name: str, phone: str, zone: str) -> None:
    """A contact who says it is in time zone `zone`."""
    shell(
        app_env,
        "from contacts.models import Contact\n"
        f"contact = Contact(name={name!r}, phone={phone!r}, time_zone={zone!r})\n"
        "contact.full_clean()\n"
        "contact.save()\n",
    )


def record_web_form_consent(page, app_url: str, name: str, channel: str) -> None:
    """As an Admin: the contact's page, Record consent…, from a web form today."""
    page.goto(f"{app_url}/contacts/?q={name.replace(' ', '+')}")
    page.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("link", name="Record consent…").click()
    page.get_by_label(channel, exact=True).check()
    page.get_by_label("Web form").check()
    page.get_by_label("Given on").fill(date.today().isoformat())
    page.get_by_role("button", name="Record consent").click()


def test_the_tooltips_say_how_a_number_consented_or_that_none_is_on_record(login, app_url):
    page = login("staff")
    page.goto(f"{app_url}/contacts/?sms_consent=none&sms=subscribed&status=active")
    expect(tooltip_of(page, "SMS: subscribed")).to_have_text(
        "Subscribed to SMS: no consent on record"
    )
    page.goto(f"{app_url}/contacts/?sms_consent=on_record&sms=subscribed&status=active")
    consented = re.compile(
        r"^Subscribed to SMS: (replied “JOIN”|signed up on a web form|agreed on paper or in "
        r"person|agreed verbally|consent imported from another system) on \d{1,2} \w{3} \d{4}$"
    )
    expect(tooltip_of(page, "SMS: subscribed")).to_have_text(consented)


def test_an_admin_records_consent_and_the_card_and_the_tooltip_say_it(login, app_env, app_url):
    # Where it is 14:00 now: the text asking to confirm goes at once (at night: below).
    add_contact(app_env, "Carla Consent", "+14155550177", zone_at(14))
    page = login("admin")
    page.goto(f"{app_url}/contacts/?q=Carla+Consent")
    expect(tooltip_of(page, "SMS: subscribed")).to_have_text(
        "Subscribed to SMS: no consent on record"
    )
    page.get_by_role("link", name="Carla Consent", exact=True).click()
    card = page.locator(".consent-card")
    expect(card).to_contain_text("No consent on record for this number.")
    page.get_by_role("link", name="Record consent…").click()
    page.get_by_label("SMS", exact=True).check()
    page.get_by_label("Verbal").check()
    page.get_by_label("Given on").fill("2026-11-20")
    page.get_by_label("Note").fill("Said yes on the phone to Dana")
    page.get_by_label("Ask the contact to confirm by text (double opt-in)").uncheck()
    page.get_by_role("button", name="Record consent").click()

    expect(page.locator(".messagelist")).to_contain_text("Carla Consent: consent to SMS recorded.")
    expect(card).to_contain_text("SMS: agreed verbally on 20 Nov 2026")
    expect(card).to_contain_text("recorded by admin")
    words = page.locator(".opt-in-words")
    expect(words.first).to_have_text("SMS: Subscribed — agreed verbally on 20 Nov 2026")
    expect(words.nth(1)).to_have_text("Calls & Voicemails: Subscribed — no consent on record")
    page.goto(f"{app_url}/contacts/?q=Carla+Consent")
    expect(tooltip_of(page, "SMS: subscribed")).to_have_text(
        "Subscribed to SMS: agreed verbally on 20 Nov 2026"
    )

    # A web form's consent to calls waits for the number's YES to the one text it gets.
    record_web_form_consent(page, app_url, "Carla Consent", "Calls & Voicemails")
    expect(page.locator(".messagelist")).to_contain_text(
        "awaiting confirmation. A text asked the number to reply YES within 30 days"
    )
    expect(card).to_contain_text("(Awaiting confirmation)")
    expect(card).to_contain_text("The text asking the number to confirm: sent ")
    expect(words.nth(1)).to_have_text("Calls & Voicemails: Subscribed — no consent on record")
    answer = simulate(app_env, app_url, "--from", "(415) 555-0177", "--body", "YES")
    assert "you're subscribed to" in answer
    page.reload()
    expect(words.nth(1)).to_have_text(
        re.compile(r"^Calls & Voicemails: Subscribed — signed up on a web form on ")
    )


def test_a_text_asking_to_confirm_at_night_waits_and_the_card_says_until_when(
    login, app_env, app_url
):
    zone = zone_at(3)
    add_contact(app_env, "Nina Night", "+14155550179", zone)
    page = login("admin")
    record_web_form_consent(page, app_url, "Nina Night", "SMS")
    day = f"{datetime.now(ZoneInfo(zone)):%A}"  # 03:00 there: this morning's window
    expect(page.locator(".messagelist")).to_contain_text(
        "Nina Night: consent to SMS recorded, awaiting confirmation. A text will ask the number "
        f"to reply YES within 30 days to confirm it, held until its quiet hours end, at {day} "
        "08:00 their time"
    )
    expect(page.locator(".consent-card")).to_contain_text(
        f"The text asking the number to confirm: held until its quiet hours end, at {day} 08:00 "
        "their time"
    )


def test_a_join_text_is_consent_the_table_shows(login, app_env, app_url):
    shell(app_env, "from contacts import services; services.create_contact("
                   "name='Jo Joiner', phone='+14155550178')")  # fmt: skip
    answer = simulate(app_env, app_url, "--from", "(415) 555-0178", "--body", "JOIN")
    assert "data rates may apply. Reply HELP for help, STOP to cancel." in answer
    page = login("staff")
    page.goto(f"{app_url}/contacts/?q=Jo+Joiner")
    today = date.today()
    expect(tooltip_of(page, "SMS: subscribed")).to_have_text(
        re.compile(rf"^Subscribed to SMS: replied “JOIN” on \d{{1,2}} \w{{3}} {today.year}$")
    )


def test_a_contact_unticks_texts_on_their_own_page_and_staff_see_it_hard(
    login, browser, app_env, app_url
):
    shell(app_env, "from contacts import services; services.create_contact("
                   "name='Pat Page', phone='+14155550179')")  # fmt: skip
    page = login("admin")
    page.goto(f"{app_url}/contacts/?q=Pat+Page")
    page.get_by_role("link", name="Pat Page", exact=True).click()
    link = page.get_by_label("Link to the contact's subscriptions page").input_value()

    contact = browser.new_context()  # the contact's own phone: no login
    own = contact.new_page()
    own.goto(link)
    expect(own.get_by_role("heading", level=1)).to_have_text("Your subscriptions to Demo Dental")
    own.get_by_label("SMS", exact=True).uncheck()
    own.get_by_role("button", name="Save").click()
    expect(own.get_by_role("status")).to_have_text(
        "Done: you will receive no more texts from Demo Dental."
    )
    expect(own.get_by_text("To receive texts again, reply START")).to_be_visible()
    contact.close()

    page.goto(f"{app_url}/contacts/?q=Pat+Page")
    expect(tooltip_of(page, "SMS: opted out (hard)")).to_contain_text(
        "Opted out of SMS: unsubscribed on their subscriptions page on"
    )
