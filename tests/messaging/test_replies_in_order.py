"""A reply that may opt its number in (START) that comes while an earlier reply of its number
is kept for the worker (its processing failed) has that one processed first. A cold review
found a START after a kept STOP confirmed ("you're subscribed") and recorded, then undone
seconds later when the worker processed the STOP."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from contacts.models import Channel, Contact, OptInStatus
from messaging import inbound
from messaging.keywords import Intent, read
from messaging.models import InboundEvent
from tests.factories import ContactFactory
from tests.messaging.test_kept_in_order import busy, kept_sms, sweep

PHONE = "+14155550123"
pytestmark = pytest.mark.django_db


def status(contact: Contact) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS)


def test_a_start_after_a_kept_stop_has_the_stop_processed_first(sms, outbox, monkeypatch):
    contact = ContactFactory(phone=PHONE)
    kept_sms(sms, monkeypatch, "STOP", "SMstop")
    reply = sms("START", phone=PHONE, sid="SMstart").content.decode()
    assert "you're subscribed" in reply
    assert status(contact) == OptInStatus.SUBSCRIBED
    assert InboundEvent.objects.get(key="sms:SMstop").processed_at is not None
    sweep(timezone.now() + timedelta(seconds=1))
    assert status(contact) == OptInStatus.SUBSCRIBED  # the last word stands


def test_while_the_earlier_reply_still_fails_the_later_one_waits_behind_it(
    sms, outbox, monkeypatch
):
    """The START is not confirmed: kept behind the STOP, it is processed after it, late, and
    dropped (anything recorded after it drops a late START: the number may send it again)."""
    contact = ContactFactory(phone=PHONE)
    kept_sms(sms, monkeypatch, "STOP", "SMstop")
    handle = inbound.HANDLERS["sms"]

    def stops_fail(payload, **reading):
        return busy(payload) if payload["Body"] == "STOP" else handle(payload, **reading)

    with monkeypatch.context() as patched:
        patched.setitem(inbound.HANDLERS, "sms", stops_fail)
        reply = sms("START", phone=PHONE, sid="SMstart").content.decode()
    assert "subscribed" not in reply
    assert status(contact) == OptInStatus.SUBSCRIBED  # the STOP is not processed yet
    assert InboundEvent.objects.filter(processed_at=None).count() == 2
    processed = sweep(timezone.now() + timedelta(seconds=1))
    assert processed == [("sms:SMstop", None), ("sms:SMstart", None)]
    assert status(contact) == OptInStatus.HARD


def test_replies_of_other_numbers_are_not_held_back(sms, outbox, monkeypatch):
    kept_sms(sms, monkeypatch, "STOP", "SMstop")
    other = ContactFactory(phone="+14155550177")
    sms("STOP", phone="+14155550177", sid="SMother")
    assert status(other) == OptInStatus.HARD
    assert InboundEvent.objects.get(key="sms:SMstop").processed_at is None


def test_past_a_few_kept_replies_the_opt_in_waits_for_the_worker(sms, outbox, monkeypatch):
    """Each kept reply may wait INBOUND_LOCK_TIMEOUT for its locks: a webhook's answer does
    not wait for more than CATCH_UP_AT_MOST of them."""
    contact = ContactFactory(phone=PHONE)
    for n in range(inbound.CATCH_UP_AT_MOST + 1):
        kept_sms(sms, monkeypatch, "Thanks!", f"SMkept{n}")
    sms("STOP", phone=PHONE, sid="SMstop")  # at once
    reply = sms("START", phone=PHONE, sid="SMstart").content.decode()
    assert "subscribed" not in reply
    assert InboundEvent.objects.filter(processed_at=None).count() == inbound.CATCH_UP_AT_MOST + 2
    assert status(contact) == OptInStatus.HARD


def test_when_catching_up_fails_the_opt_in_is_kept(sms, outbox, monkeypatch):
    contact = ContactFactory(phone=PHONE)
    kept_sms(sms, monkeypatch, "STOP", "SMstop")

    def away(event, **kwargs):
        raise ConnectionError("the database is away")

    monkeypatch.setattr(inbound, "catch_up", away)
    response = sms("START", phone=PHONE, sid="SMstart")
    assert response.status_code == 200 and "subscribed" not in response.content.decode()
    assert InboundEvent.objects.get(key="sms:SMstart").processed_at is None
    assert status(contact) == OptInStatus.SUBSCRIBED  # nothing processed yet


@given(
    st.one_of(
        st.text(max_size=30),
        st.sampled_from(["START", " yes! ", "Join", "SUBSCRIBE", "UNSTOP", "Start?", "ok"]),
    )
)
def test_every_reply_read_as_an_opt_in_is_caught_up_for(body):
    """may_opt_in is the cheap test of the words (a long reply takes milliseconds to read):
    whatever reading takes as an opt-in or a join, it catches up for."""
    event = InboundEvent(kind=InboundEvent.Kind.SMS, payload={"Body": body}, phone=PHONE)
    if read(body).intent in (Intent.OPT_IN, Intent.JOIN):
        assert inbound.may_opt_in(event)
