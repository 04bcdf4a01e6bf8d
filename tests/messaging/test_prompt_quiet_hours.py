"""A double opt-in prompt keeps the number's quiet hours, as broadcasts do: asked for while
they last, it is held until they end, then sent by the worker, checked again as it goes; and
whatever fails, a number gets no text twice. (Prompts at the same moment on PostgreSQL:
tests/messaging/test_prompt_races.py.)"""

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files import File
from django.db import OperationalError

from contacts import imports, quiet_hours, services
from contacts.models import (
    Channel,
    ConfirmationPrompt,
    ConsentRecord,
    Contact,
    PhoneOptOut,
    Source,
)
from messaging.models import InboundEvent
from tests.factories import ContactFactory
from tests.messaging.test_double_opt_in import recorded
from tests.messaging.test_keyword_consent import PHONE, reply
from tests.twilio_standin import StandIn

PACIFIC = ZoneInfo("America/Los_Angeles")  # PHONE's, a San Francisco number
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quiet_hours")]


def at(day: int, hour: int, minute: int = 0) -> time_machine.travel:
    """On that day of December 2026 (the 7th is a Monday), San Francisco time."""
    return time_machine.travel(datetime(2026, 12, day, hour, minute, tzinfo=PACIFIC), tick=False)


def awaiting(phone: str = PHONE, *channels: str) -> None:
    for channel in channels or [Channel.SMS]:
        services.record_consent(
            phone=phone, channel=channel, method="web_form", given_at=datetime.now(PACIFIC),
            awaiting=True,
        )  # fmt: skip


def card(client, contact: Contact) -> str:
    """What the contact page's consent card says of the number's latest prompt."""
    page = client.get(contact.get_absolute_url()).content.decode()
    start = page.index('<p class="muted prompt">') + len('<p class="muted prompt">')
    return page[start : page.index("</p>", start)]


def test_a_prompt_asked_for_at_night_waits_for_the_morning(admin_client, sms, outbox):
    contact = ContactFactory(phone=PHONE, name="Dee")
    with at(7, 21, 30):
        page = recorded(admin_client, contact).content.decode()
        assert card(admin_client, contact) == (
            "The text asking the number to confirm: held until its quiet hours end, at Tuesday "
            "08:00 their time (08:00–21:00 Pacific (CA)): 8 Dec 2026, 16:00 (UTC)."
        )
    assert "Dee: consent to SMS and Calls &amp; Voicemails recorded, awaiting confirmation." in page
    assert (
        "A text will ask the number to reply YES within 30 days to confirm it, held until its "
        "quiet hours end, at Tuesday 08:00 their time (08:00–21:00 Pacific (CA))." in page
    )
    assert not outbox
    prompt = ConfirmationPrompt.objects.get()
    assert (prompt.sent_at, prompt.send_at) == (None, datetime(2026, 12, 8, 8, tzinfo=PACIFIC))

    # A YES before the prompt goes answers nothing that was asked.
    reply(sms("YES", sid="SMearly"))
    assert set(ConsentRecord.objects.values_list("status", flat=True)) == {"awaiting"}

    with at(8, 7, 59):
        assert services.send_held_prompts() == 0
    assert not outbox
    with at(8, 8, 0):
        assert services.send_held_prompts() == 1
        assert services.send_held_prompts() == 0  # once
    [sent] = outbox
    assert sent["to"] == PHONE and sent["body"].startswith("Demo Dental: reply YES to confirm")
    assert "by text and calls" in sent["body"]
    prompt.refresh_from_db()
    assert (prompt.sid, prompt.not_sent) == (sent["sid"], "")
    assert card(admin_client, contact).startswith("The text asking the number to confirm: sent ")

    reply(sms("YES", sid="SMyes"))
    assert {(r.status, r.confirmation) for r in ConsentRecord.objects.all()} == {
        ("confirmed", "sms:SMyes")
    }


def test_a_prompt_sent_late_expires_at_the_provider_when_its_quiet_hours_begin(outbox):
    """Sent at 20:30 its time, a prompt that waits in the provider's queue (a long code sends
    one text a second) is not sent after 21:00: it carries the half hour left."""
    ContactFactory(phone=PHONE)
    awaiting(PHONE)
    with at(7, 20, 30):
        services.ask_to_confirm(PHONE, [Channel.SMS])
    [sent] = outbox
    assert sent["valid_for"] == 30 * 60


