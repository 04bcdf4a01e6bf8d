"""Ordinary replies, end to end through the inbound worker, record no hard opt-out of calls,
which nobody but the contact can lift (a cold review found two did)."""

import pytest
from django.utils import timezone

from contacts.models import Channel, PhoneOptOut
from messaging import inbound
from messaging.models import InboundEvent
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
PHONE, BUSINESS = "+14155550123", "+14155559999"


@pytest.mark.parametrize(
    "body",
    [
        "Yo no llamé a este número",  # "I didn't call this number"
        "Please stop the texts and reach me by phone",  # asks to be called
        "Why did you opt me out of everything",  # a complaint about an opt-out
    ],
)
def test_an_ordinary_reply_records_no_hard_opt_out_of_calls(body, outbox):
    ContactFactory(phone=PHONE)
    payload = {"MessageSid": "SM1", "From": PHONE, "To": BUSINESS, "Body": body}
    InboundEvent.store(key="sms:SM1", kind=InboundEvent.Kind.SMS, payload=payload, phone=PHONE)
    list(inbound.process_pending(received_before=timezone.now()))
    assert not PhoneOptOut.objects.filter(phone=PHONE, channel=Channel.CALLS).exists()
