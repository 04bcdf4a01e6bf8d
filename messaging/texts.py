"""Single texts the app sends outside broadcasts, at contacts' request
(contacts.signals.text_wanted): the double opt-in prompt. Each is kept in the outbox
(OutboundMessage) with the provider's id, as the console backend keeps what it "sends"."""

from messaging.backends import ConsoleBackend, get_backend
from messaging.models import OutboundMessage, PossibleOptOut


class NotSent(Exception):
    """The text was not sent: why."""


def send(sender, *, phone: str, text: str, **kwargs) -> str:
    """Send `text` to `phone` now; the provider's id. Raises the backend's SendError, or
    NotSent while a reply of the number waits in Possible opt-outs (it may be a revocation)."""
    if PossibleOptOut.objects.filter(
        phone=phone, decision=PossibleOptOut.Decision.PENDING
    ).exists():
        raise NotSent("a reply of the number waits in Possible opt-outs")
    backend = get_backend()
    sid = backend.send_sms(to=phone, body=text)
    if not isinstance(backend, ConsoleBackend):  # which keeps it itself
        OutboundMessage.objects.create(kind=OutboundMessage.Kind.SMS, to=phone, body=text, sid=sid)
    return sid
