"""A revocation kept for the worker (its webhook could not process it in time) is dated when
the contact made it, not when the worker recorded it: the number's opt-out and the opt-out of
each of its contacts show the moment the STOP, the key or the carrier's refusal came. (A cold
review found them dated when processed: a day's outage moved each revocation by a day.)"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from contacts.models import Channel, OptOut, PhoneOptOut
from messaging import inbound
from messaging.models import InboundEvent
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
PHONE, BUSINESS = "+14155550123", "+14155559999"

KEPT = {
    "a STOP": (
        InboundEvent.Kind.SMS, "sms:SM1", Channel.SMS,
        {"MessageSid": "SM1", "From": PHONE, "To": BUSINESS, "Body": "STOP"},
    ),
    "the key of a call": (
        InboundEvent.Kind.DIGITS, "digits:CA1:9", Channel.CALLS,
        {"CallSid": "CA1", "From": BUSINESS, "To": PHONE, "Digits": "9",
         "Direction": "outbound-api"},
    ),
    "the carrier's refusal": (
        InboundEvent.Kind.STATUS, "status:SM2:undelivered", Channel.SMS,
        {"MessageSid": "SM2", "MessageStatus": "undelivered", "ErrorCode": "21610",
         "To": PHONE, "ErrorMessage": "Attempt to send to unsubscribed recipient"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("what", KEPT)
def test_a_revocation_processed_late_is_dated_when_it_came(what, outbox):
    kind, key, channel, payload = KEPT[what]
    contact = ContactFactory(phone=PHONE)
    InboundEvent.store(key=key, kind=kind, payload=payload, phone=PHONE)
    came = InboundEvent.objects.get(key=key).received_at
    with time_machine.travel(timezone.now() + timedelta(hours=26), tick=False):
        list(inbound.process_pending(received_before=timezone.now()))
    assert InboundEvent.objects.get(key=key).processed_at - came >= timedelta(hours=26)
    number = PhoneOptOut.objects.get(phone=PHONE, channel=channel)
    its_own = OptOut.objects.get(contact=contact, channel=channel)
    assert (number.opted_out_at, its_own.opted_out_at, its_own.kind) == (came, came, "hard")
