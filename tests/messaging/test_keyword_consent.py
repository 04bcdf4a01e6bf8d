"""A contact who texts JOIN, SUBSCRIBE, START or the business's own keyword gives consent to
texts: it is recorded with their message as its proof, and confirmed once in the words
carriers require (the business, which messages and how often, rates, HELP, STOP)."""

import re
from html import unescape

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import IntegrityError, transaction

from contacts import services
from contacts.models import (
    Channel,
    ConsentRecord,
    Contact,
    Disclosure,
    OptInStatus,
)
from messaging.inbound import joined_reply
from messaging.models import InboundEvent
from messaging.sms import count_segments
from tests.factories import ContactFactory

PHONE = "+14155550123"


def reply(response) -> str:
    """The one message answered, as the contact reads it ("" if none)."""
    assert response.status_code == 200
    messages = re.findall(r"<Message>(.*?)</Message>", response.content.decode(), re.S)
    assert len(messages) <= 1
    return unescape(messages[0]) if messages else ""


def sms_status(contact: Contact) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS)


@pytest.mark.parametrize("body", ["JOIN", " join ", "Subscribe!", "START"])
def test_a_keyword_from_an_unknown_number_is_consent_on_record_and_confirmed(sms, body):
    answer = reply(sms(body, sid="SMjoin1"))
    record = ConsentRecord.objects.get()
    assert (record.phone, record.channel, record.method) == (PHONE, "sms", "keyword")
    assert (record.words, record.reference, record.contact) == (body, "sms:SMjoin1", None)
    assert record.recorded_by is None and record.status == "confirmed"
    assert record.given_at == InboundEvent.objects.get().received_at
    assert answer == (
        "Demo Dental: you're subscribed to reminders and offers, up to 4 msgs/mo. Msg & data "
        "rates may apply. Reply HELP for help, STOP to cancel."
    )
    assert count_segments(answer).segments == 1


def test_the_confirmation_says_the_settings_and_a_contact_gets_consent_on_record(sms, settings):
    settings.BUSINESS_NAME, settings.SMS_PROGRAM = "Smile Dental", "appointment reminders"
    settings.SMS_FREQUENCY = "2 msgs/mo"
    contact = ContactFactory(phone=PHONE)
    answer = reply(sms("JOIN"))
    assert answer.startswith("Smile Dental: you're subscribed to appointment reminders, 2 msgs/mo.")
    assert ConsentRecord.objects.get().contact == contact
    assert (
        Contact.objects.get(pk=contact.pk)
        .consent_for(Channel.SMS)
        .describe()
        .startswith("replied “JOIN” on ")
    )


def test_join_lifts_a_soft_opt_out_as_the_contacts_own_wish(sms, admin_role_user):
    contact = ContactFactory(phone=PHONE)
    services.unsubscribe(contact=contact, channel=Channel.SMS, by_user=admin_role_user)
    sms("JOIN")
    assert sms_status(contact) == OptInStatus.SUBSCRIBED
    lifted = contact.consent_events.order_by("-id").first()
    assert (lifted.before, lifted.after, lifted.source, lifted.how) == (
        "soft", "subscribed", "join", "replied “JOIN”",
    )  # fmt: skip


def test_join_from_a_number_that_said_stop_asks_for_start_and_records_nothing(sms):
    contact = ContactFactory(phone=PHONE)
    sms("STOP")
    answer = reply(sms("JOIN"))
    assert answer == (
        "Demo Dental: you unsubscribed from our texts. Reply START to receive them again."
    )
    assert not ConsentRecord.objects.exists()
    assert sms_status(contact) == OptInStatus.HARD

    reply(sms("START"))  # the contact's own new consent lifts it, and is on record
    assert sms_status(contact) == OptInStatus.SUBSCRIBED
    assert ConsentRecord.objects.get().words == "START"


