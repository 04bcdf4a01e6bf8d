"""A text kept for the worker (the webhook could not process it in time) was answered at once
by the rules alone: a STOP with its confirmation, a JOIN with nothing. When the worker
processes it, the confirmation the webhook could not give is sent as a text, once."""

import pytest
from django.utils import timezone

from messaging import inbound
from messaging.models import InboundEvent, OutboundMessage

pytestmark = pytest.mark.django_db
PHONE = "+14155550123"


def kept(body: str, sid: str) -> None:
    payload = {"MessageSid": sid, "From": PHONE, "To": "+14155559999", "Body": body}
    InboundEvent.store(key=f"sms:{sid}", kind=InboundEvent.Kind.SMS, payload=payload, phone=PHONE)


def test_the_worker_sends_the_confirmation_the_webhook_could_not_give(outbox):
    kept("JOIN", "SMjoin")
    outcomes = list(inbound.process_pending(received_before=timezone.now()))
    assert outcomes == [("sms:SMjoin", None)]
    [late] = outbox
    assert late["to"] == PHONE
    assert late["body"].startswith("Demo Dental: you're subscribed to reminders and offers")
    assert OutboundMessage.objects.get().body == late["body"]
    list(inbound.process_pending(received_before=timezone.now()))  # nothing left: none again
    assert len(outbox) == 1


def test_a_confirmation_is_sent_once_by_whoever_processed_the_event(outbox):
    kept("JOIN", "SMjoin")
    inbound.process("sms:SMjoin")  # the webhook got to it after all, and answered it
    event = inbound.process("sms:SMjoin")  # a sweep that had listed it finds it processed
    inbound.send_what_was_not_answered(event)
    assert not outbox


@pytest.mark.parametrize("processed_by", ["the worker", "the STOP's webhook"])
def test_no_late_confirmation_after_the_number_said_stop(outbox, processed_by):
    kept("JOIN", "SMjoin")
    kept("Please stop texting me", "SMstop")  # confirmed at once by the webhook
    if processed_by == "the STOP's webhook":
        inbound.process("sms:SMstop")  # the webhook got to it after all, before the worker
    list(inbound.process_pending(received_before=timezone.now()))
    assert not outbox
    assert InboundEvent.objects.filter(processed_at=None).count() == 0


def test_a_kept_stop_gets_no_second_confirmation(outbox):
    from contacts import services
    from contacts.models import Channel, Source

    services.record_hard_opt_out(phone=PHONE, channel=Channel.SMS, source=Source.KEYWORD)
    kept("Stop calling me", "SMcalls")
    list(inbound.process_pending(received_before=timezone.now()))
    assert not outbox
