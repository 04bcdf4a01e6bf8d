"""End to end through the inbound worker (a second cold review of e32cf83): an ordinary reply
about telemarketing work records no hard opt-out of calls (nobody but the contact could lift
it), and a text asking off the telemarketing list stops the texts too."""

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
        "I no longer want telemarketing work, can you find me a warehouse job?",
        "Since I switched to your carrier, no more telemarketing calls at all. Great service",
    ],
)
def test_an_ordinary_reply_about_telemarketing_records_no_hard_opt_out_of_calls(body, outbox):
    ContactFactory(phone=PHONE)
    payload = {"MessageSid": "SM1", "From": PHONE, "To": BUSINESS, "Body": body}
    InboundEvent.store(key="sms:SM1", kind=InboundEvent.Kind.SMS, payload=payload, phone=PHONE)
    list(inbound.process_pending(received_before=timezone.now()))
    assert not PhoneOptOut.objects.filter(phone=PHONE, channel=Channel.CALLS).exists()


def test_a_text_asking_off_the_telemarketing_list_stops_texts(outbox):
    """e32cf83 made it an opt-out of calls alone, and the texts went on."""
    ContactFactory(phone=PHONE)
    body = "Take me off your telemarketing list"
    payload = {"MessageSid": "SM2", "From": PHONE, "To": BUSINESS, "Body": body}
    InboundEvent.store(key="sms:SM2", kind=InboundEvent.Kind.SMS, payload=payload, phone=PHONE)
    list(inbound.process_pending(received_before=timezone.now()))
    assert PhoneOptOut.objects.filter(phone=PHONE, channel=Channel.SMS).exists()
