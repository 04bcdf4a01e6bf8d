"""A START, YES or JOIN asked as a question ("Yes?", "Start?", "Join?") is no one's new
consent: it lifts no opt-out, confirms nothing and records no consent (a cold review found
"Yes?" lifting the contact's own "Please remove my number", which Twilio had not read as a
STOP, so nothing else stopped the texts). Said plainly, with any other punctuation, it still
does."""

import pytest
from django.utils import timezone

from contacts import services
from contacts.models import Channel, ConsentRecord, Contact, OptInStatus
from messaging.keywords import Intent, read
from tests.factories import ContactFactory

PHONE = "+14155550123"
pytestmark = pytest.mark.django_db


def status(contact: Contact, channel: Channel) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(channel)


@pytest.mark.parametrize("body", ["Yes?", "Start?", "yes??", "¿Start", "UNSTOP ?"])
def test_a_question_does_not_lift_the_contact_s_own_stop(sms, body):
    contact = ContactFactory(phone=PHONE)
    sms("Please remove my number", phone=PHONE)
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert sms(body, phone=PHONE).content.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?><Response />'
    )
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert read(body).intent == Intent.OTHER


@pytest.mark.parametrize("body", ["Start!", " start ", "START."])
def test_a_start_said_plainly_lifts_it(sms, body):
    contact = ContactFactory(phone=PHONE)
    sms("Please remove my number", phone=PHONE)
    sms(body, phone=PHONE)
    assert status(contact, Channel.SMS) == OptInStatus.SUBSCRIBED


def test_a_question_confirms_no_consent_awaiting_confirmation(sms, outbox):
    ContactFactory(phone=PHONE)
    services.record_consent(
        phone=PHONE, channel=Channel.SMS, method="web_form", given_at=timezone.now(),
        awaiting=True,
    )  # fmt: skip
    services.ask_to_confirm(PHONE, [Channel.SMS])
    assert len(outbox) == 1
    sms("Yes?", phone=PHONE)
    assert ConsentRecord.objects.get().status == ConsentRecord.Status.AWAITING
    sms("Yes", phone=PHONE)
    assert ConsentRecord.objects.get().status == ConsentRecord.Status.CONFIRMED


@pytest.mark.parametrize("body", ["Join?", "subscribe ?"])
def test_a_join_asked_records_no_consent(sms, body):
    ContactFactory(phone=PHONE)
    sms(body, phone=PHONE)
    assert not ConsentRecord.objects.exists()
    sms("Join", phone=PHONE)
    assert ConsentRecord.objects.get().words == "Join"
