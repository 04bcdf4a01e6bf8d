"""A number's replies keep their order whoever processes them and when: a START or a 1 kept
for the worker (the webhook could not process it in time) lifts only the opt-outs made before
it came, never the STOP or the 9 the number sent after it; and the confirmation of a kept JOIN
never follows a STOP. A reply that cannot be processed holds up no other."""

import pytest
from django.db import connection
from django.utils import timezone

from broadcasts import sending
from broadcasts import services as broadcasts
from contacts import services
from contacts.models import Channel, Contact, OptInStatus, PhoneOptOut, Source
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


def busy(payload, **reading):
    raise RuntimeError("the database is busy")


def subscribed_texts(outbox) -> list[dict]:
    return [message for message in outbox if SUBSCRIBED_TEXT in message["body"]]


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
    with monkeypatch.context() as patched:
        patched.setitem(inbound.HANDLERS, "sms", busy)
        assert sms("START", phone=PHONE, sid="SMstart").status_code == 200
    assert InboundEvent.objects.get(key="sms:SMstart").processed_at is None  # kept

    answer = sms("STOP", phone=PHONE, sid="SMstop").content.decode()
    assert "You have been unsubscribed" in answer
    assert status(contact, Channel.SMS) == OptInStatus.HARD

    assert sweep() == [("sms:SMstart", None)]
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert PhoneOptOut.objects.filter(phone=PHONE, channel=Channel.SMS).exists()
    assert not subscribed_texts(outbox)
    assert not broadcast_reaches(PHONE, settings, outbox)


def test_a_start_kept_for_the_worker_never_lifts_a_stop_said_again_after_it(
    sms, outbox, monkeypatch
):
    """Opted out already, the number sends START, then STOP again: the opt-out it stood by
    is older than the START, but the number's last word is to stop."""
    contact = ContactFactory(phone=PHONE)
    sms("STOP", phone=PHONE, sid="SMstop1")
    with monkeypatch.context() as patched:
        patched.setitem(inbound.HANDLERS, "sms", busy)
        sms("START", phone=PHONE, sid="SMstart")
    sms("Stop texting me", phone=PHONE, sid="SMstop2")
    sweep()
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert not subscribed_texts(outbox)


def test_a_start_kept_for_the_worker_still_lifts_the_stop_sent_before_it(sms, outbox, monkeypatch):
    contact = ContactFactory(phone=PHONE)
    sms("STOP", phone=PHONE, sid="SMstop")
    with monkeypatch.context() as patched:
        patched.setitem(inbound.HANDLERS, "sms", busy)
        sms("START", phone=PHONE, sid="SMstart")
    assert status(contact, Channel.SMS) == OptInStatus.HARD  # until the worker's look
    assert sweep() == [("sms:SMstart", None)]
    assert status(contact, Channel.SMS) == OptInStatus.SUBSCRIBED
    [late] = subscribed_texts(outbox)  # the confirmation the webhook could not give
    assert late["to"] == PHONE


def test_a_join_kept_for_the_worker_never_lifts_a_soft_opt_out_made_after_it(
    sms, outbox, monkeypatch, admin_role_user
):
    contact = ContactFactory(phone=PHONE)
    with monkeypatch.context() as patched:
        patched.setitem(inbound.HANDLERS, "sms", busy)
        sms("JOIN", phone=PHONE, sid="SMjoin")
    services.unsubscribe(contact=contact, channel=Channel.SMS, by_user=admin_role_user)
    sweep()
    assert status(contact, Channel.SMS) == OptInStatus.SOFT
    assert not subscribed_texts(outbox)  # it may not receive texts


def test_a_1_kept_for_the_worker_never_lifts_the_9_pressed_after_it(post_signed, monkeypatch):
    contact = ContactFactory(phone=PHONE)
    services.record_hard_opt_out(
        phone=PHONE, channel=Channel.CALLS, source=Source.DIGIT, words="pressed 9"
    )
    again = {"CallSid": "CA1", "From": PHONE, "To": BUSINESS, "Digits": "1",
             "Direction": "inbound"}  # fmt: skip
    with monkeypatch.context() as patched:
        patched.setitem(inbound.HANDLERS, "digits", busy)
        post_signed("/webhooks/twilio/voice/gather/?digit=9&resubscribe=1", again)
    assert InboundEvent.objects.get(key="digits:CA1:1").processed_at is None  # kept

    stop = again | {"CallSid": "CA2", "Digits": "9"}
    answer = post_signed("/webhooks/twilio/voice/gather/?digit=9", stop).content.decode()
    assert "You will receive no more calls from us." in answer
    assert sweep() == [("digits:CA1:1", None)]
    assert status(contact, Channel.CALLS) == OptInStatus.HARD


def test_a_reply_that_cannot_be_processed_holds_up_no_stop_after_it(sms, monkeypatch):
    """A reply that fails every time (a fault in its handling) leaves the number's STOP to be
    recorded at once, as any other."""
    contact = ContactFactory(phone=PHONE)
    handle = inbound.HANDLERS["sms"]

    def fails_on_poison(payload, **reading):
        if payload.get("Body") == "poison":
            raise RuntimeError("a fault")
        return handle(payload, **reading)

    monkeypatch.setitem(inbound.HANDLERS, "sms", fails_on_poison)
    sms("poison", phone=PHONE, sid="SMpoison")
    assert "You have been unsubscribed" in sms("STOP", phone=PHONE, sid="SMstop").content.decode()
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert [key for key, error in sweep() if error] == ["sms:SMpoison"]


def test_a_join_s_late_confirmation_goes_when_a_reply_after_it_was_processed_at_once(
    sms, outbox, monkeypatch
):
    ContactFactory(phone=PHONE)
    with monkeypatch.context() as patched:
        patched.setitem(inbound.HANDLERS, "sms", busy)
        sms("JOIN", phone=PHONE, sid="SMjoin")
    sms("Thanks!", phone=PHONE, sid="SMthanks")
    sweep()
    [late] = subscribed_texts(outbox)
    assert late["to"] == PHONE


@pytest.mark.postgres
def test_a_start_that_waited_too_long_for_its_lock_never_lifts_the_stop_after_it(
    sms, outbox, settings
):
    """As the reviewer found it: an import holds the number while a START comes, past
    INBOUND_LOCK_TIMEOUT; the STOP comes when the import is done."""
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
    assert sweep() == [("sms:SMstart", None)]
    assert status(contact, Channel.SMS) == OptInStatus.HARD
    assert not subscribed_texts(outbox)
