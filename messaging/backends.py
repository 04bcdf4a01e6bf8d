"""Sending SMS and calls through a pluggable backend, like Django's EMAIL_BACKEND.

MESSAGING_BACKEND is `console` (prints, and keeps an outbox in the database), `locmem` (keeps
what was sent in `locmem.outbox`, for tests) or `twilio` (the official SDK).

What a failed send means matters for compliance and for retries:
- RecipientOptedOut: the provider refuses, the number opted out at the carrier (21610).
- RetryLater: not processed (429 / 20429); sending again is safe.
- MaybeSent: a 5xx or a time-out; the message may have gone out, so never send it again.

A backend also answers whether a number was disconnected since a date (`reassigned_since`), in
the vocabulary of the FCC's Reassigned Numbers Database.
"""

import logging
import uuid
from collections import deque
from datetime import date
from functools import cache

from django.conf import settings
from django.urls import reverse
from django.utils.module_loading import import_string

from messaging.models import OutboundMessage

logger = logging.getLogger(__name__)

BACKENDS = {
    "console": "messaging.backends.ConsoleBackend",
    "locmem": "messaging.backends.LocmemBackend",
    "twilio": "messaging.backends.TwilioBackend",
}


class SendError(Exception):
    """A message was not sent (or may not have been)."""


class RecipientOptedOut(SendError):
    """The provider refused: the recipient opted out at the carrier or the provider."""


class RetryLater(SendError):
    """The provider did not process the request; sending again is safe."""


class MaybeSent(SendError):
    """The provider failed or did not answer in time: the message may have been sent."""


# The FCC Reassigned Numbers Database's answers: the number was permanently disconnected
# since the date asked about (so it may have been reassigned), it was not, or it has no data.
YES, NO, NO_DATA = "yes", "no", "no_data"


class LookupFailed(Exception):
    """The provider did not answer whether a number was reassigned."""


class BaseBackend:
    def reassigned_since(self, phone: str, since: date) -> str:
        """Whether `phone` was disconnected since `since`: YES, NO or NO_DATA; LookupFailed if
        the provider does not say."""
        raise NotImplementedError

    def send_sms(self, *, to: str, body: str, valid_for: int | None = None) -> str:
        """Send an SMS; return the provider's id for it. `valid_for`: the seconds it may wait
        in the provider's queue, after which it is not sent (its recipient's quiet hours
        begin then)."""
        raise NotImplementedError

    def make_call(self, *, to: str, twiml: str) -> str:
        """Place a call that runs `twiml`; return the provider's id for it."""
        raise NotImplementedError


class _KeepingBackend(BaseBackend):
    """A backend that sends nothing and keeps each message somewhere instead."""

    prefix = "KP"

    def send_sms(self, *, to: str, body: str, valid_for: int | None = None) -> str:
        sid = f"{self.prefix}{uuid.uuid4().hex}"
        return self.keep("sms", to, body, sid=sid, valid_for=valid_for)

    def make_call(self, *, to: str, twiml: str) -> str:
        return self.keep("call", to, twiml, sid=f"{self.prefix}{uuid.uuid4().hex}")

    def keep(self, kind: str, to: str, body: str, *, sid: str, valid_for: int | None = None) -> str:
        raise NotImplementedError

    # What `reassigned_since` answers for a number (tests); no data for the others.
    reassigned: dict[str, str] = {}

    def reassigned_since(self, phone: str, since: date) -> str:
        """No carrier's data here: the answers set in `reassigned`, else no data."""
        return self.reassigned.get(phone, NO_DATA)


class LocmemBackend(_KeepingBackend):
    """Keeps what was sent in `LocmemBackend.outbox`, for tests: the latest 10,000 messages,
    so that a worker's memory stays flat however many it sends (the benchmark's 900,000)."""

    prefix = "LM"
    outbox: deque[dict] = deque(maxlen=10_000)

    def keep(self, kind: str, to: str, body: str, *, sid: str, valid_for: int | None = None) -> str:
        message = {"kind": kind, "to": to, "body": body, "sid": sid, "valid_for": valid_for}
        LocmemBackend.outbox.append(message)
        return sid


