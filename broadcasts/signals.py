"""Receivers of messaging's signals, connected in BroadcastsConfig.ready."""

from broadcasts.models import Recipient, SentTest

RECIPIENT_STATUS = {
    "delivered": Recipient.Status.DELIVERED,
    "failed": Recipient.Status.FAILED,
    "opted_out": Recipient.Status.SKIPPED,
}


def record_delivery_status(sender, *, sid: str, status: str, error: str, **kwargs) -> int:
    """A broadcast message's delivery status, as the provider reported it; how many messages
    it found, a test send's too, which keeps none (no message: its batch has not recorded it
    yet, or it is not a broadcast's)."""
    found = Recipient.objects.filter(sid=sid).update(status=RECIPIENT_STATUS[status], error=error)
    return found or SentTest.objects.filter(sid=sid).count()
