"""A number's replies are acted on in the order they came, whoever processes them: a START or
a 1 kept for the worker (the webhook could not process it in time) never lifts the STOP or
the 9 that the number sent after it, and the confirmation of a kept JOIN never follows a
STOP."""

import pytest
from django.db import connection
from django.utils import timezone

from broadcasts import sending
from broadcasts import services as broadcasts
from contacts import services
from contacts.models import Channel, Contact, OptInStatus, Source
from messaging import inbound
from messaging.models import InboundEvent
from tests.broadcasts.engine import broadcast
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db
PHONE = "+14155550123"
BUSINESS = "+14155559999"
SUBSCRIBED_TEXT = "you're subscribed"


def status(contact: Contact, channel: Channel) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(channel)


def sweep() -> list[tuple[str, Exception | None]]:
    return list(inbound.process_pending(received_before=timezone.now()))


def broadcast_reaches(phone: str, settings, outbox) -> bool:
    """Whether an SMS broadcast to everyone, launched and sent now, texts `phone`."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.MARKETING_NEEDS_CONSENT, settings.BROADCAST_RATE = False, 10_000
    outbox.clear()
    launched = broadcast(Channel.SMS)
    broadcasts.launch(broadcast=launched, by_user=UserFactory(role="Manager"))
    sending.run(launched.pk)
    return any(message["to"] == phone for message in outbox)


def test_a_start_kept_for_the_worker_never_lifts_the_stop_sent_after_it(
    sms, outbox, monkeypatch, settings
):
    contact = ContactFactory(phone=PHONE)
    with monkeypatch.context() as busy:
        busy.setitem(inbound.HANDLERS, "sms", lambda payload, **reading: 1 / 0)
        assert sms("START", phone=PHONE, sid="SMstart").status_code == 200
    assert InboundEvent.objects.get(key="sms:SMstart").processed_at is None  # kept

    answer = sms("STOP", phone=PHONE, sid="SMstop").content.decode()
    assert "You have been unsubscribed" in answer
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    start, stop = InboundEvent.objects.order_by("id")
    assert start.processed_at <= stop.processed_at  # the START first, by the STOP's webhook

    assert sweep() == []  # nothing left for the worker
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert not [m for m in outbox if SUBSCRIBED_TEXT in m["body"]]
    assert not broadcast_reaches(PHONE, settings, outbox)


def test_a_1_kept_for_the_worker_never_lifts_the_9_pressed_after_it(post_signed, monkeypatch):
    contact = ContactFactory(phone=PHONE)
    services.record_hard_opt_out(
        phone=PHONE, channel=Channel.CALLS, source=Source.DIGIT, words="pressed 9"
    )
    again = {"CallSid": "CA1", "From": PHONE, "To": BUSINESS, "Digits": "1",
             "Direction": "inbound"}  # fmt: skip
    with monkeypatch.context() as busy:
        busy.setitem(inbound.HANDLERS, "digits", lambda payload: 1 / 0)
        post_signed("/webhooks/twilio/voice/gather/?digit=9&resubscribe=1", again)
    assert InboundEvent.objects.get(key="digits:CA1:1").processed_at is None  # kept

    stop = again | {"CallSid": "CA2", "Digits": "9"}
    answer = post_signed("/webhooks/twilio/voice/gather/?digit=9", stop).content.decode()
    assert "You will receive no more calls from us." in answer
    sweep()
    assert status(contact, Channel.CALLS) == OptInStatus.HARD


def test_a_stop_stays_kept_behind_a_start_that_fails_again(sms, outbox, monkeypatch, settings):
    """The START cannot be processed for a while: the STOP after it is confirmed at once and
    kept behind it (no message reaches the number meanwhile); the worker then processes both,
    in order."""
    contact = ContactFactory(phone=PHONE)
    with monkeypatch.context() as busy:
        busy.setitem(inbound.HANDLERS, "sms", lambda payload, **reading: 1 / 0)
        sms("START", phone=PHONE, sid="SMstart")
        answer = sms("STOP", phone=PHONE, sid="SMstop").content.decode()
    assert "You have been unsubscribed" in answer
    stop = InboundEvent.objects.get(key="sms:SMstop")
    assert stop.processed_at is None and "ZeroDivisionError" in stop.error
    assert not broadcast_reaches(PHONE, settings, outbox)  # a kept reply holds its number

    assert [error for _, error in sweep()] == [None, None]
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert not [m for m in outbox if SUBSCRIBED_TEXT in m["body"]]


@pytest.mark.postgres
def test_a_start_that_waited_too_long_for_its_lock_is_processed_before_the_stop(
    sms, outbox, settings
):
    """As the reviewer found it: an import or a bulk change holds the number while a START
    comes, past INBOUND_LOCK_TIMEOUT; a STOP comes when it is done."""
    import psycopg

    contact = ContactFactory(phone=PHONE)
    settings.INBOUND_LOCK_TIMEOUT = 0.2
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as other:
        # As an import batch holds the numbers of the contacts it writes.
        other.execute("SELECT pg_advisory_xact_lock_shared(hashtextextended(%s, 0))", [PHONE])
        assert sms("START", phone=PHONE, sid="SMstart").status_code == 200
        assert "lock timeout" in InboundEvent.objects.get(key="sms:SMstart").error
        other.rollback()
    assert "You have been unsubscribed" in sms("STOP", phone=PHONE, sid="SMstop").content.decode()
    assert sweep() == []
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert not [m for m in outbox if SUBSCRIBED_TEXT in m["body"]]
