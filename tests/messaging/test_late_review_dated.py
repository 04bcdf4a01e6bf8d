"""A reply kept for the worker that goes to Possible opt-outs is dated when it came, as a
kept STOP is: after a 26-hour outage the review page counts its 10 business days from its
arrival (a cold review found it dated when the worker read it)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from messaging import inbound
from messaging.models import InboundEvent, PossibleOptOut
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
PHONE, BUSINESS = "+14155550123", "+14155559999"


def test_a_reply_kept_for_the_worker_is_reviewed_as_received_when_it_came(outbox):
    ContactFactory(phone=PHONE)
    payload = {"MessageSid": "SM1", "From": PHONE, "To": BUSINESS, "Body": "stop texting me lol"}
    InboundEvent.store(key="sms:SM1", kind=InboundEvent.Kind.SMS, payload=payload, phone=PHONE)
    came = InboundEvent.objects.get(key="sms:SM1").received_at
    with time_machine.travel(timezone.now() + timedelta(hours=26), tick=False):
        list(inbound.process_pending(received_before=timezone.now()))
    review = PossibleOptOut.objects.get(phone=PHONE)
    assert review.received_at == came
