"""Messaging's part of a number's evidence file (contacts.evidence): every webhook event from
the number (texts, calls, keys pressed) with what was answered, the single texts sent to it
outside broadcasts (or that may have gone), and what the console backend sent to it."""

from xml.etree import ElementTree

from contacts.models import pressed
from messaging.backends import ConsoleBackend
from messaging.models import InboundEvent, OutboundMessage

PROVIDER_IDS = {"sms": "MessageSid", "call": "CallSid", "digits": "CallSid", "status": "MessageSid"}


def messages(sender, *, phone: str, **kwargs) -> list[dict]:
    found = []
    for event in InboundEvent.objects.filter(phone=phone).order_by("received_at", "id"):
        payload = event.payload or {}
        text = payload.get("Body", "")
        if event.kind == InboundEvent.Kind.DIGITS and payload.get("Digits"):
            text = pressed(payload["Digits"])
        found.append({
            "at": event.received_at, "direction": "in", "kind": event.kind,
            "provider_id": payload.get(PROVIDER_IDS.get(event.kind, ""), ""), "text": text,
            "detail": event.reading or _status(payload), "event": event.key,
        })  # fmt: skip
        if answer := _answered(event.response):
            found.append({
                "at": event.processed_at or event.received_at, "direction": "out",
                "kind": "reply", "provider_id": "", "text": answer,
                "detail": f"the answer to {event.key}", "event": event.key,
            })  # fmt: skip
    for message in OutboundMessage.objects.filter(to=phone).order_by("sent_at", "id"):
        found.append({
            "at": message.sent_at, "direction": "out", "kind": message.kind,
            "provider_id": message.sid, "text": message.body,
            "detail": _sent(message),
        })  # fmt: skip
    return found


def _sent(message: OutboundMessage) -> str:
    if message.maybe_sent:
        return "handed to the provider, which did not say whether it took it: it may have gone"
    if message.sid.startswith(ConsoleBackend.prefix):
        return "sent by the console backend"
    return "sent outside broadcasts (a double opt-in prompt, a late confirmation)"


def _status(payload: dict) -> str:
    status = payload.get("MessageStatus", "")
    error = payload.get("ErrorCode", "")
    return f"{status}, error {error}" if error else status


def _answered(response: str) -> str:
    """The words of a webhook's answer (TwiML): a reply's text, a call's spoken words."""
    if not response.strip():
        return ""
    try:
        root = ElementTree.fromstring(response)
    except ElementTree.ParseError:
        return response
    return " ".join(
        " ".join(element.itertext()).strip()
        for element in root.iter()
        if element.tag in ("Message", "Say") and "".join(element.itertext()).strip()
    )
