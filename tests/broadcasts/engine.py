"""What a test of the sending engine starts from: a broadcast, launched or not, and the
numbers the locmem outbox received."""

from broadcasts import services
from broadcasts.models import Broadcast
from contacts.models import Channel
from messaging.backends import LocmemBackend


def broadcast(channel=Channel.SMS, audience="", **fields) -> Broadcast:
    defaults = {"body": "Hello", "script": "" if channel == Channel.SMS else "Hello"}
    return Broadcast.objects.create(
        name="Test", channel=channel, audience=audience, **(defaults | fields)
    )


def launched(b: Broadcast, manager, capture) -> Broadcast:
    with capture(execute=True):
        services.launch(broadcast=b, by_user=manager)
    return Broadcast.objects.get(pk=b.pk)


def sent_to() -> list[str]:
    return sorted(message["to"] for message in LocmemBackend.outbox)
