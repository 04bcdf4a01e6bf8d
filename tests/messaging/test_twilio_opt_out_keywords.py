"""A reply that Twilio read as an opt-out keyword and stopped itself (a Messaging Service's
Advanced Opt-Out keywords, the business's own or another language's: its webhook says
OptOutType=STOP) is the number's hard opt-out here too, whatever its words, with the
revocation's scope: a cold review found "EXIT" recorded nowhere, and the number's calls going
on under revoke-all. Twilio's START the app reads by its own rules."""

import pytest

from contacts.models import Channel, ConsentEvent, Contact, OptInStatus, PhoneOptOut
from messaging import inbound
from messaging.models import InboundEvent
from tests.factories import ContactFactory
from tests.messaging.test_kept_in_order import busy, sweep

PHONE = "+14155550123"
SERVICE = {"MessagingServiceSid": "MG" + "0" * 32}
pytestmark = pytest.mark.django_db


def status(contact: Contact, channel: Channel) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(channel)


def test_a_stop_that_twilio_read_is_the_number_s_hard_opt_out(sms):
    contact = ContactFactory(phone=PHONE)
    answer = sms("HALT", phone=PHONE, OptOutType="STOP", **SERVICE).content.decode()
    assert "You have been unsubscribed from Demo Dental messages" in answer
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert status(contact, Channel.CALLS) == OptInStatus.SUBSCRIBED
    opt_out = PhoneOptOut.objects.get(phone=PHONE)
    assert (opt_out.words, opt_out.matched) == (
        "HALT",
        "an opt-out keyword of the messaging service (Twilio's OptOutType STOP)",
    )
    assert InboundEvent.objects.get().reading.startswith("opt-out: an opt-out keyword")
    assert ConsentEvent.objects.filter(phone=PHONE, after=OptInStatus.HARD).exists()


def test_under_revoke_all_it_stops_calls_too(sms, settings):
    settings.OPT_OUT_SCOPE = "all"
    contact = ContactFactory(phone=PHONE)
    sms("STOPPEN", phone=PHONE, OptOutType="stop", **SERVICE)
    assert status(contact, Channel.CALLS) == OptInStatus.HARD


def test_kept_for_the_worker_it_is_confirmed_at_once_and_held(sms, monkeypatch, outbox):
    contact = ContactFactory(phone=PHONE)
    with monkeypatch.context() as patched:
        patched.setitem(inbound.HANDLERS, "sms", busy)
        answer = sms("HALT", phone=PHONE, sid="SMhalt", OptOutType="STOP", **SERVICE)
    assert "You have been unsubscribed from Demo Dental messages" in answer.content.decode()
    assert InboundEvent.objects.get(key="sms:SMhalt").processed_at is None
    sweep()
    assert status(contact, Channel.SMS) == OptInStatus.HARD


def test_other_types_and_ordinary_words_change_nothing(sms):
    contact = ContactFactory(phone=PHONE)
    sms("HALT", phone=PHONE, **SERVICE)
    sms("INFO", phone=PHONE, OptOutType="HELP", **SERVICE)
    sms("Hi there", phone=PHONE, OptOutType="", **SERVICE)
    assert status(contact, Channel.SMS) == OptInStatus.SUBSCRIBED


def test_twilio_s_start_lifts_nothing_the_app_does_not_read_as_a_start(sms):
    contact = ContactFactory(phone=PHONE)
    sms("STOP", phone=PHONE)
    sms("REPRENDRE", phone=PHONE, OptOutType="START", **SERVICE)
    assert status(contact, Channel.SMS) == OptInStatus.HARD
