"""Acting on stored webhook events: each is processed once, and its answer kept for retries."""

import logging
import traceback

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from broadcasts.models import Recipient
from contacts import services
from contacts.models import Channel, PhoneOptOut, Source
from contacts.phones import normalize_phone
from messaging import twiml
from messaging.keywords import Intent, classify
from messaging.models import InboundEvent, PossibleOptOut

logger = logging.getLogger(__name__)


def process(key: str) -> InboundEvent:
    """Process the stored event with `key` unless that was done already; return it with its
    answer.

    The event row is locked while it is processed, so that the provider's retries and a
    re-processing command never act twice. A failure is kept on the event and raised.
    """
    try:
        with transaction.atomic():
            event = InboundEvent.locked(key)
            if event.processed_at is None:
                event.answer(HANDLERS[event.kind](event.payload))
            return event
    except Exception:
        logger.exception("Processing inbound event %s failed", key)
        InboundEvent.objects.filter(key=key).update(error=traceback.format_exc())
        raise


def _sms_reply(text: str) -> str:
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)


def handle_sms(payload: dict) -> str:
    phone = normalize_phone(payload["From"])
    body = payload.get("Body", "")
    business = settings.BUSINESS_NAME
    match classify(body):
        case Intent.OPT_OUT:
            services.record_hard_opt_out(
                phone=phone, channel=Channel.SMS, source=Source.KEYWORD, words=body
            )
            # Always sent, although the number is now opted out: the one allowed reply.
            return _sms_reply(
                f"You have been unsubscribed from {business} messages and will receive no "
                "more. Reply START to resubscribe."
            )
        case Intent.OPT_IN:
            services.record_new_consent(
                phone=phone, channel=Channel.SMS, words=body,
                reference=f"sms:{payload['MessageSid']}",  # the event's key
            )  # fmt: skip
            return _sms_reply(
                f"You have been resubscribed to {business} messages. Reply STOP to unsubscribe."
            )
        case Intent.HELP:
            return _sms_reply(
                f"{business}: {settings.BUSINESS_HELP} Reply STOP to unsubscribe, START to "
                "resubscribe."
            )
        case Intent.POSSIBLE_OPT_OUT:
            PossibleOptOut.objects.create(phone=phone, words=body)
    return _sms_reply("")


def is_outbound(fields) -> bool:
    """A call we placed: Twilio's Direction "outbound-api" or "outbound-dial", in any case."""
    return fields.get("Direction", "").lower().startswith("outbound")


def contact_number(kind: InboundEvent.Kind, fields) -> str:
    """The contact's number in a webhook's fields, in E.164: the sender of an SMS, the caller,
    or on a call we placed, the callee; empty when hidden. The webhook stores it on the event,
    where the database checks an opt-in's number against it."""
    outbound = kind == InboundEvent.Kind.DIGITS and is_outbound(fields)
    try:
        return normalize_phone(fields.get("To" if outbound else "From", ""))
    except ValidationError:
        return ""


def handle_call(payload: dict) -> str:
    phone = contact_number(InboundEvent.Kind.CALL, payload)  # empty: a hidden caller id
    opted_out = (
        bool(phone) and PhoneOptOut.objects.filter(phone=phone, channel=Channel.CALLS).exists()
    )
    return twiml.inbound_menu(opted_out=opted_out)


def _resubscribe_calls(payload: dict) -> str:
    """The caller pressed the digit offered to receive calls again: their own new consent."""
    response = VoiceResponse()
    phone = contact_number(InboundEvent.Kind.DIGITS, payload)
    if not phone:
        response.say("We cannot see your phone number. Please call again without hiding it.")
    else:
        services.record_new_consent(
            phone=phone, channel=Channel.CALLS, words=f"pressed {payload['Digits']}",
            reference=f"digits:{payload['CallSid']}:{payload['Digits']}",  # the event's key
        )  # fmt: skip
        response.say("You will receive our calls again. Goodbye.")
    response.hangup()
    return str(response)


def handle_digits(payload: dict) -> str:
    response = VoiceResponse()
    offered = payload.get("url_digit", "")
    if len(offered) != 1 or offered not in "0123456789*#":
        offered = settings.UNSUBSCRIBE_DIGIT
    # The menu of a call to us offers receiving calls again to a number that stopped them.
    again = settings.RESUBSCRIBE_DIGIT
    offered_again = payload.get("url_resubscribe") == again and not is_outbound(payload)
    if offered_again and payload.get("Digits") == again:
        return _resubscribe_calls(payload)
    if payload.get("Digits") != offered:
        response.say("Goodbye.")
        response.hangup()
        return str(response)
    phone = contact_number(InboundEvent.Kind.DIGITS, payload)
    if not phone:
        # A hidden caller id: there is no number to opt out.
        response.say(
            "We cannot see your phone number, so we cannot unsubscribe it. Please call again "
            "without hiding your number, or reply STOP to one of our text messages."
        )
    else:
        services.record_hard_opt_out(
            phone=phone, channel=Channel.CALLS, source=Source.DIGIT,
            words=f"pressed {payload['Digits']}",
        )  # fmt: skip
        response.say("You will receive no more calls from us. Goodbye.")
    response.hangup()
    return str(response)


DELIVERY = {"delivered": "delivered", "undelivered": "failed", "failed": "failed"}


def handle_status(payload: dict) -> str:
    """Delivery statuses of broadcast messages; error 21610 means the number opted out at
    the carrier."""
    opted_out = str(payload.get("ErrorCode", "")) == "21610"
    if opted_out:
        services.record_hard_opt_out(
            phone=normalize_phone(payload["To"]), channel=Channel.SMS, source=Source.CARRIER,
            words="Error 21610: the recipient opted out at the carrier.",
        )  # fmt: skip
    status = Recipient.Status.SKIPPED if opted_out else DELIVERY.get(payload["MessageStatus"])
    if status and payload.get("MessageSid"):
        Recipient.objects.filter(sid=payload["MessageSid"]).update(
            status=status, error=payload.get("ErrorMessage", "")
        )
    return ""


HANDLERS = {
    InboundEvent.Kind.SMS: handle_sms,
    InboundEvent.Kind.CALL: handle_call,
    InboundEvent.Kind.DIGITS: handle_digits,
    InboundEvent.Kind.STATUS: handle_status,
}