def test_a_prompt_without_quiet_hours_may_wait_as_long_as_the_provider_keeps_it(outbox, settings):
    settings.QUIET_HOURS = None
    ContactFactory(phone=PHONE)
    awaiting(PHONE)
    with at(7, 23, 30):
        services.ask_to_confirm(PHONE, [Channel.SMS])
    [sent] = outbox
    assert sent["valid_for"] is None


def test_a_prompt_that_expired_in_the_provider_s_queue_is_asked_again_after_quiet_hours(
    admin_client, outbox, post_signed
):
    """Twilio fails a prompt still queued when its validity period ends (30036): it asked
    nothing, and is held until the number's quiet hours end, then sent again (a review found
    it kept as sent, and the consent never asked about again for 30 days)."""
    contact = ContactFactory(phone=PHONE)
    awaiting(PHONE)
    with time_machine.travel(datetime(2026, 12, 7, 20, 59, 50, tzinfo=PACIFIC), tick=False):
        services.ask_to_confirm(PHONE, [Channel.SMS])
    [sent] = outbox
    assert sent["valid_for"] == 10
    with at(7, 21, 0):
        failed = {"MessageSid": sent["sid"], "MessageStatus": "failed", "ErrorCode": "30036",
                  "To": PHONE, "ErrorMessage": "Message expired"}  # fmt: skip
        assert post_signed("/webhooks/twilio/status/", failed).status_code == 200
        assert InboundEvent.objects.get().processed_at is not None  # its message was known
        assert services.send_held_prompts() == 1  # due again: held by the worker
        assert len(outbox) == 1
        assert card(admin_client, contact) == (
            "The text asking the number to confirm: held until its quiet hours end, at Tuesday "
            "08:00 their time (08:00–21:00 Pacific (CA)): 8 Dec 2026, 16:00 (UTC)."
        )
        first = ConfirmationPrompt.objects.get(sid=sent["sid"])
        assert first.sent_at is None and "could not deliver it" in first.not_sent
    with at(8, 8, 0):
        assert services.send_held_prompts() == 1
    assert len(outbox) == 2


def test_a_prompt_refused_otherwise_is_kept_as_not_sent(outbox, post_signed):
    ContactFactory(phone=PHONE)
    awaiting(PHONE)
    with at(7, 12, 0):
        services.ask_to_confirm(PHONE, [Channel.SMS])
        [sent] = outbox
        failed = {"MessageSid": sent["sid"], "MessageStatus": "undelivered", "ErrorCode": "30003",
                  "To": PHONE, "ErrorMessage": "Unreachable destination handset"}  # fmt: skip
        post_signed("/webhooks/twilio/status/", failed)
        prompt = ConfirmationPrompt.objects.get()
        assert prompt.sent_at is None
        assert prompt.not_sent == (
            "the provider could not deliver it: Unreachable destination handset"
        )
        assert services.send_held_prompts() == 0  # not asked again by itself
        # Asked again by staff, it goes: no text asked about it.
        assert services.ask_to_confirm(PHONE, [Channel.SMS]).startswith("A text asked")
    assert len(outbox) == 2


def test_an_import_at_night_holds_its_prompts_until_each_number_s_morning(outbox):
    """At 19:30 in San Francisco it is 22:30 in New York: the New York number's text waits
    until 08:00 there, the San Francisco one goes."""
    data = (
        b"Name,Phone,Consent to,Consent method,Consent date,Confirm by text\n"
        b"Ana,(415) 555-0101,sms,web form,2025-03-01,yes\n"
        b"Ben,(212) 555-0102,sms,web form,2025-03-01,yes\n"
    )
    with at(7, 19, 30):
        contact_import = imports.store(File(io.BytesIO(data), name="x.csv"), by_user=None)
        imports.check(contact_import)
        assert imports.start_applying(contact_import)
        imports.apply(contact_import)
        assert not outbox  # kept with the batch: the worker sends them
        assert services.send_held_prompts() == 2
    assert [message["to"] for message in outbox] == ["+14155550101"]
    held = ConfirmationPrompt.objects.get(sent_at=None)
    assert held.phone == "+12125550102"
    assert held.send_at == datetime(2026, 12, 8, 8, tzinfo=ZoneInfo("America/New_York"))
    with at(8, 5, 0):  # 08:00 in New York
        assert services.send_held_prompts() == 1
    assert [message["to"] for message in outbox] == ["+14155550101", "+12125550102"]


