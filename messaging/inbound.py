"""Acting on stored webhook events: each is processed once, and its answer kept for retries.

An event whose processing failed (the database was busy or away) stays kept, and the task
worker processes it a few seconds later (`process_pending`, broadcasts' `worker` command).
"""

import logging
import traceback
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from xml.etree import ElementTree

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet, Subquery
from django.utils import timezone
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from contacts import services
from contacts.models import (
    OPT_IN_WORDS,
    Channel,
    ConsentEvent,
    Contact,
    OptIn,
    PhoneOptOut,
    ReassignedNumber,
    Source,
    channels_revoked,
    opt_in_words,
    opted_out_at_all,
    pressed,
)
from contacts.phones import number_to_keep
from contacts.signals import TextMaybeSent, TextOptedOut
from messaging import texts, twiml
from messaging.keywords import Intent, Reading, join_keywords, normalise, read
from messaging.models import InboundEvent, PossibleOptOut, close_answered_reviews
from messaging.phrases import read_reply
from messaging.signals import delivery_status

logger = logging.getLogger(__name__)


def process(key: str, *, lock_timeout: float | None = None, late: bool = False) -> InboundEvent:
    """Process the stored event with `key` unless that was done already; return it with its
    answer. `late`: it was kept, and the worker processes it now (process_pending).

    The event row is locked while it is processed, so that the provider's retries and a
    re-processing never act twice. A failure is kept on the event and raised. On PostgreSQL,
    `lock_timeout` (seconds) ends each wait for a lock (a bulk change's transaction, an
    import's) with a failure: the webhook's request then ends in time.
    """
    waiting = None
    try:
        with transaction.atomic():
            if lock_timeout and connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('lock_timeout', %s, true)",
                        [f"{round(lock_timeout * 1000)}ms"],
                    )
            event = InboundEvent.locked(key)
            event.late = late
            event.processed_now = event.processed_at is None
            if event.processed_now:
                try:
                    event.answer(_answer(event))
                except MessageNotRecordedYet as error:
                    # What the handler did holds (a carrier's opt-out, which it finds done
                    # when it is tried again); the status waits for its message.
                    InboundEvent.objects.filter(key=key).update(error=NOT_RECORDED_YET)
                    waiting = error
    except Exception:
        logger.exception("Processing inbound event %s failed", key)
        # A status's note that its carrier opt-out is recorded stays (see _answer).
        kept = InboundEvent.objects.filter(key=key).exclude(error=NOT_RECORDED_YET)
        kept.update(error=traceback.format_exc())
        raise
    if waiting:
        logger.info("Inbound event %s: its message is not recorded yet, kept", key)
        raise waiting
    return event


def _answer(event: InboundEvent) -> str:
    try:
        if event.kind == InboundEvent.Kind.STATUS:
            # Kept for its message, a status has recorded its carrier opt-out already: the
            # contact may have sent START since, which recording it again would undo.
            again = event.error == NOT_RECORDED_YET
            return handle_status(event.payload, again=again, received_at=event.received_at)
        if event.kind == InboundEvent.Kind.SMS:
            reading, phrase = read_reply(event.payload.get("Body", ""))
            read_by_twilio = as_twilio_read(reading, event.payload)
            if read_by_twilio is not reading:  # Twilio stopped it: no phrase of ours decided
                reading, phrase = read_by_twilio, None
            read_as = READ_AS[reading.intent]
            event.reading = reading.matched or read_as
            if not event.reading.startswith(read_as):  # "wrong number: “…”" says it already
                event.reading = f"{read_as}: {event.reading}"
            if reading.to_review:
                event.reading += f"; to review: {reading.to_review.matched}"
            event.reading = event.reading[:250]
            event.phrase = phrase
            return HANDLERS[event.kind](
                event.payload, reading=reading, received_at=event.received_at, late=event.late
            )
        if event.kind == InboundEvent.Kind.DIGITS:
            return HANDLERS[event.kind](
                event.payload, received_at=event.received_at, late=event.late
            )
        return HANDLERS[event.kind](event.payload)
    except MessageNotRecordedYet:
        waited = timezone.now() - event.received_at
        if waited < max(STATUS_WAIT, timedelta(seconds=settings.BROADCAST_SEND_TIMEOUT)):
            raise
        return ""