class ConsoleBackend(_KeepingBackend):
    """Prints each message and keeps it in the outbox page."""

    prefix = "CO"

    def keep(self, kind: str, to: str, body: str, *, sid: str, valid_for: int | None = None) -> str:
        OutboundMessage.objects.create(kind=kind, to=to, body=body, sid=sid)
        print(f"[{kind} to {to}] {body}", flush=True)
        return sid


class TwilioBackend(BaseBackend):
    """Real sending with the official SDK; its REST base URL can point at a stand-in."""

    def __init__(self):
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT),
        )
        if settings.TWILIO_API_BASE_URL:
            self.client.api.base_url = settings.TWILIO_API_BASE_URL
            self.client.lookups.base_url = settings.TWILIO_API_BASE_URL

    def _sender(self) -> dict:
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            return {"messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID}
        return {"from_": settings.TWILIO_FROM_NUMBER}

    def send_sms(self, *, to: str, body: str, valid_for: int | None = None) -> str:
        callback = settings.PUBLIC_URL.rstrip("/") + reverse("messaging:status")
        # Twilio takes 1 to 36,000 seconds (its default): a text queued past it is not sent.
        valid = {} if valid_for is None else {"validity_period": min(max(valid_for, 1), 36_000)}
        return self._create(
            lambda: self.client.messages.create(
                to=to, body=body, status_callback=callback, **self._sender(), **valid
            )
        )

    def make_call(self, *, to: str, twiml: str) -> str:
        return self._create(
            lambda: self.client.calls.create(to=to, twiml=twiml, from_=settings.TWILIO_FROM_NUMBER)
        )

    def reassigned_since(self, phone: str, since: date) -> str:
        """Twilio Lookup's Reassigned Number package, which asks the FCC's Reassigned Numbers
        Database (US numbers; the account needs it enabled)."""
        from requests.exceptions import RequestException
        from twilio.base.exceptions import TwilioException

        try:
            found = self.client.lookups.v2.phone_numbers(phone).fetch(
                fields="reassigned_number", last_verified_date=since.strftime("%Y%m%d")
            )
        except (RequestException, TwilioException) as error:
            raise LookupFailed(str(error)) from error
        answer = found.reassigned_number or {}
        if answer.get("error_code"):
            raise LookupFailed(f"error {answer['error_code']}")
        return {"yes": YES, "no": NO}.get(str(answer.get("is_number_reassigned")).lower(), NO_DATA)

    def _create(self, create) -> str:
        from requests.exceptions import RequestException
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            created = create()
        except TwilioRestException as error:
            if error.code == 21610:
                raise RecipientOptedOut(error.msg) from error
            if error.status == 429 or error.code == 20429:
                raise RetryLater(error.msg) from error
            if error.status >= 500:
                raise MaybeSent(f"The provider answered {error.status}: {error.msg}") from error
            raise SendError(f"{error.status} {error.code}: {error.msg}") from error
        except (RequestException, TwilioException) as error:
            if never_connected(error):
                raise RetryLater(f"The provider could not be reached: {error}") from error
            # A time-out or a dropped connection: the request may have been processed.
            raise MaybeSent(f"No answer from the provider: {error}") from error
        except Exception as error:
            # An answer the SDK cannot read (a proxy's page in its place, say): the request
            # may have reached the provider, and the message may have been sent. Logged whole:
            # it may be a fault of ours as well.
            logger.exception("Sending: an answer the SDK could not read")
            raise MaybeSent(f"An answer the provider should not give: {error!r}") from error
        if not created.sid:
            raise MaybeSent("The provider answered without the message's id.")
        return created.sid


def never_connected(error: Exception) -> bool:
    """Whether a request failed before its connection was made (refused, a name that does not
    resolve, a connect time-out), so that the provider never saw it and sending again is
    safe. A network outage would otherwise make every message it met "may have been sent",
    never sent again."""
    from requests.exceptions import ConnectionError, ConnectTimeout
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

    if isinstance(error, ConnectTimeout):
        return True
    if not isinstance(error, ConnectionError) or not error.args:
        return False
    reason = error.args[0]
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


@cache
def _backend_class(name: str) -> type[BaseBackend]:
    return import_string(BACKENDS.get(name, name))


def get_backend() -> BaseBackend:
    return _backend_class(settings.MESSAGING_BACKEND)()
