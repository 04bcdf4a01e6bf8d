"""Single texts the app sends outside broadcasts, at contacts' request
(contacts.signals.text_wanted): the double opt-in prompt. Each is kept in the outbox
(OutboundMessage) with the provider's id, as the console backend keeps what it "sends"."""

from uuid import uuid4

from contacts import services
from contacts.models import Channel
from contacts.signals import TextLater, TextMaybeSent, TextNotSent, TextOptedOut
from messaging import inbound
from messaging.backends import (
    ConsoleBackend,
    MaybeSent,
    RecipientOptedOut,
    RetryLater,
    SendError,
    get_backend,
)
from messaging.models import InboundEvent, OutboundMessage, PossibleOptOut


def send_prompt(sender, *, phone: str, text: str, valid_for: int | None = None, **kwargs) -> str:
    """`send` a text of contacts' asking (contacts.signals.text_wanted), as a broadcast's
    message goes: not while a reply of the number that may be a STOP is kept, not processed
    yet (TextLater)."""
    if InboundEvent.kept_that_may_stop(Channel.SMS).filter(phone=phone).exists():
        raise TextLater("a reply of the number is not processed yet: it may be a STOP")
    return send(sender, phone=phone, text=text, valid_for=valid_for)


def send(sender, *, phone: str, text: str, valid_for: int | None = None, **kwargs) -> str:
    """Send `text` to `phone` now; the provider's id. `valid_for`: the seconds it may wait in
    the provider's queue (until the number's quiet hours begin). Raises TextLater while a
    reply of the number waits in Possible opt-outs (it may be a revocation) or when the
    provider asks to wait; TextOptedOut, TextMaybeSent or TextNotSent for its other
    answers."""
    if PossibleOptOut.holding(Channel.SMS).filter(phone=phone).exists():
        raise TextLater("a reply of the number waits in Possible opt-outs")
    backend = get_backend()
    try:
        sid = backend.send_sms(to=phone, body=text, valid_for=valid_for)
    except RetryLater as error:
        raise TextLater(f"the provider asked to wait, or could not be reached: {error}") from error
    except RecipientOptedOut as error:
        inbound.keep_carrier_opt_out(phone, f"text:{uuid4().hex}", str(error))
        raise TextOptedOut(str(error)) from error
    except MaybeSent as error:
        # It may have reached the number: the outbox and the number's evidence keep it so.
        OutboundMessage.objects.create(
            kind=OutboundMessage.Kind.SMS, to=phone, body=text, maybe_sent=True
        )
        raise TextMaybeSent(str(error)) from error
    except SendError as error:
        raise TextNotSent(str(error)) from error
    if not isinstance(backend, ConsoleBackend):  # which keeps it itself
        OutboundMessage.objects.create(kind=OutboundMessage.Kind.SMS, to=phone, body=text, sid=sid)
    return sid


def delivery(sender, *, sid: str, status: str, error: str, code: str = "", **kwargs) -> int:
    """A delivery status of a single text sent here (messaging.signals.delivery_status): a
    double opt-in prompt the provider could not deliver asked nothing, and one that expired
    in its queue as the number's quiet hours began (30036) is asked again after them. How
    many of the texts sent here the status is of."""
    if status != "delivered" and services.prompt_not_delivered(sid, error, expired=code == EXPIRED):
        return 1
    return int(OutboundMessage.objects.filter(sid=sid).exclude(sid="").exists())


EXPIRED = "30036"  # Twilio: the text's validity period ended while it waited in the queue