def test_yes_with_nothing_to_lift_is_an_answer_to_something_else(sms):
    ContactFactory(phone=PHONE)
    assert reply(sms("Yes")) == ""
    assert not ConsentRecord.objects.exists()


def test_yes_after_stop_lifts_it_and_is_consent_on_record(sms):
    contact = ContactFactory(phone=PHONE)
    sms("STOP")
    assert "you're subscribed" in reply(sms("YES"))
    assert sms_status(contact) == OptInStatus.SUBSCRIBED
    assert ConsentRecord.objects.get().words == "YES"


def test_the_business_s_own_keyword_is_consent(sms, settings):
    settings.CONSENT_KEYWORDS = ["SMILE"]
    assert "you're subscribed" in reply(sms("smile"))
    assert ConsentRecord.objects.get().words == "smile"


@pytest.mark.parametrize(
    "body", ["I'd like to join the waiting list", "Can I subscribe my husband?", "smile"]
)
def test_a_keyword_inside_a_sentence_or_unknown_is_not_consent(sms, body):
    assert reply(sms(body)) == ""
    assert not ConsentRecord.objects.exists()


def test_a_retried_webhook_records_consent_once(sms):
    first = reply(sms("JOIN", sid="SMtwice"))
    assert reply(sms("JOIN", sid="SMtwice")) == first
    assert ConsentRecord.objects.count() == 1


def test_a_second_join_is_recorded_again_and_the_newest_is_shown(sms):
    contact = ContactFactory(phone=PHONE)
    sms("JOIN")
    sms("Subscribe")
    assert ConsentRecord.objects.count() == 2
    assert Contact.objects.get(pk=contact.pk).consent_for(Channel.SMS).words == "Subscribe"


def test_the_keyword_disclosure_is_kept_with_the_consent(sms, settings):
    settings.KEYWORD_DISCLOSURE = "Poster"
    Disclosure.objects.create(title="Poster", version=1, text="Text JOIN to 555")
    newest = Disclosure.objects.create(title="Poster", version=2, text="Text JOIN to 555 now")
    sms("JOIN")
    assert ConsentRecord.objects.get().disclosure == newest


def test_help_names_the_business_and_how_to_reach_it(sms, settings):
    settings.BUSINESS_NAME, settings.BUSINESS_CONTACT = "Smile Dental", "smile.example.com"
    assert reply(sms("HELP")) == "Smile Dental: help at smile.example.com. Reply STOP to opt out."


def test_a_consent_keyword_that_means_stop_or_help_stops_every_command(settings):
    settings.CONSENT_KEYWORDS = ["SMILE", "STOP", "help"]
    with pytest.raises(SystemCheckError) as raised:
        call_command("check")
    message = str(raised.value)
    assert "messaging.E003" in message and "'STOP'" in message and "'help'" in message
    assert "'SMILE'" not in message


def test_a_confirmation_longer_than_one_segment_is_warned_of(settings, capsys):
    settings.SMS_PROGRAM = "appointment reminders, recall notices, offers and news " * 2
    assert count_segments(joined_reply()).segments > 1
    call_command("check")
    assert "messaging.W003" in capsys.readouterr().err


def test_a_keyword_consent_is_evidence_that_cannot_be_rewritten(sms):
    sms("JOIN")
    record = ConsentRecord.objects.get()
    with pytest.raises(IntegrityError, match="keeps what was given"), transaction.atomic():
        ConsentRecord.objects.filter(pk=record.pk).update(words="JOIN, said the form")
    assert ConsentRecord.objects.get().words == "JOIN"


def test_a_business_keyword_that_misspells_stop_stays_a_request_to_stop(sms, settings):
    settings.CONSENT_KEYWORDS = ["STOPP"]
    contact = ContactFactory(phone=PHONE)
    assert "unsubscribed" in reply(sms("stopp"))
    assert sms_status(contact) == OptInStatus.HARD and not ConsentRecord.objects.exists()