def process_pending(*, received_before: datetime) -> Iterator[tuple[str, Exception | None]]:
    """Process the kept events not processed yet that were received before `received_before`,
    oldest first; yield each one's key, with the error that stopped it again, if any."""
    pending = InboundEvent.objects.filter(processed_at=None, received_at__lt=received_before)
    processed = []
    for key in list(pending.order_by("received_at", "id").values_list("key", flat=True)):
        try:
            processed.append(process(key, late=True))
        except Exception as error:  # kept on the event; go on with the others
            yield key, error
        else:
            yield key, None
    # After every kept event of their numbers: a STOP that came after a JOIN wins.
    for event in processed:
        send_what_was_not_answered(event)


def catch_up(event: InboundEvent, *, lock_timeout: float | None = None) -> bool:
    """Before a reply that may opt its number in (a START, JOIN or YES, the key to receive
    calls again) is acted on: process the replies of its number kept for the worker that came
    before it, oldest first, as the worker would (late). A START after a STOP kept would
    otherwise be confirmed, then undone by the STOP. Whether none is left kept (one that fails
    again stays kept, as do more than CATCH_UP_AT_MOST, which a webhook's answer cannot wait
    for; the event should wait behind them for the worker, which processes them in order).
    Other replies are acted on at once: an opt-out may come after anything, and a reply kept
    before it, processed late, finds it and is dropped if it opts in."""
    if not event.phone or not may_opt_in(event):
        return True
    this = InboundEvent.objects.filter(key=event.key).values("id")[:1]
    earlier = InboundEvent.objects.filter(
        phone=event.phone, processed_at=None, kind__in=REPLY_KINDS, id__lt=Subquery(this)
    )
    keys = list(earlier.order_by("received_at", "id").values_list("key", flat=True))
    if len(keys) > CATCH_UP_AT_MOST:
        return False
    for each in keys:
        try:
            process(each, lock_timeout=lock_timeout, late=True)
        except Exception:  # logged and kept on the event by `process`
            return False
    return True


# The most kept replies of its number an opt-in's webhook processes first, each waiting at
# most INBOUND_LOCK_TIMEOUT for its locks: Twilio waits 15 seconds for an answer.
CATCH_UP_AT_MOST = 3


REPLY_KINDS = [InboundEvent.Kind.SMS, InboundEvent.Kind.DIGITS]


def may_opt_in(event: InboundEvent) -> bool:
    """Whether the reply may opt its number in: a text that is an opt-in or join keyword
    (what `read` reads as one is among these; reading a long reply whole costs milliseconds),
    or the key to receive calls again."""
    if event.kind == InboundEvent.Kind.SMS:
        body = event.payload.get("Body", "")
        return opt_in_words(body) in OPT_IN_WORDS or normalise(body) in join_keywords()
    return event.kind == InboundEvent.Kind.DIGITS and _pressed(event.payload) == "resubscribe"


# The readings (READ_AS, below) whose confirmation a kept text did not get at once.
CONFIRMED_LATE = ("opt-in", "join")


# How a reply is read that Twilio read as an opt-out keyword of the business's own (its
# Advanced Opt-Out, a Messaging Service's keywords: "HALT", "ARRET") and stopped itself.
STOPPED_BY_TWILIO = "an opt-out keyword of the messaging service (Twilio's OptOutType STOP)"


def as_twilio_read(reading: Reading, payload: dict) -> Reading:
    """`reading`, unless Twilio says it read the reply as an opt-out keyword and stopped the
    number's texts (the OptOutType it sends where a Messaging Service has Advanced Opt-Out):
    then an opt-out, whatever the words. (Its START, the app reads by its own rules.)"""
    if reading.intent != Intent.OPT_OUT and payload.get("OptOutType", "").upper() == "STOP":
        return Reading(Intent.OPT_OUT, STOPPED_BY_TWILIO)
    return reading


