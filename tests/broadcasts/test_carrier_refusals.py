"""A carrier's opt-out (21610) met on any path that sends is kept and recorded, as the
revocation of the channel it came by, and never over the contact's own consent given since.
(A review of the first form of keep_carrier_opt_out found each of these three.)"""

import pytest
from django.utils import timezone

from broadcasts import sending, services
from contacts.models import Channel, PhoneOptOut
from messaging import inbound
from messaging.backends import LocmemBackend, RecipientOptedOut
from messaging.models import InboundEvent
from tests.broadcasts.engine import broadcast
from tests.factories import ContactFactory
from tests.twilio_standin import StandIn

pytestmark = pytest.mark.django_db
PHONE = "+14155550123"


def test_a_21610_met_by_the_late_confirmation_of_a_kept_join_is_kept(
    monkeypatch, django_capture_on_commit_callbacks
):
    """The worker processes a JOIN the webhook kept and texts its confirmation, which the
    provider refuses: the refusal is kept (it was rolled back with the TextOptedOut that left
    the confirmation's transaction)."""
    payload = {"MessageSid": "SMjoin", "From": PHONE, "To": "+14155559999", "Body": "JOIN"}
    InboundEvent.store(key="sms:SMjoin", kind=InboundEvent.Kind.SMS, payload=payload, phone=PHONE)

    refused = []

    def refuse(self, *, to, body, valid_for=None):
        refused.append(to)
        raise RecipientOptedOut("Attempt to send to unsubscribed recipient")

    monkeypatch.setattr(LocmemBackend, "send_sms", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        list(inbound.process_pending(received_before=timezone.now()))
    assert refused == [PHONE]  # the late confirmation was handed over, and refused
    kept = InboundEvent.objects.filter(kind=InboundEvent.Kind.STATUS, phone=PHONE)
    assert kept.exists() or PhoneOptOut.objects.filter(phone=PHONE, channel=Channel.SMS).exists()


def test_a_21610_met_by_a_call_revokes_calls_not_texts(
    manager, twilio, django_capture_on_commit_callbacks
):
    """A call refused with 21610 revokes calls (it was kept as a text's status, which
    revoked texts and let calls go on)."""
    contact = ContactFactory(phone=PHONE)
    StandIn.answers = ["opted_out"]
    b = broadcast(Channel.CALLS, script="Hi")
    services.launch(broadcast=b, by_user=manager)
    with django_capture_on_commit_callbacks(execute=True):
        sending.run(b.pk)
    opted_out = PhoneOptOut.objects.filter(phone=contact.phone).values_list("channel", flat=True)
    assert set(opted_out) == {Channel.CALLS}


def test_a_kept_refusal_processed_late_does_not_undo_a_start_sent_after_it(manager, monkeypatch):
    """A test text is refused with 21610 at T0; recording it fails once (the database away
    for a moment), so the refusal stays kept. At T1 the contact texts START. At T2 the
    worker's sweep processes the kept refusal: the START, the contact's latest word, stands."""
    from contacts import services as contact_services

    contact = ContactFactory(phone=PHONE)
    real = contact_services.record_revocation
    calls = []

    def fails_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            from django.db import OperationalError

            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setattr(contact_services, "record_revocation", fails_once)

    def refuse(self, *, to, body, valid_for=None):
        raise RecipientOptedOut("Attempt to send to unsubscribed recipient")

    monkeypatch.setattr(LocmemBackend, "send_sms", refuse)
    b = broadcast()
    test = sending.send_test(b, phone=PHONE, by_user=manager)
    assert test.error == sending.CARRIER_OPT_OUT
    # the on-commit processing, as production runs it, fails once
    inbound._process_kept(f"refused:test:{test.pk}")
    assert InboundEvent.objects.get(key=f"refused:test:{test.pk}").processed_at is None
    monkeypatch.undo()

    payload = {"MessageSid": "SMstart", "From": PHONE, "To": "+14155559999", "Body": "START"}
    InboundEvent.store(key="sms:SMstart", kind=InboundEvent.Kind.SMS, payload=payload, phone=PHONE)
    inbound.process("sms:SMstart")  # the webhook, at once
    contact.refresh_from_db()
    after_start = contact.opt_in_status(Channel.SMS)

    list(inbound.process_pending(received_before=timezone.now()))  # the worker's sweep
    contact.refresh_from_db()
    assert contact.opt_in_status(Channel.SMS) == after_start
