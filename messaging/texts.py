"""Single texts the app sends outside broadcasts, at contacts' request
(contacts.signals.text_wanted): the double opt-in prompt. Each is kept in the outbox
(OutboundMessage) with the provider's id, as the console backend keeps what it "sends"."""

from contacts.signals import TextLater, TextNotSent
from messaging.backends import ConsoleBackend, RetryLater, SendError, get_backend
from messaging.models import OutboundMessage, PossibleOptOut


def send(sender, *, phone: str, text: str, **kwargs) -> str:
    """Send `text` to `phone` now; the provider's id. Raises TextLater when the provider asks
    to wait, TextNotSent when it refuses or does not answer, or while a reply of the number
    waits in Possible opt-outs (it may be a revocation)."""
    if PossibleOptOut.objects.filter(
        phone=phone, decision=PossibleOptOut.Decision.PENDING
    ).exists():
        raise TextNotSent("a reply of the number waits in Possible opt-outs")
    backend = get_backend()
    try:
        sid = backend.send_sms(to=phone, body=text)
    except RetryLater as error:
        raise TextLater(str(error)) from error
    except SendError as error:
        raise TextNotSent(str(error)) from error
    if not isinstance(backend, ConsoleBackend):  # which keeps it itself
        OutboundMessage.objects.create(kind=OutboundMessage.Kind.SMS, to=phone, body=text, sid=sid)
    return sid