def send_what_was_not_answered(event: InboundEvent) -> None:
    """A JOIN, START or YES kept for the worker was answered at once with nothing
    (`answer_unprocessed`: what it does depends on processing); the confirmation processing
    gave it is sent now as a text, as carriers require it: once (only by the call that
    processed it), and only while the number may receive texts and has sent no reply since
    (a STOP, "wrong number", kept or processed), under its lock as a send takes it (a STOP
    after it wins). Not sent then, it is not sent later either. A failure is logged: the
    event stays processed."""
    processed_now = getattr(event, "processed_now", False)
    if event.kind != InboundEvent.Kind.SMS or not event.phone or not processed_now:
        return
    if not event.reading.startswith(CONFIRMED_LATE):
        return  # an opt-out's confirmation was given at once; HELP's too
    for text in _texts(event.response):
        try:
            with transaction.atomic():
                services.lock_numbers([event.phone], shared=True)
                if _stopped_or_replied_since(event):
                    return
                try:
                    texts.send(InboundEvent, phone=event.phone, text=text)
                except TextOptedOut:
                    # The carrier's refusal is kept (texts.send): committed with it.
                    logger.info("The late reply to %s: the number opted out", event.key)
                    return
                except TextMaybeSent as error:
                    # Kept as a text that may have gone (texts.send): committed with it.
                    logger.warning("The late reply to %s may have gone: %s", event.key, error)
                    return
        except Exception:
            logger.exception("The late reply to %s was not sent", event.key)


def _replies_after(phone: str, after) -> QuerySet[InboundEvent]:
    """The texts and keys pressed of `phone` that came after the event `after` (its id, or a
    query of it), processed or kept."""
    return InboundEvent.objects.filter(phone=phone, id__gt=after, kind__in=REPLY_KINDS)


def _stopped_or_replied_since(event: InboundEvent) -> bool:
    """Whether the number of `event` has opted out of texts, or sent a reply since it."""
    return _opted_out_at_all(event.phone) or _replies_after(event.phone, event.pk).exists()


def answer_again(event: InboundEvent) -> str:
    """What a retry of an event processed already is answered: its answer as kept, but not
    the confirmation of an opt-in where the number has opted out or replied since (it would
    reach them after their STOP)."""
    confirmed = event.kind == InboundEvent.Kind.SMS and event.reading.startswith(CONFIRMED_LATE)
    if confirmed and event.phone and _stopped_or_replied_since(event):
        return _sms_reply("")
    return event.response


def _texts(twiml_response: str) -> list[str]:
    """The messages of a TwiML answer to an SMS."""
    if "<Message" not in twiml_response:
        return []
    return [
        message.text or "" for message in ElementTree.fromstring(twiml_response).iter("Message")
    ]


def answer_unprocessed(kind: str, payload: dict) -> str:
    """The answer to a webhook whose event is kept but could not be processed yet; the worker
    processes it within seconds. An opt-out is confirmed as processing it does: kept, it will
    hold. A call gets the menu. Anything else whose answer depends on what processing finds (a
    START's resubscription) gets an empty answer, which acknowledges it."""
    match kind:
        case InboundEvent.Kind.SMS:
            # By the built-in rules alone: the database may be what failed.
            reading = as_twilio_read(read(payload.get("Body", "")), payload)
            if reading.intent == Intent.OPT_OUT:
                return _sms_reply(unsubscribed_reply(_covered(reading), reading.language))
            return _sms_reply(help_reply() if reading.intent == Intent.HELP else "")
        case InboundEvent.Kind.CALL:
            return twiml.inbound_menu()
        case InboundEvent.Kind.DIGITS:
            if _pressed(payload) == "unsubscribe" and contact_number(kind, payload):
                return _no_more_calls(channels_revoked(Channel.CALLS))
            response = VoiceResponse()
            response.say("Goodbye.")
            response.hangup()
            return str(response)
    return ""


def _sms_reply(text: str) -> str:
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)


def _covered(reading: Reading) -> tuple[Channel, ...]:
    """The channels that the revocation `reading` would stop, for an answer given before it
    is recorded: those it names, each with what the scope adds (`channels_revoked`)."""
    covered = {each for channel in reading.channels for each in channels_revoked(channel)}
    return tuple(channel for channel in Channel if channel in covered)


def _opted_out_of_texts(phone: str) -> bool:
    return PhoneOptOut.objects.filter(phone=phone, channel=Channel.SMS).exists()


