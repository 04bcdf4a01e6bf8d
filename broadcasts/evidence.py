"""Broadcasts' part of a number's evidence file (contacts.evidence): each broadcast message
handed to the provider for the number, and each test sent to it."""

from broadcasts.models import Recipient, SentTest
from contacts import subscriptions
from contacts.models import Channel


def messages(sender, *, phone: str, **kwargs) -> list[dict]:
    found = []
    handed_over = Recipient.objects.filter(phone=phone, sent_at__isnull=False)
    for recipient in handed_over.select_related("broadcast").order_by("sent_at", "id"):
        broadcast = recipient.broadcast
        found.append({
            "at": recipient.sent_at, "direction": "out", "kind": _kind(broadcast.channel),
            "provider_id": recipient.sid, "text": _text(broadcast),
            "detail": f"broadcast {broadcast.pk} “{broadcast.name}” "
                      f"({broadcast.get_purpose_display().lower()}): {recipient.status}",
            "contact_id": recipient.contact_id,
        })  # fmt: skip
    for test in SentTest.objects.filter(phone=phone).select_related("broadcast", "sent_by"):
        found.append({
            "at": test.sent_at, "direction": "out", "kind": _kind(test.broadcast.channel),
            "provider_id": test.sid, "text": _text(test.broadcast),
            "detail": f"a test of broadcast {test.broadcast_id} “{test.broadcast.name}”, sent "
                      f"by {test.sent_by.get_username() if test.sent_by else 'a deleted user'}",
        })  # fmt: skip
    return found


def _kind(channel: str) -> str:
    return "sms" if channel == Channel.SMS else "call"


def _text(broadcast) -> str:
    if broadcast.channel == Channel.SMS:  # each link unsigned: the number's own, when sent
        return broadcast.sms_text.replace(subscriptions.PLACEHOLDER, subscriptions.unsigned_link())
    return broadcast.script or f"plays {broadcast.audio_url}"
