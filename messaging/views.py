"""Twilio webhooks: signed, CSRF-exempt POSTs that work without a login.

Each request is stored as an InboundEvent before it is acted on, and the provider's retries
of the same event get the same answer without acting twice. If acting fails (the database is
busy or away), the event stays kept, the request is acknowledged, and the task worker acts on
it a few seconds later (`inbound.process_pending`). If storing fails, the request fails (500):
nothing is acknowledged that is not kept.
"""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    QueryDict,
)
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from contacts.phones import number_to_keep
from messaging import inbound
from messaging.models import InboundEvent

logger = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"


def _signed(request: HttpRequest) -> bool:
    if not settings.TWILIO_VALIDATE_SIGNATURES:
        return True
    if not settings.TWILIO_AUTH_TOKEN:
        return False  # anyone can sign with an empty token
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    signature = request.headers.get("X-Twilio-Signature", "")
    # Signed for the address Twilio was given: PUBLIC_URL's, which the app writes into each
    # call's key action and each status callback (a proxy may hand the app another Host), or
    # the one this request reached (behind a TLS-terminating proxy, SECURE_PROXY_SSL_HEADER
    # makes it https).
    if settings.PUBLIC_URL:
        public = settings.PUBLIC_URL.rstrip("/") + request.get_full_path()
        if validator.validate(public, request.POST, signature):
            return True
    try:
        return validator.validate(request.build_absolute_uri(), request.POST, signature)
    except ValueError:  # a Host whose port is past 65535: no such URL was ever requested
        return False


def _holds_nul(*forms: QueryDict) -> bool:
    """Whether a field's name or value holds a NUL: the payload is kept with the URL's fields
    in PostgreSQL's jsonb, which cannot hold one."""
    return any(
        "\x00" in text
        for form in forms
        for name, values in form.lists()
        for text in (name, *values)
    )


def _webhook(kind: InboundEvent.Kind, required: tuple[str, ...], phone_field: str | None, key):
    """Build the view for one kind of webhook.

    `required` fields must be present, `phone_field` must hold a phone number, and `key`
    gives the event's identity across retries from the request's fields.
    """

    @csrf_exempt
    @login_not_required
    @require_POST
    def view(request: HttpRequest) -> HttpResponse:
        if request.content_type != FORM:
            return HttpResponse(f"Send {FORM}.", status=415)
        if not _signed(request):
            logger.warning("Refused a %s webhook with a bad signature", kind)
            return HttpResponseForbidden("Invalid signature.")
        if _holds_nul(request.POST, request.GET):
            return HttpResponseBadRequest("A field holds a NUL character.")
        missing = [name for name in required if not request.POST.get(name)]
        if missing:
            return HttpResponseBadRequest(f"Missing: {', '.join(missing)}.")
        if phone_field:
            try:
                number_to_keep(request.POST[phone_field])
            except ValidationError:
                return HttpResponseBadRequest(f"{phone_field} is not a phone number.")
        # The gather action's URL says which digit the call offered.
        payload = request.POST.dict() | {f"url_{k}": v for k, v in request.GET.items()}
        event_key = key(request.POST)
        if len(event_key) > InboundEvent._meta.get_field("key").max_length:
            return HttpResponseBadRequest("The message or call id is too long.")
        phone = inbound.contact_number(kind, request.POST)
        # A retry finds it kept: processed already, or kept for the worker (then it is late).
        new = InboundEvent.store(key=event_key, kind=kind, payload=payload, phone=phone)
        wait = settings.INBOUND_LOCK_TIMEOUT
        this = InboundEvent(key=event_key, kind=kind, payload=payload, phone=phone)
        try:
            caught_up = inbound.catch_up(this, lock_timeout=wait)
        except Exception:  # the database away: kept, as below
            logger.exception("Catching up with the replies before %s failed", event_key)
            caught_up = False
        if not caught_up:
            # An opt-in behind a reply of its number that could not be processed yet: kept,
            # for the worker to process after it.
            answer = inbound.answer_unprocessed(kind, payload)
            return HttpResponse(answer, content_type="text/xml")
        try:
            event = inbound.process(event_key, lock_timeout=wait, late=not new)
        except Exception:
            # Kept: the worker processes it. Twilio retries nothing, so a 500 would only
            # have left the contact without the confirmation of a STOP that will hold.
            answer = inbound.answer_unprocessed(kind, payload)
            return HttpResponse(answer, content_type="text/xml")
        answer = event.response if event.processed_now else inbound.answer_again(event)
        return HttpResponse(answer, content_type="text/xml")

    return view


sms = _webhook(
    InboundEvent.Kind.SMS, ("MessageSid", "From"), "From", lambda p: f"sms:{p['MessageSid']}"
)
voice = _webhook(
    InboundEvent.Kind.CALL, ("CallSid", "From"), None, lambda p: f"call:{p['CallSid']}"
)
voice_gather = _webhook(
    InboundEvent.Kind.DIGITS,
    ("CallSid", "From", "To"),
    None,
    lambda p: f"digits:{p['CallSid']}:{p.get('Digits', '')}",
)
status = _webhook(
    InboundEvent.Kind.STATUS,
    ("MessageSid", "MessageStatus", "To"),
    "To",
    lambda p: f"status:{p['MessageSid']}:{p['MessageStatus']}",
)