def unsubscribed_reply(covered: tuple[Channel, ...], language: str = "en") -> str:
    """The confirmation of a revocation that opted the number out of the `covered` channels,
    in the language it was asked in (English or Spanish); one segment unless the name is long
    (messaging.checks warns). A START lifts the SMS opt-out only: the reply says so when
    calls stopped too."""
    business = settings.BUSINESS_NAME
    texts, calls = Channel.SMS in covered, Channel.CALLS in covered
    if language == "es":
        if texts and calls:
            return (
                f"{business}: te diste de baja; ya no te enviaremos mensajes ni te llamaremos. "
                "Responde START para volver a recibir mensajes."
            )
        if calls:
            return (
                f"{business}: ya no te llamaremos. Responde STOP para dejar de recibir "
                "mensajes también."
            )
        return (
            f"{business}: te diste de baja; ya no te enviaremos mensajes. Responde START para "
            "volver a suscribirte."
        )
    if texts and calls:
        return (
            f"You have been unsubscribed from {business} and will receive no more texts or "
            "calls. Reply START to receive texts again."
        )
    if calls:
        return f"You will receive no more calls from {business}. Reply STOP to stop texts too."
    return (
        f"You have been unsubscribed from {business} messages and will receive no more. "
        "Reply START to resubscribe."
    )


def joined_reply() -> str:
    """The confirmation of a request to receive texts, as carriers require it (CTIA): who is
    writing, which messages and how often, that rates may apply, how to get help and how to
    stop; one segment unless the settings are long (messaging.checks warns)."""
    return (
        f"{settings.BUSINESS_NAME}: you're subscribed to {settings.SMS_PROGRAM}, "
        f"{settings.SMS_FREQUENCY}. Msg & data rates may apply. Reply HELP for help, STOP to "
        "cancel."
    )


def start_first_reply() -> str:
    """The answer to JOIN from a number that opted out of texts: only START ends that."""
    return (
        f"{settings.BUSINESS_NAME}: you unsubscribed from our texts. Reply START to receive "
        "them again."
    )


def help_reply() -> str:
    """The answer to HELP, as carriers require it: who is writing, how to reach them and how to
    stop; one segment unless the name and contact are long (messaging.checks warns)."""
    return f"{settings.BUSINESS_NAME}: help at {settings.BUSINESS_CONTACT}. Reply STOP to opt out."


# How an SMS was read, as its event keeps it: "opt-out: keyword STOP with “please”".
READ_AS = {
    Intent.OPT_OUT: "opt-out",
    Intent.OPT_IN: "opt-in",
    Intent.JOIN: "join",
    Intent.HELP: "help",
    Intent.POSSIBLE_OPT_OUT: "possible opt-out",
    Intent.WRONG_NUMBER: "wrong number",
    Intent.OTHER: "ordinary",
}


def handle_sms(
    payload: dict, *, reading: Reading, received_at: datetime | None = None, late: bool = False
) -> str:
    """Act on an SMS (an MMS's text too; empty for a picture alone) as `reading` says.
    `received_at`: when it came (now, unless it was kept); `late`: kept, and processed now by
    the worker."""
    phone = number_to_keep(payload["From"])
    body = payload.get("Body", "")
    match reading.intent:
        case Intent.OPT_OUT:
            covered: set[Channel] = set()
            for channel in reading.channels:
                covered |= set(
                    services.record_revocation(
                        phone=phone,
                        channel=channel,
                        source=Source.KEYWORD,
                        words=body,
                        matched=reading.matched,
                        at=received_at,
                    )  # fmt: skip
                )
            if Channel.SMS not in covered and _opted_out_of_texts(phone):
                covered = set(Channel)  # the reply says what holds: no texts, no calls
            if reading.to_review and (
                left := tuple(c for c in reading.to_review.channels if c not in covered)
            ):
                _keep_for_review(
                    phone, body, replace(reading.to_review, channels=left), received_at
                )
            if reading.wrong_number:  # "Wrong number. Stop calling me": texts go to nobody
                _reassigned(phone, body, payload)
            # Always sent, although the number is now opted out: the one allowed reply.
            return _sms_reply(unsubscribed_reply(tuple(covered), reading.language))
        case Intent.OPT_IN | Intent.JOIN:
            key = f"sms:{payload['MessageSid']}"  # the event's key
            received_at = received_at or timezone.now()
            return _sms_reply(_join(phone, body, reading, key, received_at, late))
        case Intent.HELP:
            return _sms_reply(help_reply())
        case Intent.POSSIBLE_OPT_OUT:
            _keep_for_review(phone, body, reading, received_at)
    if reading.intent == Intent.WRONG_NUMBER or reading.wrong_number:
        # Whoever consented is not there (reviewed too, if the reply said more): the number's
        # consent goes, and nothing is answered to someone who never agreed to hear from us.
        _reassigned(phone, body, payload)
    return _sms_reply("")


