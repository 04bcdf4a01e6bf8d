import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.models import Channel, Contact, OptInStatus, PhoneOptOut
from tests.factories import ContactFactory

PHONE = "+14155550123"
BUSINESS = "+14155559999"
# Twilio's StirVerstat on a call whose carrier vouches for its caller id (SHAKEN/STIR's A).
VOUCHED_FOR = "TN-Validation-Passed-A"


def calls_status(contact: Contact) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(Channel.CALLS)


def test_an_inbound_call_gets_a_menu_with_the_unsubscribe_digit(post_signed):
    twiml = post_signed(
        "/webhooks/twilio/voice/", {"CallSid": "CA1", "From": PHONE, "To": BUSINESS}
    ).content.decode()
    assert '<Gather action="http://127.0.0.1:8000/webhooks/twilio/voice/gather/?digit=9"' in twiml
    assert 'numDigits="1"' in twiml
    assert "press 9" in twiml


def test_pressing_the_digit_on_an_inbound_call_opts_the_caller_out_of_calls(post_signed):
    contact = ContactFactory(phone=PHONE)
    data = {"CallSid": "CA2", "From": PHONE, "To": BUSINESS, "Digits": "9", "Direction": "inbound"}
    twiml = post_signed("/webhooks/twilio/voice/gather/", data).content.decode()
    assert "no more calls" in twiml and "<Hangup />" in twiml
    assert calls_status(contact) == OptInStatus.HARD
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == "subscribed"
    assert PhoneOptOut.objects.get().source == "digit"


def test_on_a_call_we_placed_the_callee_is_opted_out(post_signed):
    contact = ContactFactory(phone=PHONE)
    data = {"CallSid": "CA3", "From": BUSINESS, "To": PHONE, "Digits": "9",
            "Direction": "outbound-api"}  # fmt: skip
    post_signed("/webhooks/twilio/voice/gather/", data)
    assert calls_status(contact) == OptInStatus.HARD
    assert not PhoneOptOut.objects.filter(phone=BUSINESS).exists()


def test_another_digit_changes_nothing(post_signed):
    contact = ContactFactory(phone=PHONE)
    data = {"CallSid": "CA4", "From": PHONE, "To": BUSINESS, "Digits": "1"}
    assert "Goodbye" in post_signed("/webhooks/twilio/voice/gather/", data).content.decode()
    assert calls_status(contact) == OptInStatus.SUBSCRIBED


def test_a_hidden_caller_id_is_told_why_nothing_changed(post_signed):
    data = {"CallSid": "CA5", "From": "anonymous", "To": BUSINESS, "Digits": "9"}
    response = post_signed("/webhooks/twilio/voice/gather/", data)
    assert response.status_code == 200
    assert "cannot see your phone number" in response.content.decode()
    assert not PhoneOptOut.objects.exists()


# Twilio's From for a caller who hides their number: ANONYMOUS, RESTRICTED, UNKNOWN,
# UNAVAILABLE and BLOCKED on a keypad, each shaped like a number of some country.
WITHHELD = ["+266696687", "+7378742833", "+8656696", "+86282452253", "+2562533"]


@pytest.mark.parametrize("withheld", WITHHELD)
def test_twilios_stand_in_for_a_hidden_number_is_not_opted_out(post_signed, withheld):
    call = {"CallSid": "CA77", "From": withheld, "To": BUSINESS, "Direction": "inbound"}
    data = call | {"Digits": "9"}
    said = post_signed("/webhooks/twilio/voice/gather/?digit=9", data).content.decode()
    assert "cannot see your phone number" in said
    assert not PhoneOptOut.objects.exists()
    # The next hidden caller hears the menu that offers the key, not "this number receives no
    # calls from us".
    menu = post_signed("/webhooks/twilio/voice/", call | {"CallSid": "CA78"}).content.decode()
    assert "press 9" in menu and "receives no calls" not in menu