def test_a_held_prompt_is_checked_again_before_it_goes(admin_client, outbox):
    """A STOP, a contact made inactive or deleted or moved to another number, a report of
    reassignment while it is held: it is not sent, and keeps why."""
    numbers = stopped, inactive, reassigned, deleted, moved = [
        f"+1415555010{n}" for n in range(1, 6)
    ]
    for phone in numbers:
        ContactFactory(phone=phone)
        awaiting(phone)
        with at(7, 23, 0):
            services.ask_to_confirm(phone, [Channel.SMS])
    services.record_hard_opt_out(phone=stopped, channel=Channel.SMS, source=Source.KEYWORD)
    Contact.objects.filter(phone=inactive).update(status=Contact.Status.DO_NOT_CONTACT)
    services.record_reassigned(phone=reassigned, how="reply", words="Wrong number")
    services.delete_contact(contact=Contact.objects.get(phone=deleted))
    mover = Contact.objects.get(phone=moved)
    mover.phone = "+14155550999"
    mover.save()
    with at(8, 9, 0):
        assert services.send_held_prompts() == 5
    assert not outbox
    not_sent = dict(ConfirmationPrompt.objects.values_list("phone", "not_sent"))
    assert not_sent[stopped] == "the number opted out of texts."
    assert not_sent[inactive] == (
        "a contact with the number is not active: record the consent again once it is."
    )
    assert not_sent[reassigned].startswith("the number was reported reassigned (replied")
    assert not_sent[deleted] == not_sent[moved] == "nothing awaits confirmation any more."
    assert not ConfirmationPrompt.objects.filter(sent_at__isnull=False).exists()
    assert card(admin_client, Contact.objects.get(phone=stopped)) == (
        "The text asking the number to confirm: not sent: the number opted out of texts."
    )
    with at(9, 9, 0):
        assert services.send_held_prompts() == 0  # not tried again


def test_a_held_prompt_waits_again_if_its_hours_moved(outbox):
    """A contact with the number now says it is in Florida: at 17:30 Pacific it is 20:30
    there, and Florida's window has closed."""
    ContactFactory(phone=PHONE)
    awaiting()
    with at(7, 22, 0):
        services.ask_to_confirm(PHONE, [Channel.SMS])
    ContactFactory(phone=PHONE, state="FL", time_zone="America/New_York")
    with at(8, 17, 30):
        ConfirmationPrompt.objects.update(send_at=datetime(2026, 12, 8, 17, tzinfo=PACIFIC))
        assert services.send_held_prompts() == 1
    assert not outbox
    prompt = ConfirmationPrompt.objects.get()
    assert prompt.send_at == datetime(2026, 12, 9, 8, tzinfo=PACIFIC)  # 11:00 in Florida
    assert prompt.sent_at is None and prompt.not_sent == ""
    with at(9, 8, 0):
        assert services.send_held_prompts() == 1
    assert len(outbox) == 1


def test_prompts_asked_for_one_number_at_night_go_as_one_text(outbox):
    ContactFactory(phone=PHONE)
    awaiting(PHONE, Channel.SMS, Channel.CALLS)
    with at(7, 22, 0):
        services.ask_to_confirm(PHONE, [Channel.SMS])
        services.ask_to_confirm(PHONE, [Channel.CALLS])
    assert ConfirmationPrompt.objects.get().channels == "sms calls"
    with at(8, 8, 0):
        assert services.send_held_prompts() == 1
    [sent] = outbox
    assert "reminders and offers by text and calls" in sent["body"]


def test_in_the_daytime_the_prompt_goes_at_once(outbox):
    ContactFactory(phone=PHONE)
    awaiting()
    with at(7, 8, 0):
        said = services.ask_to_confirm(PHONE, [Channel.SMS])
    assert said == "A text asked the number to reply YES within 30 days to confirm it."
    assert len(outbox) == 1
    assert ConfirmationPrompt.objects.get().sent_at is not None


def test_no_prompt_where_the_quiet_hours_never_end(outbox):
    """A Sydney number whose contact says Florida: no hour is open in both."""
    ContactFactory(phone="+61298765432", state="FL")
    awaiting("+61298765432")
    with at(7, 12, 0):
        said = services.ask_to_confirm("+61298765432", [Channel.SMS])
    assert said.startswith("No text asked to confirm it: the number's quiet hours never end (")
    assert not outbox
    assert ConfirmationPrompt.objects.get().not_sent.startswith("the number's quiet hours never")


