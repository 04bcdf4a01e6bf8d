"""A text that asks to stop our calls, in any plain way, stops the next voice broadcast from
calling the number: at once, or held while a person reads it (a cold review found "DNC",
"Stop the prerecorded messages" and "I never want another call" did not)."""

# ruff: noqa: F811 (the messaging tests' fixtures, imported, are the tests' arguments)

import re

import pytest

from broadcasts import sending, services
from contacts.models import Channel
from tests.broadcasts.engine import broadcast, sent_to
from tests.factories import ContactFactory
from tests.messaging.conftest import post_signed, sms  # noqa: F401

PHONE = "+14155550123"


@pytest.mark.parametrize(
    "words",
    [
        "DNC",  # the Do Not Call list
        "Put me on your DNC list",
        "Stop the prerecorded messages",  # our calls are prerecorded messages
        "stop sending recorded messages",
        "I never want another call",
        "I asked to be removed from calls",
        "I already pressed 9",  # the key that stops our calls, said to have been ignored
        "You keep calling after I pressed 9",
        "your calls won't stop",
    ],
)
def test_a_typed_request_to_stop_calls_keeps_the_next_call_away(sms, manager, words):
    ContactFactory(phone=PHONE)
    sms(words, phone=PHONE)
    voice = broadcast(Channel.CALLS)
    services.launch(broadcast=voice, by_user=manager)
    sending.run(voice.pk)
    assert sent_to() == [], f"called after {words!r}"


def test_dnc_by_text_stops_the_texts_too(sms, manager):
    ContactFactory(phone=PHONE)
    sms("DNC", phone=PHONE)
    text = broadcast(Channel.SMS)
    services.launch(broadcast=text, by_user=manager)
    sending.run(text.pk)
    assert sent_to() == []


def test_a_caller_with_a_hidden_number_is_told_a_text_that_stops_calls(
    post_signed,
    sms,
    manager,
    settings,
):
    """Told "reply STOP to one of our text messages", the caller who did so still got our
    calls: under the channel scope (until 31 Jan 2027) a STOP stops texts alone."""
    settings.OPT_OUT_SCOPE, settings.OPT_OUT_SCOPE_ALL_FROM = "channel", "never"
    ContactFactory(phone=PHONE)
    data = {"CallSid": "CAhidden1", "From": "anonymous", "To": "+14155559999", "Digits": "9",
            "Direction": "inbound"}  # fmt: skip
    told = post_signed("/webhooks/twilio/voice/gather/?digit=9", data).content.decode()
    [advice] = re.findall(r"or text (.+) to this number", told)
    sms(advice, phone=PHONE)  # as told
    voice = broadcast(Channel.CALLS)
    services.launch(broadcast=voice, by_user=manager)
    sending.run(voice.pk)
    assert sent_to() == []
