"""A broadcast's call, as launched, names the business and the key that stops the calls
before its message: 47 CFR 64.1200(b)(1) and (3) (a review found them said only after the
script or the audio, heard a minute in, or never by one who hangs up first)."""

from xml.etree import ElementTree

from django.conf import settings

from broadcasts.models import Broadcast
from contacts.models import Channel
from messaging.backends import LocmemBackend
from tests.broadcasts.engine import broadcast, launched
from tests.factories import ContactFactory

SCRIPT = "Our winter whitening offer: half price until Friday. Book now."


def _spoken(twiml: str) -> list[tuple[str, str]]:
    """The call's steps in order: (verb, text or URL)."""
    return [
        (node.tag, (node.text or "").strip())
        for node in ElementTree.fromstring(twiml).iter()
        if node.tag in ("Say", "Play")
    ]


def test_a_marketing_call_names_the_business_and_the_opt_out_key_before_its_message(
    manager, django_capture_on_commit_callbacks
):
    ContactFactory(phone="+12125550101")
    b = broadcast(Channel.CALLS, script=SCRIPT, purpose=Broadcast.Purpose.MARKETING)
    launched(b, manager, django_capture_on_commit_callbacks)
    [call] = list(LocmemBackend.outbox)
    steps = _spoken(call["body"])
    first = steps[0][1]
    script_at = next(i for i, (_, text) in enumerate(steps) if SCRIPT in text)
    offer_at = next(i for i, (_, text) in enumerate(steps) if "press" in text.lower())
    assert settings.BUSINESS_NAME in first and offer_at < script_at, (
        f"the call says, in order: {steps}"
    )


def test_a_call_of_recorded_audio_offers_the_key_before_the_audio(
    manager, django_capture_on_commit_callbacks
):
    ContactFactory(phone="+12125550101")
    b = broadcast(Channel.CALLS, script="", audio_url="https://example.com/offer.mp3")
    launched(b, manager, django_capture_on_commit_callbacks)
    [call] = list(LocmemBackend.outbox)
    steps = _spoken(call["body"])
    audio_at = next(i for i, (verb, _) in enumerate(steps) if verb == "Play")
    offer_at = next(i for i, (_, text) in enumerate(steps) if "press" in text.lower())
    assert offer_at < audio_at, f"the call, in order: {steps}"