def _reassigned(phone: str, body: str, payload: dict) -> None:
    services.record_reassigned(
        phone=phone, how=ReassignedNumber.How.REPLY, words=body,
        reference=f"sms:{payload['MessageSid']}",
    )  # fmt: skip


def _keep_for_review(phone: str, body: str, reading: Reading, received_at: datetime | None) -> None:
    """Keep the reply for a person to decide, holding the channels `reading` would stop; as
    received when it came (`received_at`), from which its business days count."""
    PossibleOptOut.objects.create(
        phone=phone, words=body, matched=reading.matched, channels=" ".join(reading.channels),
        received_at=received_at or timezone.now(),
    )  # fmt: skip
    # From a number opted out of all it would stop already: nothing to decide.
    close_answered_reviews(InboundEvent, phone=phone)


def _join(
    phone: str, body: str, reading: Reading, key: str, received_at: datetime, late: bool
) -> str:
    """The contact behind `phone` asks to receive texts: START (UNSTOP, YES) lifts every
    opt-out of SMS of the number, hard ones too; JOIN, SUBSCRIBE or the business's own keyword,
    the soft ones, and asks for a START where the number opted out itself. Either is their
    consent on record, confirmed once as carriers require. A YES confirms the number's consent
    awaiting confirmation (double opt-in); from a number that has nothing to lift or confirm,
    it answers something else: nothing is recorded. Where anything was said or done since it
    came (_overtaken), it is dropped: nothing is recorded or answered, and the number may
    send it again."""
    if _overtaken(key, phone, Channel.SMS, received_at, late=late):
        return ""
    if reading.intent == Intent.OPT_IN:
        if opt_in_words(body) == "YES":
            confirmed = services.confirm_awaited(phone=phone, reference=key, at=received_at)
            if not _opted_out_at_all(phone):
                return joined_reply() if confirmed else ""
        services.record_new_consent(phone=phone, channel=Channel.SMS, words=body, reference=key)
    elif _opted_out_of_texts(phone):
        return start_first_reply()
    services.record_keyword_consent(
        phone=phone, words=body, reference=key, given_at=received_at,
        lift=reading.intent == Intent.JOIN,
    )  # fmt: skip
    return joined_reply()


# How far the clocks that time a reply (the web host's), the ledger (the database's) and a
# contact's change (its writer's) may differ: a change within it of a kept opt-in counts as
# after it, so a late opt-in never lifts one it came before.
CLOCKS_MAY_DIFFER_BY = timedelta(seconds=2)


# The sources of the ledger's changes that replies and statuses make, which _overtaken orders
# by the replies' own order rather than by the ledger's dates.
BY_REPLIES = [Source.KEYWORD, Source.DIGIT, Source.JOIN, Source.CARRIER]


def _overtaken(
    key: str, phone: str, channel: Channel, received_at: datetime, *, late: bool = True
) -> bool:
    """Whether an opt-in (the event `key`) was overtaken by what came after it: any later
    reply of the number, processed or still kept (it may ask to stop, go to review, or say
    the number is a wrong one); any change of `channel` recorded for the number since (a
    review confirmed, a request to stop told to staff, a user's choice, the carrier, another
    reply kept before it and processed since); or, kept, a contact of the number changed since
    (one may have moved onto it). Then it is dropped, and the number may send it again. Asked
    under the number's lock, which a reply processed meanwhile waits for.

    Kept and processed `late`, "since" reaches back CLOCKS_MAY_DIFFER_BY. Processed as it
    came, it may still have waited for a lock while a later STOP (or a subscriptions page's)
    was processed first, which it would undo: "since" is when it came."""
    services.lock_numbers([phone])
    this = InboundEvent.objects.filter(key=key).values("id")[:1]
    later_reply = _replies_after(phone, Subquery(this))
    since = received_at - CLOCKS_MAY_DIFFER_BY if late else received_at
    # A carrier's refusal by when its status came (a status has a number only when it is one),
    # processed or kept: its ledger rows are dated when it was processed, which may be late,
    # after an opt-in that came after it, and a number opted out already gets none.
    changed_since = ConsentEvent.objects.filter(phone=phone, channel=channel, at__gt=since)
    # Processed as it came, the replies it waited for (a STOP sent before it, processed first)
    # made changes dated after it: replies are told apart by their order instead.
    changed_since = changed_since.exclude(source__in=[Source.CARRIER] if late else BY_REPLIES)
    refusals_since = InboundEvent.objects.filter(
        phone=phone, kind=InboundEvent.Kind.STATUS, received_at__gt=since
    ).values_list("payload", "received_at")
    refused_since = any(
        channel in channels_revoked(Channel(payload.get("Channel", Channel.SMS)), at)
        for payload, at in refusals_since
    )
    # Kept, a contact changed since may have moved onto the number; processed as it came, a
    # contact saved while it waited (a name, a tag) says nothing of the number's wishes.
    contact_changed = late and Contact.objects.filter(phone=phone, updated_at__gt=since).exists()
    return refused_since or later_reply.exists() or changed_since.exists() or contact_changed


