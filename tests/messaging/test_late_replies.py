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
    kept("STOP", "SMstop")  # its confirmation was given at once: not sent again
    outcomes = list(inbound.process_pending(received_before=timezone.now()))
    assert outcomes == [("sms:SMjoin", None), ("sms:SMstop", None)]
    [late] = outbox
    assert late["to"] == PHONE
    assert late["body"].startswith("Demo Dental: you're subscribed to reminders and offers")
    assert OutboundMessage.objects.get().body == late["body"]
    list(inbound.process_pending(received_before=timezone.now()))  # nothing left: none again
    assert len(outbox) == 1
