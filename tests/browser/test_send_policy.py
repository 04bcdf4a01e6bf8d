"""A manager marks a broadcast's purpose and urgency, and sees quiet hours hold some of it back.

The served app keeps quiet hours on the real clock. So that the hour the tests run at does not
matter, their two contacts have time zones of their own, chosen when the test runs: in one it
is 03:00, night, and in the other 14:00, mid-day. Their numbers are in California, whose window
is the federal one, 08:00–21:00 every day.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shell, zone_at

pytestmark = pytest.mark.browser

TAG = "Quiet hours browser test"
NIGHT_OWL = ("Nightowl Policytest", "+14155550170")
DAY_BIRD = ("Daybird Policytest", "+14155550171")
# The worker sends once a page shows a launch: generous, for a loaded machine.
SENDING = 30_000


@dataclass
class Audience:
    night_zone: str
    day_zone: str


@pytest.fixture
def night_and_day(app_env):
    """Two contacts tagged TAG, one where it is night now and one where it is day; deleted
    afterwards, with the tag."""
    audience = Audience(night_zone=zone_at(3), day_zone=zone_at(14))
    contacts = [(*NIGHT_OWL, audience.night_zone), (*DAY_BIRD, audience.day_zone)]
    shell(
        app_env,
        "from django.utils import timezone\n"
        "from contacts import services\n"
        "from contacts.models import Contact, Tag\n"
        f"tag = Tag.objects.create(name={TAG!r})\n"
        f"for name, phone, zone in {contacts!r}:\n"
        "    contact = Contact(name=name, phone=phone, time_zone=zone)\n"
        "    contact.full_clean()\n"
        "    contact.save()\n"
        "    contact.tags.add(tag)\n"
        # Marketing reaches only numbers with consent on record.
        "    services.record_consent(phone=phone, channel='sms', method='web_form',\n"
        "                            given_at=timezone.now())\n",
    )
    yield audience
    shell(
        app_env,
        "from contacts.models import Contact, Tag\n"
        f"for name, phone in {[NIGHT_OWL, DAY_BIRD]!r}:\n"
        "    Contact.objects.get(name=name, phone=phone).delete()\n"
        f"Tag.objects.filter(name={TAG!r}).delete()\n",
    )


def new_sms_broadcast(page, app_url, name: str) -> None:
    """Open the form and write an SMS broadcast to the contacts tagged TAG."""
    page.goto(f"{app_url}/broadcasts/new/")
    page.get_by_label("Name").fill(name)
    page.get_by_role("radio", name="SMS").check()
    page.get_by_label("Body").fill("The office is closed today: a burst pipe.")
    page.get_by_label("Tag", exact=True).select_option(label=TAG)


def shown_time(moment: datetime, app_env) -> str:
    """A moment as the broadcast pages write it: "5 Dec 2026, 08:00 UTC"."""
    zone = app_env.get("TIME_ZONE") or "UTC"
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local.day} {local:%b %Y, %H:%M} {zone}"


def status_of(page, contact: tuple[str, str]):
    """The Status cell of the contact's row in the recipients' table."""
    return page.locator("#recipients tbody tr", has_text=contact[0]).locator("td").nth(2)


def note_of(page, contact: tuple[str, str]):
    return page.locator("#recipients tbody tr", has_text=contact[0]).locator("td").nth(4)


def test_a_broadcast_is_marketing_unless_the_manager_says_otherwise(login, app_url):
    """Marketing is chosen to begin with, offers no urgency, and shows "Only contacts with
    consent on record" ticked, as marketing always is; informational offers urgency, and its
    reason once it is ticked, and the consent box to choose. Back to marketing, the urgency
    goes and the box is ticked again."""
    page = login("manager")
    page.goto(f"{app_url}/broadcasts/new/")
    urgent, reason, consent_only = (
        page.get_by_label("Urgent: send outside quiet hours"),
        page.get_by_label("Why it cannot wait"),
        page.get_by_label("Only contacts with consent on record"),
    )
    expect(page.get_by_role("radio", name="Marketing")).to_be_checked()
    expect(page.get_by_role("radio", name="Informational")).not_to_be_checked()
    expect(urgent).to_be_hidden()
    expect(reason).to_be_hidden()
    expect(consent_only).to_be_checked()
    expect(consent_only).to_be_disabled()

    page.get_by_role("radio", name="Informational").check()
    expect(urgent).to_be_visible()
    expect(reason).to_be_hidden()
    expect(consent_only).to_be_enabled()
    expect(consent_only).not_to_be_checked()  # its own choice, as saved
    urgent.check()
    expect(reason).to_be_visible()
    reason.fill("It is a sale")

    page.get_by_role("radio", name="Marketing").check()
    expect(urgent).to_be_hidden()
    expect(consent_only).to_be_checked()
    expect(consent_only).to_be_disabled()
    page.get_by_label("Name").fill("Policy test spring sale")
    page.get_by_label("Body").fill("Spring sale: 20% off this week.")
    page.get_by_role("button", name="Save and preview").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Policy test spring sale (SMS)")
    expect(page.locator("p.purpose")).to_have_text(
        "Marketing. Only contacts with consent on record for SMS."
    )


def test_urgent_needs_an_informational_broadcast_and_a_reason(login, app_url):
    """The form refuses an urgent broadcast without a reason, and saves nothing until it has
    one; the page then shows the reason it keeps. (An urgent marketing broadcast, which the
    form offers no way to ask for, is refused by the server: tests/broadcasts/test_views.py.)"""
    name, reason = "Policy test office closed", "A burst pipe: the office is closed today."
    page = login("manager")
    page.goto(f"{app_url}/broadcasts/new/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Body").fill("The office is closed today.")
    page.get_by_role("radio", name="Informational").check()
    page.get_by_label("Urgent: send outside quiet hours").check()
    page.get_by_label("Why it cannot wait").fill("   ")
    page.get_by_role("button", name="Save and preview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New broadcast")
    expect(page.locator(".urgent .errorlist")).to_have_count(0)
    expect(page.locator(".urgent-reason .errorlist")).to_have_text(
        "Say why it cannot wait: the reason is kept with the broadcast and shown."
    )
    expect(page.get_by_role("radio", name="Informational")).to_be_checked()
    expect(page.get_by_label("Urgent: send outside quiet hours")).to_be_checked()

    page.get_by_label("Why it cannot wait").fill(reason)
    page.get_by_role("button", name="Save and preview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{name} (SMS)")
    expect(page.locator("p.purpose")).to_have_text(
        f"Informational: urgent, sent outside quiet hours. Why: {reason}"
    )
    # The refused try saved nothing: the list has the broadcast once.
    page.goto(f"{app_url}/broadcasts/")
    expect(page.get_by_role("link", name=name, exact=True)).to_have_count(1)


def test_quiet_hours_defer_the_recipient_for_whom_it_is_night(
    login, app_url, app_env, night_and_day
):
    """The preview says how many a launch now would defer; once launched, the day contact
    gets it, and the progress counts the night one as deferred and says when it goes."""
    page = login("manager")
    new_sms_broadcast(page, app_url, "Policy test closed today")
    page.get_by_role("button", name="Save and preview").click()

    expect(page.locator("main")).to_contain_text(f"Audience: Tag: {TAG}")
    expect(page.locator(".will-receive")).to_have_text("2 will receive this")
    expect(page.locator(".preview .deferred")).to_have_text(
        "Launched now, 1 of them would wait for their quiet hours to end, in their own local "
        "time, and receive it then."
    )
    page.get_by_role("link", name="Launch…").click()
    page.get_by_role("button", name="Yes, launch it").click()

    progress = page.locator("#progress")
    expect(progress).to_contain_text("1 of 2 done (50%)", timeout=SENDING)
    expect(progress.locator("p").first).to_have_text("Sending — 1 of 2 done (50%)")
    expect(progress.locator(".status-deferred")).to_have_text("Deferred 1")
    expect(progress.locator(".status-sent")).to_have_text("Sent 1")
    night = ZoneInfo(night_and_day.night_zone)
    opens = datetime.now(night).replace(hour=8, minute=0, second=0, microsecond=0)
    window = f"08:00–21:00 {night_and_day.night_zone} (CA)"
    expect(progress.locator(".deferred")).to_have_text(
        "Deferred by quiet hours: 1, sent as each recipient’s window opens (each checked again "
        "then: one who opted out meanwhile gets nothing). The first: sent "
        f"from {opens:%A} 08:00 their time ({window}). That is {shown_time(opens, app_env)}."
    )
    expect(status_of(page, DAY_BIRD)).to_have_text("Sent", timeout=SENDING)
    expect(status_of(page, NIGHT_OWL)).to_have_text("Deferred: quiet hours")
    expect(note_of(page, NIGHT_OWL)).to_have_text(
        f"Quiet hours: sent from {opens:%A} 08:00 their time ({window})."
    )

    # Cancelled, the deferred recipient will not be sent either.
    page.get_by_role("link", name="Cancel the broadcast…").click()
    expect(page.locator("main")).to_contain_text("1 message not sent yet will not be sent.")
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "“Policy test closed today” cancelled; 1 message will not be sent."
    )
    expect(progress.locator("p").first).to_have_text("Cancelled — 1 of 2 sent; 1 not sent")
    expect(progress.locator(".deferred")).to_have_count(0)


def test_an_urgent_informational_broadcast_goes_at_night_too(login, app_url, night_and_day):
    """Urgent, the preview defers nobody, and both contacts get it at once."""
    page = login("manager")
    new_sms_broadcast(page, app_url, "Policy test urgent closure")
    page.get_by_role("radio", name="Informational").check()
    page.get_by_label("Urgent: send outside quiet hours").check()
    page.get_by_label("Why it cannot wait").fill("The office is flooded: nobody may come in.")
    page.get_by_role("button", name="Save and preview").click()

    expect(page.locator(".will-receive")).to_have_text("2 will receive this")
    expect(page.locator(".preview .deferred")).to_have_count(0)
    page.get_by_role("link", name="Launch…").click()
    page.get_by_role("button", name="Yes, launch it").click()

    progress = page.locator("#progress")
    expect(progress).to_contain_text("Done — 2 of 2 done (100%)", timeout=SENDING)
    expect(progress.locator(".deferred")).to_have_count(0)
    # The page reloads itself once done: both recipients, the night one too, were sent.
    expect(status_of(page, NIGHT_OWL)).to_have_text("Sent")
    expect(status_of(page, DAY_BIRD)).to_have_text("Sent")


def test_the_consent_choice_survives_a_form_re_shown_with_errors(login, app_url):
    """A manager ticks "consent on record only" for an informational text, tries marketing,
    and saves with an error; back to informational, their choice is still ticked (the box
    shown ticked and disabled for marketing is sent as chosen)."""
    page = login("manager")
    page.goto(f"{app_url}/broadcasts/new/")
    consent_only = page.get_by_label("Only contacts with consent on record")
    page.get_by_label("Name").fill("Policy test consent choice re-shown")
    page.get_by_role("radio", name="Informational").check()
    consent_only.check()
    page.get_by_role("radio", name="Marketing").check()
    page.get_by_role("button", name="Save and preview").click()  # no body: refused
    expect(page.locator(".errorlist")).to_contain_text("Write the text of the SMS.")
    page.get_by_role("radio", name="Informational").check()
    expect(consent_only).to_be_checked()


def test_the_consent_choice_survives_a_save_as_marketing(login, app_url):
    """An informational broadcast saved with "consent on record only", then saved as
    marketing, then made informational again: the box it was saved with is still ticked."""
    page = login("manager")
    page.goto(f"{app_url}/broadcasts/new/")
    page.get_by_label("Name").fill("Policy test consent choice saved")
    page.get_by_label("Body").fill("The office is closed today.")
    page.get_by_role("radio", name="Informational").check()
    page.get_by_label("Only contacts with consent on record").check()
    page.get_by_role("button", name="Save and preview").click()
    expect(page.locator("p.purpose")).to_have_text(
        "Informational. Only contacts with consent on record for SMS."
    )
    page.get_by_role("link", name="Edit").click()
    page.get_by_role("radio", name="Marketing").check()
    page.get_by_role("button", name="Save and preview").click()
    expect(page.locator("p.purpose")).to_contain_text("Marketing")
    page.get_by_role("link", name="Edit").click()
    page.get_by_role("radio", name="Informational").check()
    expect(page.get_by_label("Only contacts with consent on record")).to_be_checked()
