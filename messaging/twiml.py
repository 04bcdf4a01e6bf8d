"""The TwiML of calls: every call offers the unsubscribe digit, but a call to us from a number
that stopped our calls, which is offered the digit to receive them again."""

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from twilio.twiml.voice_response import VoiceResponse


def _offer_unsubscribe(
    response: VoiceResponse, *, say: str = "", play: str = "", digit: str = ""
) -> None:
    # Pressing the digit while the message plays, or after it, reaches the gather webhook,
    # which learns from the URL which digit this call offered.
    digit = digit or settings.UNSUBSCRIBE_DIGIT
    action = settings.PUBLIC_URL.rstrip("/") + reverse("messaging:voice_gather")
    action += "?" + urlencode({"digit": digit})
    gather = response.gather(num_digits=1, action=action, method="POST", timeout=6)
    if say:
        gather.say(say)
    if play:
        gather.play(play)
    gather.say(
        f"To stop receiving calls from {settings.BUSINESS_NAME}, press {digit} now, "
        f"or call us back and press {digit}."
    )


def voice_message(*, script: str = "", audio_url: str = "", digit: str = "") -> str:
    """A broadcast's call: the script said (or the audio played), with the unsubscribe digit."""
    if bool(script) == bool(audio_url):
        raise ValueError("A voice message has a script or an audio URL, not both or neither.")
    response = VoiceResponse()
    _offer_unsubscribe(response, say=script, play=audio_url, digit=digit)
    response.hangup()
    return str(response)


def inbound_menu(*, opted_out: bool = False) -> str:
    """A call to the business number: how someone who heard a voicemail opts out, and how a
    caller whose number opted out of calls asks for them again (RESUBSCRIBE_DIGIT)."""
    response = VoiceResponse()
    if opted_out:
        digit = settings.RESUBSCRIBE_DIGIT
        action = settings.PUBLIC_URL.rstrip("/") + reverse("messaging:voice_gather")
        action += "?" + urlencode({"digit": settings.UNSUBSCRIBE_DIGIT, "resubscribe": digit})
        gather = response.gather(num_digits=1, action=action, method="POST", timeout=6)
        gather.say(
            f"Thank you for calling {settings.BUSINESS_NAME}. This number receives no calls "
            f"from us. To receive our calls again, press {digit} now."
        )
    else:
        _offer_unsubscribe(response, say=f"Thank you for calling {settings.BUSINESS_NAME}.")
    response.say("Goodbye.")
    response.hangup()
    return str(response)