def test_without_quiet_hours_a_prompt_goes_at_any_hour_and_a_held_one_shows(
    admin_client, settings, outbox
):
    contact = ContactFactory(phone=PHONE)
    awaiting()
    with at(7, 3, 0):
        services.ask_to_confirm(PHONE, [Channel.SMS])
        settings.QUIET_HOURS = None
        assert card(admin_client, contact).startswith(
            "The text asking the number to confirm: held until its quiet hours end, at Monday 08:00"
        )
        assert services.send_held_prompts() == 0  # not due yet
        ContactFactory(phone="+14155550101")
        awaiting("+14155550101")
        services.ask_to_confirm("+14155550101", [Channel.SMS])
    assert [message["to"] for message in outbox] == ["+14155550101"]


def test_a_database_error_after_the_hand_over_sends_it_not_again(outbox, monkeypatch):
    """The provider took the text, then the transaction failed (the connection lost, say):
    the prompt says it may have gone and is never sent again, and the next one goes."""
    for phone in (PHONE, "+14155550101"):
        ContactFactory(phone=phone)
        awaiting(phone)
        with at(7, 22, 0):
            services.ask_to_confirm(phone, [Channel.SMS])
    save = ConfirmationPrompt.save

    def failing(self, *args, **kwargs):
        if self.phone == PHONE and self.sid:
            raise OperationalError("server closed the connection unexpectedly")
        return save(self, *args, **kwargs)

    monkeypatch.setattr(ConfirmationPrompt, "save", failing)
    with at(8, 8, 0):
        for _ in range(3):  # three passes of the worker
            services.send_held_prompts()
    assert sorted(message["to"] for message in outbox) == ["+14155550101", PHONE]
    prompt = ConfirmationPrompt.objects.get(phone=PHONE)
    assert (prompt.sent_at, prompt.not_sent) == (None, services.HANDING_OVER)


def test_the_provider_asking_to_wait_holds_it_and_a_refusal_keeps_why(twilio):
    """Twilio's 429 at 08:00: tried again 5 minutes later. Its 500 (the text may have gone):
    not sent again, and the card says so."""
    ContactFactory(phone=PHONE)
    awaiting()
    with at(7, 22, 0):
        services.ask_to_confirm(PHONE, [Channel.SMS])
    StandIn.answers = ["too_many", "sent"]
    with at(8, 8, 0):
        assert services.send_held_prompts() == 1
        assert services.send_held_prompts() == 0
    prompt = ConfirmationPrompt.objects.get()
    assert (prompt.sent_at, prompt.send_at) == (None, datetime(2026, 12, 8, 8, 5, tzinfo=PACIFIC))
    assert prompt.held_for.startswith("to be looked at again in 5 minutes (the provider asked")
    with at(8, 8, 5):
        assert services.send_held_prompts() == 1
    prompt.refresh_from_db()
    assert prompt.sent_at is not None and prompt.sid.startswith("SM")
    assert len(StandIn.requests) == 2

    ContactFactory(phone="+14155550101")
    awaiting("+14155550101")
    StandIn.answers = ["server_error"]
    with at(8, 9, 0):
        said = services.ask_to_confirm("+14155550101", [Channel.SMS])
        assert services.send_held_prompts() == 0
    assert said.startswith("The text asking to confirm it may have gone (")
    failed = ConfirmationPrompt.objects.get(phone="+14155550101")
    assert failed.maybe_sent and failed.not_sent.startswith("the provider did not say whether")
    assert failed.in_words(datetime.now(PACIFIC)).startswith(
        "may have gone: the provider did not say whether it took it ("
    )
    assert len(StandIn.requests) == 3


def test_the_card_says_when_the_days_to_reply_ended(admin_client, outbox):
    contact = ContactFactory(phone=PHONE)
    awaiting()
    with at(7, 12, 0):
        services.ask_to_confirm(PHONE, [Channel.SMS])
        # Sent by the database's clock, which no test moves: as if then.
        ConfirmationPrompt.objects.update(sent_at=datetime.now(PACIFIC))
        assert card(admin_client, contact) == (
            "The text asking the number to confirm: sent 7 Dec 2026, 20:00, asking about SMS; "
            "a YES by 6 Jan 2027, 20:00 confirms it."
        )
    ConfirmationPrompt.objects.update(sent_at=datetime(2026, 10, 28, 12, tzinfo=PACIFIC))
    with at(7, 12, 0):
        assert card(admin_client, contact) == (
            "The text asking the number to confirm: sent 28 Oct 2026, 19:00; the 30 days to "
            "reply ended 27 Nov 2026, 19:00."
        )
    with at(7, 12, 0) as traveller:
        ConfirmationPrompt.objects.update(sent_at=None, not_sent="", send_at=datetime.now(PACIFIC))
        traveller.shift(timedelta(minutes=3))
        assert card(admin_client, contact) == (
            "The text asking the number to confirm: due since 7 Dec 2026, 20:00: the task "
            "worker looks every 60 s."
        )


