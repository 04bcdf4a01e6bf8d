"""A text that asks to stop our calls, in any plain way, stops the next voice broadcast from
calling the number: at once, or held while a person reads it (a cold review found "DNC",
"Stop the prerecorded messages" and "I never want another call" did not)."""

import pytest

from broadcasts import sending, services
from contacts.models import Channel
from tests.broadcasts.engine import broadcast, sent_to
from tests.factories import ContactFactory
from tests.messaging.conftest import post_signed, sms  # noqa: F401 (fixtures)

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
def test_a_typed_request_to_stop_calls_keeps_the_next_call_away(sms, manager, words):  # noqa: F811
    ContactFactory(phone=PHONE)
    sms(words, phone=PHONE)
    voice = broadcast(Channel.CALLS)
    services.launch(broadcast=voice, by_user=manager)
    sending.run(voice.pk)
    assert sent_to() == [], f"called after {words!r}"


def test_dnc_by_text_stops_the_texts_too(sms, manager):  # noqa: F811
    ContactFactory(phone=PHONE)
    sms("DNC", phone=PHONE)
    text = broadcast(Channel.SMS)
    services.launch(broadcast=text, by_user=manager)
    sending.run(text.pk)
    assert sent_to() == []