def _opted_out_at_all(phone: str) -> bool:
    """Whether the number, or a contact who has it, opted out of SMS, softly or hard."""
    return opted_out_at_all(phone, Channel.SMS)


def is_outbound(fields) -> bool:
    """A call we placed: Twilio's Direction "outbound-api" or "outbound-dial", in any case."""
    return fields.get("Direction", "").lower().startswith("outbound")


def contact_number(kind: InboundEvent.Kind, fields) -> str:
    """The contact's number in a webhook's fields, in E.164: the sender of an SMS, the caller,
    or on a call we placed, the callee; on a delivery status, the recipient that the carrier
    says opted out (21610), and none for other statuses. Empty when hidden. The webhook stores
    it on the event, where the database checks an opt-in's number against it, and a kept
    event that may stop its number holds it (InboundEvent.kept_that_may_stop)."""
    if kind == InboundEvent.Kind.STATUS:
        field = "To" if carrier_opt_out(fields) else ""
    else:
        outbound = kind == InboundEvent.Kind.DIGITS and is_outbound(fields)
        field = "To" if outbound else "From"
    caller = kind != InboundEvent.Kind.SMS and field == "From"
    if caller and fields.get(field, "") in WITHHELD_CALLER_IDS:
        return ""
    try:
        return number_to_keep(fields.get(field, "")) if field else ""
    except ValidationError:
        return ""


# What Twilio gives as the number of a caller who hides theirs: ANONYMOUS, RESTRICTED, UNKNOWN,
# UNAVAILABLE and BLOCKED spelled on a keypad. They have the shape of numbers (of Lesotho,
# Kazakhstan, …): taken as one, a hidden caller's key opted every hidden caller out.
WITHHELD_CALLER_IDS = frozenset(
    {"+266696687", "+7378742833", "+8656696", "+86282452253", "+2562533"}
)


def carrier_opt_out(fields) -> bool:
    """A delivery status that says the recipient opted out at the carrier (error 21610)."""
    return str(fields.get("ErrorCode", "")) == "21610"


# Twilio's StirVerstat on a call whose caller id the caller's own carrier vouches for in full
# (SHAKEN/STIR attestation A: the caller is its customer, entitled to the number it shows).
CALLER_ID_VOUCHED_FOR = "tn-validation-passed-a"


def caller_id_vouched_for(fields) -> bool:
    """Whether the caller's carrier vouched for the number the call shows (Twilio's
    StirVerstat). Anyone can make a call show another's number; only a number vouched for
    is the caller's own, whose consent a key pressed can give."""
    return fields.get("StirVerstat", "").strip().lower() == CALLER_ID_VOUCHED_FOR


def handle_call(payload: dict) -> str:
    phone = contact_number(InboundEvent.Kind.CALL, payload)  # empty: a hidden caller id
    opted_out = (
        bool(phone) and PhoneOptOut.objects.filter(phone=phone, channel=Channel.CALLS).exists()
    )
    return twiml.inbound_menu(opted_out=opted_out, vouched_for=caller_id_vouched_for(payload))