def test_a_reply_not_read_yet_holds_the_prompt_back(outbox):
    """A STOP kept but not processed (its processing failed; the worker reads it within
    seconds), as broadcasts treat it: the prompt waits, and goes only if it was no STOP."""
    ContactFactory(phone=PHONE)
    awaiting()
    kept = dict(kind="sms", payload={"From": PHONE, "Body": "STOP"}, phone=PHONE)
    InboundEvent.store(key="sms:SMkept", **kept)
    with at(7, 9, 0):
        said = services.ask_to_confirm(PHONE, [Channel.SMS])
    assert said == (
        "A text will ask the number to reply YES within 30 days to confirm it, held to be "
        "looked at again in 5 minutes (a reply of the number is not processed yet: it may be a "
        "STOP)."
    )
    with at(7, 9, 5):
        assert services.send_held_prompts() == 1  # still not read: held again
    assert not outbox
    InboundEvent.objects.filter(key="sms:SMkept").update(processed_at=datetime.now(PACIFIC))
    with at(7, 9, 10):
        assert services.send_held_prompts() == 1
    assert len(outbox) == 1


def test_the_carrier_s_opt_out_on_a_prompt_is_the_number_s_opt_out(
    twilio, django_capture_on_commit_callbacks
):
    ContactFactory(phone=PHONE)
    awaiting()
    StandIn.answers = ["opted_out"]
    with at(7, 9, 0), django_capture_on_commit_callbacks(execute=True):
        services.ask_to_confirm(PHONE, [Channel.SMS])
    opt_out = PhoneOptOut.objects.get(phone=PHONE, channel=Channel.SMS)
    assert opt_out.source == Source.CARRIER
    assert ConfirmationPrompt.objects.get().not_sent == (
        "the carrier says the number opted out (21610)."
    )


def test_a_second_ask_of_what_a_text_asked_already_sends_none(admin_client, outbox):
    """Asked twice (the consent form sent twice, say): the second finds the first text asks
    about it; consent recorded after that text is asked about again."""
    contact = ContactFactory(phone=PHONE)
    awaiting()
    with at(7, 9, 0):
        services.ask_to_confirm(PHONE, [Channel.SMS])
        said = services.ask_to_confirm(PHONE, [Channel.SMS])
    assert said == (
        "No text asked to confirm it: a text sent since the consent was recorded asks about it "
        "already."
    )
    assert len(outbox) == 1
    assert card(admin_client, contact).startswith("The text asking the number to confirm: sent ")
    awaiting(PHONE, Channel.CALLS)
    with at(7, 9, 5):
        services.ask_to_confirm(PHONE, [Channel.SMS, Channel.CALLS])
    assert len(outbox) == 2 and "reminders and offers, up to" not in outbox[-1]["body"]
    assert "our calls" in outbox[-1]["body"]


def test_a_failure_before_the_hand_over_holds_the_prompt_to_be_looked_at_again(outbox, monkeypatch):
    """The database busy at 08:00 (SQLite's "database is locked", say), before anything went:
    the prompt is held again, not left as one that may have gone; the form says so too."""
    ContactFactory(phone=PHONE)
    awaiting()
    with at(7, 22, 0):
        services.ask_to_confirm(PHONE, [Channel.SMS])
    places_of, failures = quiet_hours.places_of, []

    def busy_once(phone):
        if not failures:
            failures.append(phone)
            raise OperationalError("database is locked")
        return places_of(phone)

    monkeypatch.setattr(quiet_hours, "places_of", busy_once)
    with at(8, 8, 0):
        assert services.send_held_prompts() == 1
    prompt = ConfirmationPrompt.objects.get()
    assert (prompt.sent_at, prompt.maybe_sent, prompt.not_sent) == (None, False, "")
    assert prompt.held_for == "to be looked at again in 5 minutes (database is locked)"
    with at(8, 8, 5):
        assert services.send_held_prompts() == 1
    assert len(outbox) == 1

    ContactFactory(phone="+14155550101")
    awaiting("+14155550101")
    failures.clear()
    with at(8, 9, 0):
        said = services.ask_to_confirm("+14155550101", [Channel.SMS])
    assert said == (
        "A text will ask the number to reply YES within 30 days to confirm it, held to be "
        "looked at again in 5 minutes (database is locked)."
    )
