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
    # which learns from the URL which digit this call offered. A call back to us offers
    # UNSUBSCRIBE_DIGIT, which a broadcast's own digit may not be.
    digit = digit or settings.UNSUBSCRIBE_DIGIT
    gather = _gather(response, {"digit": digit})
    if say:
        gather.say(say)
    if play:
        gather.play(play)
    gather.say(unsubscribe_offer(digit))


def unsubscribe_offer(digit: str) -> str:
    """What a call says after its message: how to stop our calls, now or by calling back."""
    offer = f"To stop receiving calls from {settings.BUSINESS_NAME}, press {_spoken(digit)} now"
    call_back = _spoken(settings.UNSUBSCRIBE_DIGIT)
    if digit == settings.UNSUBSCRIBE_DIGIT:
        return f"{offer}, or call us back and press {call_back}."
    return f"{offer}. You can also call us back and press {call_back}."


def _gather(response: VoiceResponse, offered: dict[str, str]):
    """One key pressed, sent to the gather webhook with what the call `offered` in its URL.
    No key ends the gather early: Twilio's default, "#", is a key a call may offer."""
    action = settings.PUBLIC_URL.rstrip("/") + reverse("messaging:voice_gather")
    action += "?" + urlencode(offered)
    return response.gather(num_digits=1, finish_on_key="", action=action, method="POST", timeout=6)


def _spoken(key: str) -> str:
    """A key as a voice says it: "9", "star", "pound"."""
    return {"*": "star", "#": "pound"}.get(key, key)


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
        gather = _gather(response, {"digit": settings.UNSUBSCRIBE_DIGIT, "resubscribe": digit})
        gather.say(
            f"Thank you for calling {settings.BUSINESS_NAME}. This number receives no calls "
            f"from us. To receive our calls again, press {_spoken(digit)} now."
        )
    else:
        _offer_unsubscribe(response, say=f"Thank you for calling {settings.BUSINESS_NAME}.")
    response.say("Goodbye.")
    response.hangup()
    return str(response)