def _resubscribe_calls(payload: dict, received_at: datetime | None, late: bool) -> str:
    """The caller pressed the digit offered to receive calls again: their own new consent.
    Where anything was said or done since (_overtaken), it is dropped."""
    response = VoiceResponse()
    phone = contact_number(InboundEvent.Kind.DIGITS, payload)
    key = f"digits:{payload['CallSid']}:{payload['Digits']}"  # the event's
    if not phone:
        response.say("We cannot see your phone number. Please call again without hiding it.")
    elif _overtaken(key, phone, Channel.CALLS, received_at or timezone.now(), late=late):
        response.say("Goodbye.")  # the call is over: this answer is kept, never heard
    else:
        services.record_new_consent(
            phone=phone, channel=Channel.CALLS, words=pressed(payload["Digits"]), reference=key
        )
        response.say("You will receive our calls again. Goodbye.")
    response.hangup()
    return str(response)


def _pressed(payload: dict) -> str:
    """What the caller asked for with the digit pressed: "unsubscribe", "resubscribe" or
    nothing ("")."""
    offered = payload.get("url_digit", "")
    if len(offered) != 1 or offered not in settings.PHONE_KEYS:
        offered = settings.UNSUBSCRIBE_DIGIT
    # The menu of a call to us offers receiving calls again to a number that stopped them.
    again = settings.RESUBSCRIBE_DIGIT
    offered_again = payload.get("url_resubscribe") == again and not is_outbound(payload)
    if offered_again and payload.get("Digits") == again:
        return "resubscribe"
    # A broadcast's call offers its own digit, and names the business's for a call back: the
    # callee who presses that one now has asked to stop as plainly.
    return "unsubscribe" if payload.get("Digits") in (offered, settings.UNSUBSCRIBE_DIGIT) else ""


def _offered_again(payload: dict) -> str:
    """A key the call did not offer: what it offers, asked again; nothing to a number that
    stopped our calls, but, on a call to us, the key to receive them again."""
    offered = payload.get("url_digit", "")
    if len(offered) != 1 or offered not in settings.PHONE_KEYS:
        offered = settings.UNSUBSCRIBE_DIGIT
    again = settings.RESUBSCRIBE_DIGIT
    resubscribe = payload.get("url_resubscribe") == again and not is_outbound(payload)
    phone = contact_number(InboundEvent.Kind.DIGITS, payload)
    stopped = PhoneOptOut.objects.filter(phone=phone, channel=Channel.CALLS)
    if phone and not resubscribe and stopped.exists():
        response = VoiceResponse()
        response.say("Goodbye.")
        response.hangup()
        return str(response)
    return twiml.offered_again(
        offered, resubscribe=again if resubscribe else "", ours=is_outbound(payload)
    )


def _no_more_calls(covered: tuple[Channel, ...]) -> str:
    response = VoiceResponse()
    if Channel.SMS in covered:
        response.say("You will receive no more calls or texts from us. Goodbye.")
    else:
        response.say("You will receive no more calls from us. Goodbye.")
    response.hangup()
    return str(response)


def handle_digits(payload: dict, *, received_at: datetime | None = None, late: bool = False) -> str:
    """`received_at`: when the key was pressed (now, unless it was kept); `late`: kept, and
    processed now by the worker."""
    response = VoiceResponse()
    meaning = _pressed(payload)
    if meaning == "resubscribe":
        return _resubscribe_calls(payload, received_at, late)
    if not meaning:
        return _offered_again(payload)
    phone = contact_number(InboundEvent.Kind.DIGITS, payload)
    if not phone:
        # A hidden caller id: there is no number to opt out.
        response.say(
            "We cannot see your phone number, so we cannot unsubscribe it. Please call again "
            "without hiding your number, or text STOP CALLS to this number."
        )
    else:
        covered = services.record_revocation(
            phone=phone, channel=Channel.CALLS, source=Source.DIGIT,
            words=pressed(payload["Digits"]), at=received_at,
        )  # fmt: skip
        return _no_more_calls(covered)
    response.hangup()
    return str(response)


DELIVERY = {"delivered": "delivered", "undelivered": "failed", "failed": "failed"}


def keep_carrier_opt_out(
    phone: str, reference: str, words: str = "", channel: Channel = Channel.SMS
) -> None:
    """The provider refused a message of `channel` to `phone` (a broadcast's, a test, a
    prompt: named by `reference`): the number opted out at the carrier (21610). Kept in the
    caller's transaction, beside the message's outcome, as a delivery status that says so is
    kept: it holds the number from then on (InboundEvent.kept_that_may_stop), and is
    processed, the contact's revocation recorded, once that transaction commits; should that
    fail (the database away for a moment), by the worker's next look at kept events."""
    key = f"refused:{reference}"
    payload = {"To": phone, "MessageStatus": "failed", "ErrorCode": "21610", "ErrorMessage": words,
               "Channel": channel.value}  # fmt: skip
    InboundEvent.store(key=key, kind=InboundEvent.Kind.STATUS, payload=payload, phone=phone)
    transaction.on_commit(partial(_process_kept, key))


