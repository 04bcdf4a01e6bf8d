"""The TwiML of calls: every call offers the unsubscribe digit, but a call to us from a number
that stopped our calls, which is offered the digit to receive them again (when its carrier
vouches for the number the call shows).

A broadcast's call is a prerecorded message, which 47 CFR 64.1200(b) holds to an order: the
business named at its beginning, the key that stops the calls within two seconds of that, and
a number to reach the business during or after it; and, left on a voicemail, a toll-free
number to call back and stop the calls. So it opens with `call_opening`, then says
the script (or plays the audio), then `reach_us` and `unsubscribe_offer`; the key works
throughout."""

import re
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from twilio.twiml.voice_response import VoiceResponse

from contacts.phones import call_back_number, format_phone, is_toll_free, normalize_phone


def _offer_unsubscribe(
    response: VoiceResponse, digit: str, *steps: tuple[str, str], ours: bool = True
) -> None:
    """The call's `steps` ("say" or "play", and what), then the offer of `digit`, and on a
    call that is `ours`, of calling back.

    Pressing the digit while they play, or after, reaches the gather webhook, which learns
    from the URL which digit this call offered. A call back to us offers UNSUBSCRIBE_DIGIT,
    which a broadcast's own digit may not be."""
    gather = _gather(response, {"digit": digit})
    for verb, what in steps:
        getattr(gather, verb)(what)
    gather.say(unsubscribe_offer(digit) if ours else _press_now(digit) + ".")


def call_opening(digit: str) -> str:
    """What a broadcast's call says first: who calls, and the key that stops the calls, and
    the toll-free number to call back to stop them, which a voicemail must give
    (no_toll_free_call_back)."""
    opening = f"This is {settings.BUSINESS_NAME}. To stop our calls, press {_spoken(digit)} "
    if is_toll_free(number := call_back_number()):
        return f"{opening}at any time, or call {spoken_number(number)} toll-free."
    return f"{opening}at any time."


def reach_us() -> str:
    """What a broadcast's call says after its message: a telephone number of the business,
    other than the one calling (business_phone)."""
    # Without a number, no broadcast's call is placed; a draft's page still shows its words.
    at = spoken_number(phone) if (phone := business_phone()) else settings.BUSINESS_CONTACT
    return f"You can reach {settings.BUSINESS_NAME} at {at}."


def business_phone() -> str:
    """The business's telephone number that its calls state, as 47 CFR 64.1200(b)(2) orders:
    BUSINESS_PHONE, or else BUSINESS_CONTACT where that is a phone number (it may be an
    e-mail or web address), and not the demo's (but in `make run`, with DEBUG on); "" when
    none is, or when it is the number calling (the rule asks for another), and no broadcast's
    call is placed (calls_state_no_number)."""
    given = settings.BUSINESS_PHONE or settings.BUSINESS_CONTACT
    try:
        number = normalize_phone(given)
    except ValidationError:
        return ""
    demo = not settings.DEBUG and number == normalize_phone(settings.DEMO_BUSINESS_CONTACT)
    return "" if number == calling_number() or demo else number


def calling_number() -> str:
    """TWILIO_FROM_NUMBER, the number our calls come from, as numbers are kept ("" if none)."""
    try:
        return normalize_phone(settings.TWILIO_FROM_NUMBER)
    except ValidationError:
        return settings.TWILIO_FROM_NUMBER


def no_caller_id() -> str:
    """Why no call may be placed, or "": Twilio places a call from TWILIO_FROM_NUMBER, which a
    Messaging Service, that sends texts only, does not stand in for."""
    if settings.MESSAGING_BACKEND != "twilio" or settings.TWILIO_FROM_NUMBER:
        return ""
    return (
        "Calls are placed from TWILIO_FROM_NUMBER, which is not set (a Messaging Service sends "
        "texts only). Whoever runs the app sets it to a voice-capable number of the account."
    )


def no_toll_free_call_back() -> str:
    """Why no call may be placed, or "": the number it names to call back and stop the calls
    must be toll-free, as a prerecorded message left on a voicemail must give where it
    advertises or is made without consent under an exemption (47 CFR 64.1200(b)(3), which
    FCC 20-186 extended to those); the app can tell neither a voicemail from a person nor
    every exemption from consent, so every call gives one."""
    number = call_back_number()
    if is_toll_free(number):
        return ""
    rule = (
        "A call must give a toll-free number to call back and stop the calls, which its "
        "voicemail needs (47 CFR 64.1200(b)(3))"
    )
    setting = "CALL_BACK_NUMBER" if settings.CALL_BACK_NUMBER else "TWILIO_FROM_NUMBER"
    given = settings.CALL_BACK_NUMBER or settings.TWILIO_FROM_NUMBER
    if given:
        rule += f": {setting} ({given}) is not a toll-free number."
    else:
        rule += ", and none is set."
    return (
        f"{rule} Whoever runs the app sets CALL_BACK_NUMBER to a toll-free number whose calls "
        "reach this app's voice webhook."
    )