def test_error_21610_marks_the_number_hard_opted_out_by_the_carrier(post_signed):
    contact = ContactFactory(phone=PHONE)
    data = {"MessageSid": "SM9", "MessageStatus": "failed", "ErrorCode": "21610", "To": PHONE}
    assert post_signed("/webhooks/twilio/status/", data).status_code == 200
    opt_out = Contact.objects.get(pk=contact.pk).opt_out_for(Channel.SMS)
    assert (opt_out.kind, opt_out.source) == ("hard", "carrier")


def test_a_delivered_status_changes_nothing(post_signed):
    contact = ContactFactory(phone=PHONE)
    data = {"MessageSid": "SM10", "MessageStatus": "delivered", "To": PHONE}
    assert post_signed("/webhooks/twilio/status/", data).status_code == 200
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS) == "subscribed"


def test_a_voice_message_says_the_script_inside_the_unsubscribe_gather(settings):
    from messaging.twiml import voice_message

    settings.PUBLIC_URL = "https://crm.example.com"
    settings.BUSINESS_NAME, settings.BUSINESS_CONTACT = "Demo Dental", "(415) 555-9999"
    settings.CALL_BACK_NUMBER = ""  # and no TWILIO_FROM_NUMBER: the console's calls
    twiml = voice_message(script="Your appointment is tomorrow at <b>9</b>.", digit="#")
    assert twiml.startswith(
        '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="https://crm.example.com'
        '/webhooks/twilio/voice/gather/?digit=%23" finishOnKey="" method="POST" numDigits="1" '
        'timeout="6"><Say>This is Demo Dental. To stop our calls, press pound at any time.</Say>'
        "<Say>Your appointment is tomorrow at &lt;b&gt;9&lt;/b&gt;.</Say>"
        "<Say>You can reach Demo Dental at 4 1 5, 5 5 5, 0 1 0 0.</Say>"
    )
    # "#" is a key pressed, not the end of what was pressed (Twilio's default finishOnKey).
    assert "press pound now. You can also call us back and press 9." in twiml
    assert "press 9 now, or call us back and press 9." in voice_message(script="Hi", digit="9")
    assert "<Play>https://x.example/a.mp3</Play>" in voice_message(
        audio_url="https://x.example/a.mp3"
    )


def test_delivery_statuses_update_the_broadcast_recipient(post_signed):
    from broadcasts.models import Broadcast, Recipient

    broadcast = Broadcast.objects.create(name="B", channel="sms", body="x", status="sending")
    recipient = Recipient.objects.create(
        broadcast=broadcast, phone=PHONE, status="sent", sid="SM11"
    )
    data = {"MessageSid": "SM11", "MessageStatus": "delivered", "To": PHONE}
    post_signed("/webhooks/twilio/status/", data)
    assert Recipient.objects.get(pk=recipient.pk).status == "delivered"
    data = {"MessageSid": "SM11", "MessageStatus": "undelivered", "To": PHONE, "ErrorCode": "30005",
            "ErrorMessage": "Unknown destination handset"}  # fmt: skip
    post_signed("/webhooks/twilio/status/", data)
    recipient.refresh_from_db()
    assert (recipient.status, recipient.error) == ("failed", "Unknown destination handset")


def test_error_21610_marks_the_broadcast_recipient_skipped(post_signed):
    from broadcasts.models import Broadcast, Recipient

    broadcast = Broadcast.objects.create(name="B", channel="sms", body="x", status="sending")
    recipient = Recipient.objects.create(
        broadcast=broadcast, phone=PHONE, status="sent", sid="SM12"
    )
    data = {"MessageSid": "SM12", "MessageStatus": "undelivered", "ErrorCode": "21610",
            "ErrorMessage": "Attempt to send to unsubscribed recipient", "To": PHONE}  # fmt: skip
    post_signed("/webhooks/twilio/status/", data)
    recipient.refresh_from_db()
    assert (recipient.status, recipient.error) == (
        "skipped",
        "Attempt to send to unsubscribed recipient",
    )


def test_the_digit_a_broadcast_offered_is_the_one_that_opts_out(post_signed):
    contact = ContactFactory(phone=PHONE)
    call = {"CallSid": "CA12", "From": BUSINESS, "To": PHONE, "Direction": "outbound-api"}
    post_signed("/webhooks/twilio/voice/gather/?digit=8", call | {"Digits": "7"})
    assert calls_status(contact) == OptInStatus.SUBSCRIBED  # 7 was not on offer
    post_signed("/webhooks/twilio/voice/gather/?digit=8", call | {"Digits": "8"})
    assert calls_status(contact) == OptInStatus.HARD


