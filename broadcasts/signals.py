"""Receivers of messaging's signals, connected in BroadcastsConfig.ready."""

from datetime import datetime

from django.db.models import Q

from broadcasts.models import Recipient, SentTest

RECIPIENT_STATUS = {
    "delivered": Recipient.Status.DELIVERED,
    "failed": Recipient.Status.FAILED,
    "opted_out": Recipient.Status.SKIPPED,
}


def record_delivery_status(
    sender, *, sid: str, status: str, error: str, received_at: datetime, **kwargs
) -> int:
    """A broadcast message's delivery status, as the provider reported it at `received_at`,
    unless a status that came later is recorded already (one kept until its batch recorded the
    message, then applied); how many messages it found, a test send's too, which keeps none
    (no message: its batch has not recorded it yet, or it is not a broadcast's)."""
    messages = Recipient.objects.filter(sid=sid)
    not_later = messages.filter(Q(status_received_at=None) | Q(status_received_at__lte=received_at))
    if not_later.update(
        status=RECIPIENT_STATUS[status], error=error, status_received_at=received_at
    ):
        return 1
    return messages.count() or SentTest.objects.filter(sid=sid).count()