def _process_kept(key: str) -> None:
    try:
        process(key)
    except Exception:  # logged and kept on the event by process(), for the worker
        return


def _opted_in_since(phone: str, channel: Channel, since: datetime) -> bool:
    """Whether the number gave its own new consent to `channel` after `since`, such as would
    have lifted its opt-out: a START texted (whatever it found to lift), or the key pressed to
    receive calls again. Not a JOIN: from a number that opted out itself, it lifts nothing."""
    if OptIn.objects.filter(phone=phone, channel=channel, at__gt=since).exists():
        return True
    started = InboundEvent.objects.filter(
        phone=phone, kind=InboundEvent.Kind.SMS, received_at__gt=since,
        reading__startswith=READ_AS[Intent.OPT_IN],
    )  # fmt: skip
    return channel == Channel.SMS and started.exists()


def handle_status(
    payload: dict, *, again: bool = False, received_at: datetime | None = None
) -> str:
    """Delivery statuses of messages sent (broadcasts receive them by `delivery_status`);
    error 21610 means the number opted out at the carrier: the contact's own STOP, which
    revokes SMS, or every channel under the revoke-all scope. `again`: the status was kept
    for its message after its opt-out was recorded; only the message's status is left.
    `received_at`: when the status came (now, unless it was kept)."""
    opted_out = carrier_opt_out(payload)
    if opted_out and not again:
        phone = number_to_keep(payload["To"])
        # A text's status, or the refusal of one of our messages, which says its channel.
        channel = Channel(payload.get("Channel", Channel.SMS))
        received_at = received_at or timezone.now()
        # Processed late, it does not undo the contact's own new consent given since, of the
        # channels that consent lifts: asked under the number's lock, which an opt-in being
        # processed holds until it commits.
        services.lock_numbers([phone])
        covered = channels_revoked(channel, received_at)
        services.record_revocation(
            phone=phone, channel=channel, source=Source.CARRIER,
            words="Error 21610: the recipient opted out at the carrier.", at=received_at,
            lifted_since=[each for each in covered if _opted_in_since(phone, each, received_at)],
        )  # fmt: skip
    status = "opted_out" if opted_out else DELIVERY.get(payload["MessageStatus"])
    if status and payload.get("MessageSid"):
        updated = delivery_status.send(
            InboundEvent,
            sid=payload["MessageSid"],
            status=status,
            error=_error_in_words(payload),
            code=str(payload.get("ErrorCode", "") or ""),
            received_at=received_at or timezone.now(),
        )
        if not any(count for _, count in updated):
            raise MessageNotRecordedYet(payload["MessageSid"])  # the opt-out above holds
    return ""


# What a status's error code means, where Twilio's callback says no more than the code.
ERROR_WORDS = {
    "30036": "Not sent: it waited in Twilio's queue until quiet hours began for the recipient "
    "(error 30036). Send at the rate the sender allows (BROADCAST_RATE).",
}


def _error_in_words(payload: dict) -> str:
    code = str(payload.get("ErrorCode", "") or "")
    return ERROR_WORDS.get(code) or payload.get("ErrorMessage", "") or (code and f"Error {code}")


class MessageNotRecordedYet(Exception):
    """A delivery status came before the message's id was recorded: a broadcast's batch
    records the ids it was given when it ends. What the status did (a carrier's opt-out) holds,
    and the event is kept and processed again."""


NOT_RECORDED_YET = "Its message is not recorded yet."


# A status whose message is still unknown this long after it came is of another message than
# a broadcast's (a test send's, another system's): nothing to update. (A batch that lives
# longer than BROADCAST_SEND_TIMEOUT is taken for a dead worker's.)
STATUS_WAIT = timedelta(minutes=10)


HANDLERS = {
    InboundEvent.Kind.SMS: handle_sms,
    InboundEvent.Kind.CALL: handle_call,
    InboundEvent.Kind.DIGITS: handle_digits,
    InboundEvent.Kind.STATUS: handle_status,
}