def test_the_business_s_digit_that_a_broadcast_names_for_a_call_back_opts_out_now_too(
    post_signed, settings
):
    """ "…press 8 now. You can also call us back at … and press 9.": pressing 9 during the
    call is as plain a request to stop."""
    from messaging.twiml import voice_message

    assert (
        "press 8 now. You can also call us back at 8 8 8, 5 5 5, 0 1 9 9 and press 9."
        in voice_message(script="Big sale this weekend.", digit="8")
    )
    contact = ContactFactory(phone=PHONE)
    call = {"CallSid": "CA12", "From": BUSINESS, "To": PHONE, "Direction": "outbound-api"}
    answer = post_signed("/webhooks/twilio/voice/gather/?digit=8", call | {"Digits": "9"})
    assert "You will receive no more calls" in answer.content.decode()
    assert calls_status(contact) == OptInStatus.HARD


TEXT = st.text(max_size=40)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/webhooks/twilio/voice/", "/webhooks/twilio/voice/gather/",
                          "/webhooks/twilio/voice/gather/?digit=x", "/webhooks/twilio/status/"]),
    fields=st.dictionaries(
        st.sampled_from(["CallSid", "MessageSid", "From", "To", "Digits", "MessageStatus",
                         "ErrorCode", "ErrorMessage", "CallStatus"]),
        TEXT | st.sampled_from(["+14155550123", "21610", "failed", "9", "CA1", "SM1"]),
    ),
)  # fmt: skip
def test_any_call_or_status_request_gets_an_answer_or_a_4xx_never_a_500(post_signed, path, fields):
    assert post_signed(path, fields).status_code in (200, 400, 415)  # 415: an empty body


def test_a_caller_opted_out_of_calls_is_offered_the_digit_to_receive_them_again(post_signed):
    contact = ContactFactory(phone=PHONE)
    stop = {"CallSid": "CA3", "From": PHONE, "To": BUSINESS, "Digits": "9", "Direction": "inbound"}
    post_signed("/webhooks/twilio/voice/gather/", stop)
    post_signed("/webhooks/twilio/sms/", {"MessageSid": "SM3", "From": PHONE, "Body": "STOP"})
    call = {"CallSid": "CA4", "From": PHONE, "To": BUSINESS, "StirVerstat": VOUCHED_FOR}
    menu = post_signed("/webhooks/twilio/voice/", call).content.decode()
    assert "?digit=9&amp;resubscribe=1" in menu and "press 1" in menu
    # An SMS START is consent to SMS only.
    post_signed("/webhooks/twilio/sms/", {"MessageSid": "SM4", "From": PHONE, "Body": "START"})
    assert calls_status(contact) == OptInStatus.HARD
    again = {"CallSid": "CA4", "From": PHONE, "To": BUSINESS, "Digits": "1",
             "Direction": "inbound"}  # fmt: skip
    twiml = post_signed("/webhooks/twilio/voice/gather/?digit=9&resubscribe=1", again)
    assert "receive our calls again" in twiml.content.decode()
    assert calls_status(contact) == OptInStatus.SUBSCRIBED
    assert not PhoneOptOut.objects.filter(phone=PHONE, channel=Channel.CALLS).exists()


