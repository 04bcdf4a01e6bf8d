"""What a test of the sending engine starts from: a broadcast, launched or not, and the
numbers the locmem outbox received."""

from broadcasts import services
from broadcasts.models import Broadcast, Recipient
from contacts.models import Channel
from messaging.backends import LocmemBackend


def broadcast(channel=Channel.SMS, audience="", **fields) -> Broadcast:
    defaults = {
        "name": "Test",
        "body": "Hello",
        "script": "" if channel == Channel.SMS else "Hello",
    }
    return Broadcast.objects.create(channel=channel, audience=audience, **(defaults | fields))


def launched(b: Broadcast, manager, capture) -> Broadcast:
    with capture(execute=True):
        services.launch(broadcast=b, by_user=manager)
    return Broadcast.objects.get(pk=b.pk)


def sent_to() -> list[str]:
    return sorted(message["to"] for message in LocmemBackend.outbox)


def sent_earlier(phone: str, *, channel=Channel.SMS, hours_ago: float = 2, times: int = 1):
    """`times` broadcasts of `channel` that reached `phone` `hours_ago` hours ago."""
    from datetime import timedelta

    from django.utils import timezone

    from broadcasts.models import Recipient

    for _ in range(times):
        earlier = broadcast(channel, status=Broadcast.Status.DONE)
        Recipient.objects.create(
            broadcast=earlier, phone=phone, status=Recipient.Status.SENT,
            sent_at=timezone.now() - timedelta(hours=hours_ago),
        )  # fmt: skip


def in_flight(phone: str, *, channel=Channel.SMS, times: int = 1):
    """`times` broadcasts of `channel` sending now, each handing a message to `phone`."""
    from django.utils import timezone

    for _ in range(times):
        other = broadcast(channel, status=Broadcast.Status.SENDING)
        other.recipients.create(
            phone=phone, status=Recipient.Status.SENDING, claimed_at=timezone.now()
        )


def confirmed(b: Broadcast) -> dict:
    """The launch form as its page gives it for the broadcast as it is now (read again: as
    saved, not as the test's copy may say)."""
    return {"confirmed": services.confirmation(Broadcast.objects.get(pk=b.pk))}
