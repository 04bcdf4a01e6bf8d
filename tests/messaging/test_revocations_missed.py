"""Replies that revoke consent to calls (or to everything) are honoured, or held for review:
a cold review found each of these neither, so that calls (or texts) kept reaching the number.

compliance-notes.md, Revoking consent: "Consent may be revoked by any reasonable means ...
Other words in a message may also be a revocation: when in doubt, treat it as one or ask."
README, Revocation by any reasonable means: "one that asks to stop and names calls anywhere
in its sentence ... stops both". Each reply goes through the signed SMS webhook; afterwards
the channel must be stopped (a hard opt-out of the number) or held (a possible opt-out that
would stop it, waiting for review). Anything else lets the channel reach the number."""

import pytest

from contacts.models import Channel, PhoneOptOut
from messaging.models import PossibleOptOut
from tests.factories import ContactFactory

PHONE = "+14155550123"


def stopped_or_held(channel: Channel) -> bool:
    return (
        PhoneOptOut.objects.filter(phone=PHONE, channel=channel).exists()
        or PossibleOptOut.holding(channel).filter(phone=PHONE).exists()
    )


@pytest.mark.parametrize(
    "words",
    [
        # "by phone" is calls: each stops SMS alone, and calls are neither stopped nor held.
        "Please stop contacting me by phone",
        "Don't contact me by phone",
        "Do not contact me by phone or text",
        "Stop contacting me, by phone or otherwise",
        # voice messages are Calls & Voicemails: SMS alone stops.
        "Stop sending me voice messages",
        # both named: SMS alone goes to review, calls are not held.
        "Stop contacting me by phone and text",
        # reviewed as SMS only, though it names nothing but calls.
        "stop dialing me",
        # read as an ordinary reply: nothing stopped, nothing held.
        "no robocalls",
        # Spanish, which the README says is read: "don't call this number", "please don't
        # call", "don't call me any more" (hablar: to call, in Mexico), "stop calling me by
        # phone": each an ordinary reply.
        "No llamen a este número",
        "Favor de no llamar",
        "No me hablen más",
        "Dejen de hablarme por teléfono",
        # reviewed as SMS only: "don't contact me by phone"; "voicemailing".
        "No me contacten por teléfono",
        "Stop voicemailing me",
    ],
)
def test_a_reply_that_revokes_calls_stops_or_holds_calls(sms, words):
    ContactFactory(phone=PHONE)
    sms(words, phone=PHONE)
    assert stopped_or_held(Channel.CALLS), f"{words!r}: calls still reach the number"


@pytest.mark.parametrize(
    "words",
    [
        # each read as an ordinary reply: not stopped, not reviewed
        "Opt me out of everything",
        "No longer interested please remove",
        "Moved away please remove",
        "kindly remove",
        "I'm no longer a customer. Remove.",
        "I'm done with these messages",
        "No quiero recibir nada",  # Spanish: "I don't want to receive anything"
        "Desuscríbanme",  # Spanish: "unsubscribe me"
        "Ya no quiero nada",  # Spanish: "I don't want anything any more"
    ],
)
def test_a_reply_that_asks_to_stop_is_honoured_or_at_least_asked_about(sms, words):
    ContactFactory(phone=PHONE)
    sms(words, phone=PHONE)
    assert stopped_or_held(Channel.SMS), f"{words!r}: read as an ordinary reply, texts go on"


@pytest.mark.parametrize(
    "words",
    [
        "СТОП",  # STOP in Cyrillic (a Russian keyboard)
        "стоп",
        "Arrêtez",  # French: stop
        "停止",  # Chinese: stop
        "退订",  # Chinese: unsubscribe (the usual SMS opt-out word in China)
        "Dừng lại",  # Vietnamese: stop
    ],
)
def test_a_stop_in_another_language_is_at_least_asked_about(sms, words):
    """Outside the English and Spanish the README reads; the notes ask, "when in doubt, treat
    it as one or ask": these are read as ordinary replies, which nobody sees."""
    ContactFactory(phone=PHONE)
    sms(words, phone=PHONE)
    assert stopped_or_held(Channel.SMS), f"{words!r}: read as an ordinary reply, texts go on"