@pytest.mark.parametrize(
    "verstat",
    ["", "TN-Validation-Passed-B", "TN-Validation-Passed-C", "TN-Validation-Failed-A",
     "No-TN-Validation", "TN-Validation-Failed"],
)  # fmt: skip
def test_a_call_showing_an_opted_out_number_unvouched_for_cannot_start_calls_again(
    post_signed, verstat
):
    """Anyone can make a call show another's number: a spoofed call must not turn calls back
    on for someone who stopped them. Only a caller id the carrier vouches for in full does."""
    contact = ContactFactory(phone=PHONE)
    stop = {"CallSid": "CA3", "From": PHONE, "To": BUSINESS, "Digits": "9", "Direction": "inbound"}
    post_signed("/webhooks/twilio/voice/gather/", stop)
    call = {"CallSid": "CA4", "From": PHONE, "To": BUSINESS, "Direction": "inbound"}
    if verstat:
        call["StirVerstat"] = verstat
    menu = post_signed("/webhooks/twilio/voice/", call).content.decode()
    assert "resubscribe" not in menu and "press 1" not in menu
    assert "has not confirmed that this call comes from it" in menu
    # The key pressed anyway, on this call or as if on one that offered it to a vouched-for
    # caller id: a call without the offer in its (signed) address lifts nothing.
    for path in ("/webhooks/twilio/voice/gather/", "/webhooks/twilio/voice/gather/?digit=9"):
        post_signed(path, call | {"Digits": "1"})
    assert calls_status(contact) == OptInStatus.HARD


def test_pressing_1_where_it_was_not_offered_lifts_nothing(post_signed):
    contact = ContactFactory(phone=PHONE)
    stop = {"CallSid": "CA5", "From": PHONE, "To": BUSINESS, "Digits": "9", "Direction": "inbound"}
    post_signed("/webhooks/twilio/voice/gather/", stop)
    again = stop | {"CallSid": "CA6", "Digits": "1"}
    for path in ("/webhooks/twilio/voice/gather/", "/webhooks/twilio/voice/gather/?digit=9"):
        assert "Goodbye" in post_signed(path, again).content.decode()
    outbound = again | {"CallSid": "CA7", "Direction": "outbound-api", "To": PHONE}
    post_signed("/webhooks/twilio/voice/gather/?digit=9&resubscribe=1", outbound)
    assert calls_status(contact) == OptInStatus.HARD


def test_a_calls_direction_is_read_in_any_case(post_signed):
    contact = ContactFactory(phone=PHONE)
    stop = {"CallSid": "CA8", "From": BUSINESS, "To": PHONE, "Digits": "9",
            "Direction": "Outbound-API"}  # fmt: skip
    assert post_signed("/webhooks/twilio/voice/gather/?digit=9", stop).status_code == 200
    assert calls_status(contact) == OptInStatus.HARD
    again = stop | {"CallSid": "CA9", "Digits": "1"}
    response = post_signed("/webhooks/twilio/voice/gather/?digit=9&resubscribe=1", again)
    assert response.status_code == 200  # our own call offers no resubscribing
    assert calls_status(contact) == OptInStatus.HARD


def test_a_digit_whose_processing_failed_is_confirmed_and_kept(post_signed, monkeypatch):
    from messaging import inbound
    from messaging.models import InboundEvent

    def broken(payload, **received):
        raise RuntimeError("the disk is full")

    monkeypatch.setitem(inbound.HANDLERS, "digits", broken)
    data = {"CallSid": "CA9", "From": PHONE, "To": BUSINESS, "Digits": "9", "Direction": "inbound"}
    response = post_signed("/webhooks/twilio/voice/gather/", data)
    assert response.status_code == 200
    assert "You will receive no more calls from us." in response.content.decode()
    event = InboundEvent.objects.get()
    assert event.processed_at is None and "the disk is full" in event.error


def test_calling_back_and_pressing_the_key_a_voicemail_names_opts_the_caller_out(post_signed):
    """A broadcast's own digit (5) is pressed during its call; a call back to us offers
    UNSUBSCRIBE_DIGIT, and the voicemail names that one for calling back."""
    import re

    from messaging.twiml import voice_message

    contact = ContactFactory(phone=PHONE)
    said = voice_message(script="Sale today.", digit="5")
    call_back = re.search(r"call us back (at [\d ,]+ )?and press (\w+)\.", said)[2]
    menu = post_signed("/webhooks/twilio/voice/", {"CallSid": "CA1", "From": PHONE, "To": BUSINESS})
    action = re.search(r'action="http://[^/]+(/[^"]+)"', menu.content.decode())[1]
    data = {"CallSid": "CA1", "From": PHONE, "To": BUSINESS, "Digits": call_back,
            "Direction": "inbound"}  # fmt: skip
    post_signed(action.replace("&amp;", "&"), data)
    assert Contact.objects.get(pk=contact.pk).opt_in_status(Channel.CALLS) == OptInStatus.HARD


