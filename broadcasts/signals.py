"""Receivers of messaging's signals, connected in BroadcastsConfig.ready."""

from broadcasts.models import Recipient

RECIPIENT_STATUS = {
    "delivered": Recipient.Status.DELIVERED,
    "failed": Recipient.Status.FAILED,
    "opted_out": Recipient.Status.SKIPPED,
}


def record_delivery_status(sender, *, sid: str, status: str, error: str, **kwargs) -> None:
    """A broadcast message's delivery status, as the provider reported it."""
    Recipient.objects.filter(sid=sid).update(status=RECIPIENT_STATUS[status], error=error)