def calls_state_no_number() -> str:
    """Why no broadcast's call may be placed, or "": a call must state a telephone number of
    the business, other than the one calling."""
    if business_phone():
        return ""
    rule = "Calls must state a telephone number where the business can be reached, other than "
    rule += "the number they come from (47 CFR 64.1200(b)(2))"
    if settings.BUSINESS_PHONE:
        return (
            f"{rule}: BUSINESS_PHONE ({settings.BUSINESS_PHONE}) is not such a number. Whoever "
            "runs the app writes the number alone (no extension), not TWILIO_FROM_NUMBER."
        )
    return f"{rule}, and none is set: whoever runs the app sets BUSINESS_PHONE."


def unsubscribe_offer(digit: str) -> str:
    """What a call of ours says after its message: how to stop our calls, now or by calling
    back, which a voicemail must say (47 CFR 64.1200(b)(3))."""
    offer = _press_now(digit)
    call_back = _spoken(settings.UNSUBSCRIBE_DIGIT)
    if number := call_back_number():
        call_back = f"at {spoken_number(number)} and press {call_back}"
    else:  # the console backend's calls, which no one receives
        call_back = f"and press {call_back}"
    if digit == settings.UNSUBSCRIBE_DIGIT:
        return f"{offer}, or call us back {call_back}."
    return f"{offer}. You can also call us back {call_back}."


def _press_now(digit: str) -> str:
    return f"To stop receiving calls from {settings.BUSINESS_NAME}, press {_spoken(digit)} now"


def spoken_number(phone: str) -> str:
    """A number as a voice says it clearly, digit by digit: "4 1 5, 5 5 5, 0 1 0 0"."""
    groups = re.findall(r"\d+", format_phone(phone)) if phone.startswith("+") else [phone]
    return ", ".join(" ".join(group) for group in groups)


def _gather(response: VoiceResponse, offered: dict[str, str]):
    """One key pressed, sent to the gather webhook with what the call `offered` in its URL.
    No key ends the gather early: Twilio's default, "#", is a key a call may offer."""
    action = settings.PUBLIC_URL.rstrip("/") + reverse("messaging:voice_gather")
    action += "?" + urlencode(offered)
    return response.gather(num_digits=1, finish_on_key="", action=action, method="POST", timeout=6)


def _spoken(key: str) -> str:
    """A key as a voice says it: "9", "star", "pound"."""
    return {"*": "star", "#": "pound"}.get(key, key)


# What XML, and so a call's instructions, cannot hold: control characters but the tab and
# line breaks, and two non-characters.
NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def voice_message(*, script: str = "", audio_url: str = "", digit: str = "") -> str:
    """A broadcast's call: who calls and how to stop the calls (with the toll-free number to
    call back), the script said (or the audio played), the unsubscribe digit offered again
    and how to reach the business."""
    if bool(script) == bool(audio_url):
        raise ValueError("A voice message has a script or an audio URL, not both or neither.")
    digit = digit or settings.UNSUBSCRIBE_DIGIT
    # The form refuses them; a script saved before it did is said without them.
    message = ("say", NOT_IN_XML.sub("", script)) if script else ("play", audio_url)
    opening = ("say", call_opening(digit))
    response = VoiceResponse()
    _offer_unsubscribe(response, digit, opening, message, ("say", reach_us()))
    response.hangup()
    return str(response)


def offered_again(digit: str, *, resubscribe: str = "", ours: bool = True) -> str:
    """A key the call did not offer was pressed: said so, and what the call offers asked
    again (the unsubscribe `digit`, and on a call that is `ours`, calling back; `resubscribe`,
    to a caller whose number stopped our calls), rather than ending the call and the way to
    stop them with it."""
    response = VoiceResponse()
    if resubscribe:
        gather = _gather(response, {"digit": digit, "resubscribe": resubscribe})
        offer = f"To receive our calls again, press {_spoken(resubscribe)} now."
    else:
        gather = _gather(response, {"digit": digit})
        offer = unsubscribe_offer(digit) if ours else _press_now(digit) + "."
    gather.say(f"That key does nothing. {offer}")
    response.say("Goodbye.")
    response.hangup()
    return str(response)


def inbound_menu(*, opted_out: bool = False, vouched_for: bool = False) -> str:
    """A call to the business number: how someone who heard a voicemail opts out, and how a
    caller whose number opted out of calls asks for them again (RESUBSCRIBE_DIGIT), when its
    carrier `vouched_for` the number the call shows (messaging.inbound.caller_id_vouched_for):
    a call that shows another's number cannot give that number's consent."""
    response = VoiceResponse()
    if opted_out and not vouched_for:
        response.say(
            f"Thank you for calling {settings.BUSINESS_NAME}. This number receives no calls "
            "from us. Your phone company has not confirmed that this call comes from it, so "
            "this call cannot start our calls again."
        )
    elif opted_out:
        digit = settings.RESUBSCRIBE_DIGIT
        gather = _gather(response, {"digit": settings.UNSUBSCRIBE_DIGIT, "resubscribe": digit})
        gather.say(
            f"Thank you for calling {settings.BUSINESS_NAME}. This number receives no calls "
            f"from us. To receive our calls again, press {_spoken(digit)} now."
        )
    else:
        thanks = f"Thank you for calling {settings.BUSINESS_NAME}."
        _offer_unsubscribe(response, settings.UNSUBSCRIBE_DIGIT, ("say", thanks), ours=False)
    response.say("Goodbye.")
    response.hangup()
    return str(response)