@pytest.mark.parametrize(
    "message",
    [{"script": "Our winter whitening offer: half price until Friday."},
     {"audio_url": "https://x.example/offer.mp3"}],
)  # fmt: skip
def test_a_broadcast_call_names_the_business_and_its_key_before_its_message(settings, message):
    """47 CFR 64.1200(b): a prerecorded message names the business at its beginning, offers
    the key that stops the calls within two seconds of that, and gives a number to reach the
    business during or after the message; and a marketing one, a toll-free number to call
    back and stop the calls, given right after the key (the Telemarketing Sales Rule's
    place for it, 16 CFR 310.4(b)(1)(v)(B)). A long recording heard to its end no longer
    comes first (a review found the business and the key said only after it)."""
    from xml.etree import ElementTree

    from messaging.twiml import voice_message

    settings.BUSINESS_NAME, settings.BUSINESS_CONTACT = "Demo Dental", "(415) 555-9999"
    settings.TWILIO_FROM_NUMBER = "+18885550199"  # the number calling, whose menu stops calls
    call = ElementTree.fromstring(voice_message(digit="9", **message))
    [gather] = call.findall("Gather")
    steps = [(step.tag, step.text) for step in gather]
    assert steps == [
        ("Say", "This is Demo Dental. To stop our calls, press 9 at any time, or call "
                "8 8 8, 5 5 5, 0 1 9 9 toll-free."),
        ("Say", message["script"]) if "script" in message else ("Play", message["audio_url"]),
        ("Say", "You can reach Demo Dental at 4 1 5, 5 5 5, 0 1 0 0."),
        ("Say", "To stop receiving calls from Demo Dental, press 9 now, or call us back at "
                "8 8 8, 5 5 5, 0 1 9 9 and press 9."),
    ]  # fmt: skip
    assert [step.tag for step in call] == ["Gather", "Hangup"]


def test_a_key_the_call_did_not_offer_asks_again_rather_than_hang_up(post_signed, settings):
    """A callee who presses 5 during a broadcast's call (its digit: 9) is told the key does
    nothing and offered 9 again: the way to stop our calls stays open (47 CFR 64.1200(b)(3));
    the call ended at once before."""
    settings.BUSINESS_NAME = "Demo Dental"
    contact = ContactFactory(phone=PHONE)
    call = {"CallSid": "CA21", "From": BUSINESS, "To": PHONE, "Direction": "outbound-api"}
    answer = post_signed("/webhooks/twilio/voice/gather/?digit=9", call | {"Digits": "5"})
    said = answer.content.decode()
    assert '/webhooks/twilio/voice/gather/?digit=9"' in said
    assert (
        "<Say>That key does nothing. To stop receiving calls from Demo Dental, press 9 now, or "
        "call us back at 8 8 8, 5 5 5, 0 1 9 9 and press 9.</Say></Gather>"
        "<Say>Goodbye.</Say><Hangup />"
    ) in said
    assert calls_status(contact) == OptInStatus.SUBSCRIBED
    post_signed("/webhooks/twilio/voice/gather/?digit=9", call | {"Digits": "9"})
    assert calls_status(contact) == OptInStatus.HARD


def test_a_call_to_us_is_not_told_to_call_us_back(post_signed):
    """The menu of a call to the business, and the offer asked again after a wrong key, said
    "…press 9 now, or call us back at … and press 9." to someone calling already."""
    call = {"CallSid": "CA31", "From": PHONE, "To": BUSINESS, "Direction": "inbound"}
    menu = post_signed("/webhooks/twilio/voice/", call).content.decode()
    assert "<Say>To stop receiving calls from Demo Dental, press 9 now.</Say>" in menu
    again = post_signed("/webhooks/twilio/voice/gather/?digit=9", call | {"Digits": "4"})
    assert "That key does nothing. To stop receiving calls from Demo Dental, press 9 now.<" in (
        again.content.decode()
    )
    assert "call us back" not in menu + again.content.decode()
