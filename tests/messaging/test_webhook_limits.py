"""What a signed webhook cannot keep (an id past its column, a NUL, another charset) is a 4xx
that stores and changes nothing; right up to the limits it is kept and acted on."""

from urllib.parse import urlencode

import pytest

from contacts.models import Channel, Contact, OptIn, OptInStatus, Source
from contacts.services import record_hard_opt_out
from messaging.models import InboundEvent, PossibleOptOut
from tests.factories import ContactFactory
from tests.messaging.conftest import FORM, sign

PHONE = "+14155550123"
BUSINESS = "+14155559999"
KEY = InboundEvent._meta.get_field("key").max_length  # 200
LONG = "X" * KEY

SMS, VOICE, GATHER, STATUS = (
    "/webhooks/twilio/sms/",
    "/webhooks/twilio/voice/",
    "/webhooks/twilio/voice/gather/",
    "/webhooks/twilio/status/",
)
START = {"MessageSid": "SM1", "From": PHONE, "Body": "START"}
CALL = {"CallSid": "CA1", "From": PHONE, "To": BUSINESS, "Direction": "inbound"}
AGAIN = CALL | {"Digits": "1"}  # the digit for calls again, where it is offered
OFFERED = "?digit=9&resubscribe=1"
DELIVERED = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": PHONE}


def nothing_changed(contact: Contact) -> bool:
    contact = Contact.objects.get(pk=contact.pk)
    return (
        not InboundEvent.objects.exists()
        and not OptIn.objects.exists()
        and not PossibleOptOut.objects.exists()
        and contact.opt_in_status(Channel.SMS) == OptInStatus.HARD
        and contact.opt_in_status(Channel.CALLS) == OptInStatus.HARD
    )


@pytest.fixture
def stopped(db) -> Contact:
    """A contact whose number stopped SMS and calls: a START or the digit would lift them."""
    contact = ContactFactory(phone=PHONE)
    record_hard_opt_out(phone=PHONE, channel=Channel.SMS, source=Source.KEYWORD, words="STOP")
    record_hard_opt_out(phone=PHONE, channel=Channel.CALLS, source=Source.DIGIT)
    return contact


@pytest.mark.parametrize(
    ("path", "data"),
    [
        (SMS, START | {"MessageSid": LONG}),
        (SMS, START | {"MessageSid": LONG, "Body": "who is this"}),  # possible STOP
        (VOICE, CALL | {"CallSid": LONG}),
        (GATHER + OFFERED, AGAIN | {"CallSid": LONG}),
        (GATHER + OFFERED, AGAIN | {"Digits": LONG}),
        (STATUS, DELIVERED | {"MessageSid": LONG}),
        (STATUS, DELIVERED | {"MessageStatus": LONG}),
    ],
    ids=["sms", "possible opt-out", "call", "call sid", "digits", "status sid", "status"],
)
def test_an_id_past_its_column_is_a_400_and_changes_nothing(post_signed, stopped, path, data):
    response = post_signed(path, data)
    assert response.status_code == 400
    assert response.content == b"The message or call id is too long."
    assert nothing_changed(stopped)


def test_a_start_whose_key_just_fits_is_kept_and_lifts_the_opt_out(post_signed, stopped):
    sid = "S" * (KEY - len("sms:"))
    assert post_signed(SMS, START | {"MessageSid": sid}).status_code == 200
    assert OptIn.objects.get().reference == f"sms:{sid}"
    assert Contact.objects.get(pk=stopped.pk).opt_in_status(Channel.SMS) == "subscribed"


def test_the_digit_for_calls_again_with_a_key_that_just_fits_lifts_it(post_signed, stopped):
    sid = "C" * (KEY - len("digits::1"))
    assert post_signed(GATHER + OFFERED, AGAIN | {"CallSid": sid}).status_code == 200
    assert OptIn.objects.get().reference == f"digits:{sid}:1"
    assert Contact.objects.get(pk=stopped.pk).opt_in_status(Channel.CALLS) == "subscribed"


def test_a_status_whose_id_is_longer_than_any_message_id_is_kept_and_changes_nothing(
    post_signed, stopped
):
    # Longer than a broadcast recipient's sid (64), which the status is looked up by.
    sid = "SM" + "7" * 150
    assert post_signed(STATUS, DELIVERED | {"MessageSid": sid}).status_code == 200
    assert InboundEvent.objects.get().key == f"status:{sid}:delivered"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        (SMS, START | {"Note\x00": "x"}),  # in a field's name
        (GATHER + "?digit=9&resubscribe=1%00", AGAIN),  # in the URL's query
        (GATHER + OFFERED + "&x%00=1", AGAIN),
        (STATUS, DELIVERED | {"ErrorMessage": "a\x00b"}),
    ],
    ids=["field name", "query value", "query name", "field value"],
)
def test_a_nul_anywhere_is_a_400_and_changes_nothing(post_signed, stopped, path, data):
    # PostgreSQL's jsonb, which keeps the payload, cannot hold one (a DataError, a 500).
    response = post_signed(path, data)
    assert response.status_code == 400
    assert response.content == b"A field holds a NUL character."
    assert nothing_changed(stopped)


@pytest.mark.parametrize("debug", [True, False])
def test_a_form_in_another_charset_is_a_415_and_changes_nothing(client, stopped, settings, debug):
    # With DEBUG on, Django's error page for it read the form again, and failed: a 500.
    settings.DEBUG = debug
    data = START | {"Body": "Démarrer"}
    response = client.post(
        SMS,
        urlencode(data, encoding="latin-1"),
        content_type=f"{FORM}; charset=latin-1",
        headers={"X-Twilio-Signature": sign(f"http://testserver{SMS}", data)},
    )
    assert response.status_code == 415
    assert response.content == b"Send forms in UTF-8."
    assert nothing_changed(stopped)


def test_utf_8_by_another_name_is_read_as_utf_8(client, stopped):
    data = START | {"Body": "Start ✓"}
    response = client.post(
        SMS,
        urlencode(data),
        content_type=f"{FORM}; charset=UTF8",
        headers={"X-Twilio-Signature": sign(f"http://testserver{SMS}", data)},
    )
    assert response.status_code == 200
    assert InboundEvent.objects.get().payload["Body"] == "Start ✓"


@pytest.mark.parametrize("port", ["65536", "99999", "9" * 30])
def test_a_host_with_a_port_out_of_range_is_refused_as_unsigned(client, stopped, port):
    # Django allows any digits after an allowed host; the signature's check parsed them as a
    # port, and raised ValueError: a 500. No request to such a port was ever signed.
    url = f"http://testserver:{port}{SMS}"
    response = client.post(
        SMS,
        urlencode(START),
        content_type=FORM,
        headers={"Host": f"testserver:{port}", "X-Twilio-Signature": sign(url, START)},
    )
    assert response.status_code == 403
    assert nothing_changed(stopped)
