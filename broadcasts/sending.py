"""Sending a launched broadcast: at most one message per recipient, never to an opted-out one.

Workers claim recipients in batches of a fifth of a second of sending (on PostgreSQL with FOR
UPDATE SKIP LOCKED, so that several workers, on several machines, share a broadcast). A
claimed recipient is marked `sending` and committed before the provider is called; if the
worker dies there, the reaper later marks it `unknown`, and it is never sent again. Just
before the hand-over, under the batch's number locks, each recipient's eligibility is checked:
one that opted out since the launch is skipped. While a frequency limit applies, two
broadcasts' batches with a number in common also take turns (`_take_turns`).
"""

import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.tasks import task
from django.utils import timezone
from django.utils.formats import date_format

from broadcasts import policy
from broadcasts.models import Broadcast, Recipient, SendRate, SentTest
from contacts import quiet_hours
from contacts import services as contact_services
from contacts.models import (
    EXCLUSIONS,
    HARD_OPT_OUT,
    NO_VALID_PHONE,
    Channel,
    Contact,
    PhoneOptOut,
)
from contacts.phones import format_phone, kept_as_it_is
from contacts.quiet_hours import Places
from crm.arrays import array_text
from messaging import inbound
from messaging.backends import (
    BaseBackend,
    MaybeSent,
    RecipientOptedOut,
    RetryLater,
    SendError,
    get_backend,
)
from messaging.models import InboundEvent
from messaging.twiml import voice_message

logger = logging.getLogger(__name__)
MIN_BATCH, MAX_BATCH = 10, 1000
IN_FLIGHT_WAIT = 1  # seconds between looks at batches other workers are sending
# What a restart, a fail-over or a lost connection raises.
DATABASE_GONE = (OperationalError, InterfaceError)
CARRIER_OPT_OUT = "Opted out at the carrier (21610)"


@dataclass(eq=False, slots=True)
class Claimed:
    """A recipient as its batch holds it: what the hand-over needs, then what came of it
    (OUTCOME), which `_record` writes. Plain values rather than Recipient models, which cost
    a batch more to build than its claim took to run (bench/NOTES.md)."""

    pk: int
    contact_id: int | None
    phone: str
    attempts: int
    status: str = Recipient.Status.SENDING
    sent_at: datetime | None = None
    sid: str = ""
    error: str = ""
    retry_at: datetime | None = None


def _eligible(broadcast: Broadcast, recipients: list[Claimed]) -> set[int]:
    """The ids of the recipients who may receive the broadcast at this instant: their contact
    still has the number and may receive the broadcast (`policy`), the number has no hard
    opt-out, and it is the number its opt-outs are kept under (not a lookalike stored in SQL:
    `kept_as_it_is`)."""
    phones = [r.phone for r in recipients]
    numbers_out = _numbers_opted_out(broadcast, recipients)
    contacts = Contact.objects.filter(pk__any=[r.contact_id for r in recipients]).order_by()
    still = set(policy.may_receive(broadcast, contacts, phones=phones).values_list("pk", "phone"))
    return {
        r.pk
        for r in recipients
        if (r.contact_id, r.phone) in still
        and r.phone not in numbers_out
        and kept_as_it_is(r.phone)
    }


def _numbers_opted_out(broadcast: Broadcast, recipients: list[Claimed]) -> set[str]:
    """Those of the recipients' numbers that have a hard opt-out of the broadcast's channel."""
    return set(
        PhoneOptOut.objects.filter(
            channel=broadcast.channel, phone__any=[r.phone for r in recipients]
        ).values_list("phone", flat=True)
    )


NUMBER_CHANGED = "The contact's number changed after the launch."
CONTACT_DELETED = "The contact was deleted after the launch."


def _why_left_out(broadcast: Broadcast, recipients: list[Claimed]) -> dict[int, str]:
    """Why each of `recipients`, found not eligible at its turn, is left out, in the words of
    the preview's reasons."""
    numbers_out = _numbers_opted_out(broadcast, recipients)
    phones = dict(
        Contact.objects.filter(pk__any=[r.contact_id for r in recipients]).values_list(
            "pk", "phone"
        )
    )
    reasons = policy.first_reasons(broadcast, list(phones), [r.phone for r in recipients])
    why = {}
    for recipient in recipients:
        if recipient.phone in numbers_out:
            why[recipient.pk] = HARD_OPT_OUT.label
        elif not kept_as_it_is(recipient.phone):
            why[recipient.pk] = NO_VALID_PHONE.label
        elif recipient.contact_id not in phones:
            why[recipient.pk] = CONTACT_DELETED
        elif phones[recipient.contact_id] != recipient.phone:
            why[recipient.pk] = NUMBER_CHANGED
        else:
            why[recipient.pk] = reasons.get(recipient.contact_id, "Not eligible at its turn.")
    return why


def left_out_now(broadcast: Broadcast, recipients: list[Recipient]) -> dict[int, str]:
    """Of `recipients` (a page of them), those waiting for their turn that it would leave out
    were it now (opted out since the launch, say), by id, and why: the recipients' table says
    so before their turn comes."""
    waiting = [
        Claimed(r.pk, r.contact_id, r.phone, r.attempts)
        for r in recipients
        if r.status in (Recipient.Status.PENDING, Recipient.Status.DEFERRED)
    ]
    eligible = _eligible(broadcast, waiting) if waiting else set()
    left_out = [r for r in waiting if r.pk not in eligible]
    return _why_left_out(broadcast, left_out) if left_out else {}


def _replying(broadcast: Broadcast, recipients: list[Claimed]) -> set[int]:
    """The ids of the recipients whose number sent a reply that is kept but not processed yet:
    it may be a STOP, so they are not sent to."""
    kept = InboundEvent.kept_that_may_stop(broadcast.channel)
    replying = set(
        kept.filter(phone__any=[r.phone for r in recipients]).values_list("phone", flat=True)
    )
    return {r.pk for r in recipients if r.phone in replying}


REPLY_PENDING = "A reply from the number was still being processed: it may have been a STOP."


def _replies_checked_every() -> float:
    """How often, in seconds, a batch handing its messages over looks again for replies of
    its numbers kept meanwhile: well within the time a STOP waits for the hand-over before it
    is kept and answered (INBOUND_LOCK_TIMEOUT)."""
    return min(1.0, settings.INBOUND_LOCK_TIMEOUT / 3)


def _skip(recipients: list[Claimed], reason: str) -> None:
    Recipient.objects.filter(pk__any=[r.pk for r in recipients]).update(
        status=Recipient.Status.SKIPPED, error=reason
    )


def _skip_for_reasons(broadcast: Broadcast, recipients: list[Claimed]) -> None:
    """Skip recipients found not eligible, each with the reason that leaves it out."""
    if not recipients:
        return
    why = _why_left_out(broadcast, recipients)
    by_reason: dict[str, list[Claimed]] = {}
    for recipient in recipients:
        by_reason.setdefault(why[recipient.pk], []).append(recipient)
    for reason, skipped in by_reason.items():
        _skip(skipped, reason)


def _places(broadcast: Broadcast, recipients: list[Claimed]) -> dict[int, Places]:
    """Where each recipient may be, by id, as quiet hours read it: the place of each contact
    who has its number (its own time zone and state where set, else the number's), one as a
    rule; several when the contacts who share a number say different things, and then the
    message waits for all their windows. {} when the broadcast need not keep quiet hours."""
    if not broadcast.keeps_quiet_hours or not quiet_hours.enforced() or not recipients:
        return {}
    said = quiet_hours.said_by_contacts([r.phone for r in recipients])
    # Worked out once for each number's first five characters ("+1305") and what is said.
    places: dict[tuple, Places] = {}
    found = {}
    for recipient in recipients:
        key = (recipient.phone[:5], frozenset(said.get(recipient.phone, {("", "")})))
        if key not in places:
            places[key] = quiet_hours.places_said(recipient.phone, key[1])
        found[recipient.pk] = places[key]
    return found


def _closing_times(places: dict[int, Places], now: datetime) -> dict[Places, float]:
    """When (a timestamp) the quiet-hours windows of each recipient's places close: worked
    out once for each; `now` where one is closed."""
    until = {}
    for its in set(places.values()):
        closes = quiet_hours.closes_at_all(its, now)
        until[its] = closes.timestamp() if closes else now.timestamp()
    return until


def _outside_quiet_hours(
    recipients: list[Claimed],
    places: dict[int, Places],
    now: datetime,
    until: dict[Places, float],
) -> dict[Claimed, tuple[datetime | None, str]]:
    """The recipients outside their quiet-hours window at `now` (their places' closing times
    `until`), in their local time: for each, when its window opens (None if it never does),
    and that moment in their words."""
    openings: dict[Places, tuple[datetime | None, str]] = {}  # worked out once for each
    outside = {}
    for recipient in recipients:
        its = places.get(recipient.pk)
        if its is not None and until[its] <= now.timestamp():
            if its not in openings:
                openings[its] = _opening(its, now)
            outside[recipient] = openings[its]
    return outside


def _opening(places: Places, now: datetime) -> tuple[datetime | None, str]:
    shared = (
        f"; {len(places)} places said by the contacts who have the number"
        if len(places) > 1
        else ""
    )
    opens = quiet_hours.opens_at_all(places, now)
    if opens is None:
        place = quiet_hours.last_to_open(places, now)
        return None, f"Quiet hours: {quiet_hours.describe(place)} never opens{shared}."
    # On the clock of the place it waits for (of several, where a number's contacts say
    # different things): "08:00 Central time" for a number in Central and Eastern time.
    return opens, f"Quiet hours: sent from {quiet_hours.opening_in_words(places, opens, shared)}."


def _deferred_outcome(opens: datetime | None, words: str) -> dict:
    status = Recipient.Status.DEFERRED if opens else Recipient.Status.SKIPPED
    return {"status": status, "retry_at": opens, "error": words}


def _defer(outside: dict[Claimed, tuple[datetime | None, str]]) -> None:
    """Defer recipients until their window opens: pending again then (`_wake`). One whose
    window never opens is skipped."""
    by_opening: dict[tuple[datetime | None, str], list[int]] = {}
    for recipient, opening in outside.items():
        by_opening.setdefault(opening, []).append(recipient.pk)
    for opening, ids in by_opening.items():
        Recipient.objects.filter(pk__in=ids).update(**_deferred_outcome(*opening))


def _wake(broadcast: Broadcast, now: datetime) -> int:
    """Make the deferred recipients whose window has opened pending again; how many."""
    return broadcast.recipients.filter(status=Recipient.Status.DEFERRED, retry_at__lte=now).update(
        status=Recipient.Status.PENDING, retry_at=None, error=""
    )


def _queue_wake(broadcast: Broadcast, at: datetime) -> None:
    """Queue sending for `at`, when the first deferred recipient's window opens: once for
    that moment, whichever workers found the broadcast waiting."""
    with transaction.atomic():  # the task and the moment kept together, or neither
        queued = (
            Broadcast.objects.filter(pk=broadcast.pk, status=Broadcast.Status.SENDING)
            .exclude(wakes_at=at)
            .update(wakes_at=at)
        )
        if queued:
            send_broadcast.using(run_after=at).enqueue(broadcast.pk)


def batch_size(channel: str = Channel.SMS) -> int:
    """A fifth of a second of sending at the channel's rate, within bounds (at most a second
    of it): a batch holds its numbers' locks while it is handed over, and a STOP for one of
    them waits that long."""
    rate = sending_rate(channel)
    return min(max(int(rate / 5), min(MIN_BATCH, math.ceil(rate))), MAX_BATCH)


def sending_rate(channel: str) -> float:
    """Messages a second of `channel`, all workers together: BROADCAST_RATE, and for calls at
    most CALL_RATE, the rate at which Twilio places them (it queues faster ones, and a queued
    call may ring in its recipient's quiet hours)."""
    if channel == Channel.CALLS:
        return min(settings.BROADCAST_RATE, settings.CALL_RATE)
    return settings.BROADCAST_RATE


def claim(broadcast: Broadcast, *, after: int = 0, size: int | None = None) -> list[Claimed]:
    """Take up to `size` due recipients, from those after the id `after`, and mark them
    `sending`, committed: from here on a recipient is never handed over again. Eligibility
    is checked at the hand-over.

    A worker passes the last id it claimed as `after`: otherwise each claim would step over
    every recipient sent so far, and late in a big broadcast take as long as sending its
    batch (bench/NOTES.md). One statement marks and returns them. The batch is chosen once
    (a materialized CTE): as a subquery of the UPDATE, PostgreSQL may run it again for each
    row it updates, and each run skips the rows the last one locked and returns the next
    ones, so that a claim of 2 once took 5 (tests/broadcasts/test_sending.py).
    """
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    skip_locked = "FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH batch AS MATERIALIZED (
                SELECT id FROM broadcasts_recipient
                WHERE broadcast_id = %s AND status = 'pending' AND id > %s
                  AND (retry_at IS NULL OR retry_at <= %s)
                ORDER BY id LIMIT %s {skip_locked})
            UPDATE broadcasts_recipient
            SET status = 'sending', claimed_at = %s, attempts = attempts + 1
            WHERE id IN (SELECT id FROM batch)
            RETURNING id, contact_id, phone, attempts
            """,
            [broadcast.pk, after, now, size or batch_size(broadcast.channel), now],
        )
        batch = [Claimed(*row) for row in cursor.fetchall()]
    return sorted(batch, key=lambda recipient: recipient.pk)


class Interrupted(Exception):
    """The database went away during a batch (a restart, a fail-over, a lost connection).

    `done` holds the outcomes of the recipients handed over before it did; the others of
    the batch were not handed over.
    """

    def __init__(self, recipients: list[Claimed], done: list[Claimed]):
        super().__init__(f"{len(done)} of {len(recipients)} recipients handed over")
        self.recipients, self.done = recipients, done


class Clock:
    """The time the rate limit reads and the way it waits: the system's. A test passes a
    clock it controls, and checks the spacing without depending on the machine's speed."""

    def now(self) -> float:
        return time.time()

    def aware_now(self) -> datetime:
        """Now, as an aware datetime (what quiet hours are read at)."""
        return datetime.fromtimestamp(self.now(), UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = Clock()


def send_batch(
    broadcast: Broadcast, recipients: list[Claimed], *, clock: Clock = SYSTEM_CLOCK
) -> None:
    """Hand claimed recipients' messages to the provider, and record what came of each.

    Eligibility is checked once more under the numbers' locks, which an opt-out of a number
    takes too: an opt-out that committed first is seen here, and one that comes later waits
    until the message has been handed over.

    A carrier's refusal (21610: the contact's own STOP, at the carrier) ends the transaction
    it came in, so that it is kept at once with what was handed over before it, and not at
    the batch's end, which a worker killed meanwhile never reaches. The rest of the batch
    goes on in a transaction of its own, checked again, in the sending slots it had.
    """
    if not recipients:
        return
    try:
        slots = Slots(*reserve_slots(len(recipients), now=clock.now(), channel=broadcast.channel))
    except DATABASE_GONE as error:
        raise Interrupted(recipients, []) from error
    while recipients:
        _others_write_first(clock)
        recipients = _send_until_refused(broadcast, recipients, slots, clock)


@dataclass
class Slots:
    """A batch's sending slots (reserve_slots): each message handed over takes the next."""

    first: float
    interval: float
    taken: int = 0

    def next_at(self) -> float:
        return self.first + self.taken * self.interval

    def take(self) -> float:
        """The next slot's time, taken."""
        at = self.next_at()
        self.taken += 1
        return at


def _send_until_refused(
    broadcast: Broadcast, recipients: list[Claimed], slots: Slots, clock: Clock
) -> list[Claimed]:
    """Hand over `recipients`' messages in one transaction, and record what came of each,
    until a carrier's refusal; the recipients not handed over when one ended it."""
    done: list[Claimed] = []
    rest: list[Claimed] = []
    try:
        with transaction.atomic():
            recipients = _hold(recipients)
            # Our slot comes after other workers' batches: wait for it before locking the
            # numbers, so that a STOP for one of them meanwhile is seen by the check below.
            _sleep_until(slots.next_at(), clock)
            if _cancelled(broadcast):
                _cancel(recipients)
                return []
            if why := broadcast.cannot_be_placed():  # the settings changed since its launch
                _skip(recipients, f"Not placed: {why}")
                return []
            _planned_for_a_batch()
            contact_services.lock_numbers([r.phone for r in recipients], shared=True)
            if policy.limits_frequency(broadcast):
                _take_turns([r.phone for r in recipients])
            eligible = _eligible(broadcast, recipients)
            _skip_for_reasons(broadcast, [r for r in recipients if r.pk not in eligible])
            replying = _replying(broadcast, recipients) & eligible
            _skip([r for r in recipients if r.pk in replying], REPLY_PENDING)
            eligible -= replying
            places = _places(broadcast, [r for r in recipients if r.pk in eligible])
            now = clock.aware_now()
            closing = _closing_times(places, now)
            deferred = _outside_quiet_hours(recipients, places, now, closing)
            _defer(deferred)
            eligible -= {r.pk for r in deferred}
            backend = get_backend()
            checked = clock.now()
            for recipient in (r for r in recipients if r.pk in eligible):
                _sleep_until(slots.take(), clock)
                if clock.now() - checked >= _replies_checked_every():
                    # A long hand-over (a slow provider): a STOP that came meanwhile waits
                    # for it only so long (INBOUND_LOCK_TIMEOUT), then is kept, and answered.
                    checked = clock.now()
                    waiting = [r for r in recipients if r.pk in eligible and r not in done]
                    replying = _replying(broadcast, waiting)
                    _skip([r for r in waiting if r.pk in replying], REPLY_PENDING)
                    eligible -= replying
                    if recipient.pk in replying:
                        continue
                # A slow batch may reach a window's end: each message is checked at its turn.
                its = places.get(recipient.pk)
                if its is not None and clock.now() >= closing[its]:
                    outcome = _deferred_outcome(*_opening(its, clock.aware_now()))
                else:
                    # A text queued at the provider past the window's end is not sent then.
                    valid_for = None if its is None else int(closing[its] - clock.now())
                    outcome = _hand_over(broadcast, recipient, backend, clock, valid_for)
                for field, value in outcome.items():
                    setattr(recipient, field, value)
                done.append(recipient)
                if recipient.error.startswith(CARRIER_OPT_OUT):
                    handed_over = {r.pk for r in done}
                    rest = [r for r in recipients if r.pk in eligible - handed_over]
                    # Still this worker's: the reaper counts their time from now.
                    Recipient.objects.filter(pk__any=[r.pk for r in rest]).update(
                        claimed_at=timezone.now()
                    )
                    break
            _record(done)
    except DATABASE_GONE as error:
        raise Interrupted(recipients, done) from error
    return rest


def _others_write_first(clock: Clock) -> None:
    """On SQLite, where a writing transaction holds the whole database and a batch's
    transaction lasts until its last message is handed over, give those waiting to write a
    moment first (a STOP's webhook, a cancellation). SQLite lets a waiting writer try again
    every 100 ms at most, not in turn: with each batch begun as the last ended, a
    cancellation waited 20 s and gave up ("database is locked") while all 300 messages went.
    The batch's slots are reserved already: it catches the moment up with its first messages
    (`_sleep_until`)."""
    if connection.vendor == "sqlite":
        clock.sleep(SQLITE_WRITERS_MOMENT)


# Longer than SQLite's longest wait between a waiting writer's tries (100 ms).
SQLITE_WRITERS_MOMENT = 0.15


def _cancelled(broadcast: Broadcast) -> bool:
    """Whether the broadcast was cancelled, read under a lock that a cancellation waits for
    until the transaction ends (PostgreSQL: FOR SHARE, which batches share; on SQLite, a
    writing transaction holds the whole database): a batch that goes on hands its messages
    over before the cancellation, and one after it sends none."""
    table = Broadcast._meta.db_table
    share = " FOR SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status FROM {table} WHERE id = %s{share}", [broadcast.pk])
        (status,) = cursor.fetchone()
    return status == Broadcast.Status.CANCELLED


def _cancel(recipients: list[Claimed]) -> None:
    Recipient.objects.filter(
        pk__any=[r.pk for r in recipients], status=Recipient.Status.SENDING
    ).update(status=Recipient.Status.CANCELLED, retry_at=None)


def _hold(recipients: list[Claimed]) -> list[Claimed]:
    """Those of the claimed recipients that are still this worker's (`sending`), locked until
    the transaction ends: while their batch waits for its slot and its turn and hands them
    over, however long that takes, the reaper waits for it rather than take them for a dead
    worker's. Locked in the ids' order, as the reaper's update meets them."""
    ours = Recipient.objects.select_for_update().filter(
        pk__any=[r.pk for r in recipients], status=Recipient.Status.SENDING
    )
    ours = ours.order_by("pk")
    held = set(ours.values_list("pk", flat=True))
    return [r for r in recipients if r.pk in held]


def _planned_for_a_batch() -> None:
    """Until the transaction ends, plan for what a batch's look-ups are: a thousand probes
    of indexes in memory. At PostgreSQL's default price of a random read (4, for disks),
    reading the whole table of the numbers' opt-outs looked cheaper, and took five times as
    long at 90,000 of them (bench/NOTES.md)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL random_page_cost = 1.1")


def _take_turns(phones: list[str]) -> None:
    """Until the transaction ends, hold these numbers' turns: a batch of another broadcast
    with one of them waits until this one's outcomes are recorded, and counts them against
    frequency limits (a message in flight has no sent_at yet). Locks of their own, taken
    after the numbers' locks and in the numbers' order: opt-outs and imports never wait for
    them, and batches waiting for each other cannot wait in a circle. (PostgreSQL; on
    SQLite, a writing transaction holds the whole database.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(phone, %s))"
                " FROM unnest(%s::text[]) phone",
                [TURNS, array_text(sorted(set(phones)))],
            )


# The seed of the turns' keys: other locks than the numbers' own (seed 0).
TURNS = 1


def settle(interruption: Interrupted) -> None:
    """Once the database is back: record what the interrupted batch handed over, and give
    the rest back to be claimed again (they never reached the provider)."""
    handed_over = {r.pk for r in interruption.done}
    with transaction.atomic():
        if interruption.done:
            _record(interruption.done)
        _give_back([r for r in interruption.recipients if r.pk not in handed_over])


def _give_back(recipients: list[Claimed]) -> None:
    """Claimed recipients not handed over, to be claimed again (when the worker comes back to
    the start of the list)."""
    Recipient.objects.filter(
        pk__in=[r.pk for r in recipients], status=Recipient.Status.SENDING
    ).update(status=Recipient.Status.PENDING, claimed_at=None)


def wait_for_database(*, timeout: float = 600) -> None:
    """Until the database answers again, trying twice a second."""
    deadline = time.monotonic() + timeout
    while True:
        connection.close()
        try:
            connection.ensure_connection()
            return
        except DATABASE_GONE:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


OUTCOME = ("status", "sent_at", "sid", "error", "retry_at")


def _record(recipients: list[Claimed]) -> None:
    """Each recipient's outcome, in one statement on PostgreSQL (bulk_update's CASE over every
    row and field cost more than handing the batch over); and with it, each number the carrier
    refused (21610), the contact's own STOP at the carrier, kept to be recorded as their
    revocation once the outcomes are (inbound.keep_carrier_opt_out)."""
    if refused := [r for r in recipients if r.error.startswith(CARRIER_OPT_OUT)]:
        channels = Recipient.objects.filter(pk__any=[r.pk for r in refused])
        channel_of = dict(channels.values_list("pk", "broadcast__channel"))
        for recipient in refused:
            words = recipient.error.removeprefix(f"{CARRIER_OPT_OUT}: ")
            inbound.keep_carrier_opt_out(
                recipient.phone, f"recipient:{recipient.pk}", words,
                Channel(channel_of[recipient.pk]),
            )  # fmt: skip
    if connection.vendor != "postgresql":
        outcomes = [Recipient(pk=r.pk, **{f: getattr(r, f) for f in OUTCOME}) for r in recipients]
        Recipient.objects.bulk_update(outcomes, OUTCOME)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE broadcasts_recipient r
            SET status = o.status, sent_at = o.sent_at, sid = o.sid, error = o.error,
                retry_at = o.retry_at
            FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::text[], %s::text[],
                        %s::timestamptz[]) AS o(id, status, sent_at, sid, error, retry_at)
            WHERE r.id = o.id
            """,
            [array_text([r.pk for r in recipients])]
            + [array_text([getattr(r, field) for r in recipients]) for field in OUTCOME],
        )


def _hand_over(
    broadcast: Broadcast,
    recipient: Claimed,
    backend: BaseBackend,
    clock: Clock,
    valid_for: int | None = None,
) -> dict:
    # On the clock that spaced the messages: sent_at shows the spacing.
    sent_at = datetime.fromtimestamp(clock.now(), UTC)
    outcome = {"status": Recipient.Status.SENT, "sent_at": sent_at}
    try:
        outcome["sid"] = _send(broadcast, recipient.phone, backend, valid_for, recipient.contact_id)
    except RecipientOptedOut as error:
        outcome = {"status": Recipient.Status.SKIPPED,
                   "error": f"{CARRIER_OPT_OUT}: {_in_words(error)}"}  # fmt: skip
    except RetryLater as error:
        # Not processed by the provider: safe to try again, later and later.
        delay = min(2**recipient.attempts, 300)
        outcome = {"status": Recipient.Status.PENDING, "error": _in_words(error),
                   "retry_at": timezone.now() + timedelta(seconds=delay)}  # fmt: skip
    except MaybeSent as error:
        # It may have reached the number: it counts towards frequency limits.
        outcome = {"status": Recipient.Status.UNKNOWN, "error": _in_words(error),
                   "sent_at": sent_at}  # fmt: skip
    except SendError as error:
        outcome = {"status": Recipient.Status.FAILED, "error": _in_words(error)}
    return outcome


def _in_words(error: Exception) -> str:
    """The provider's words for a failure, as text the database keeps: PostgreSQL refuses a
    NUL character, and the driver text that is not UTF-8, and with them the outcomes of the
    whole batch, handed over already."""
    words = str(error).encode("utf-8", "replace").decode()  # a lone surrogate, too
    return words.replace("\x00", "")


def _send(
    broadcast: Broadcast,
    phone: str,
    backend: BaseBackend,
    valid_for: int | None = None,
    contact_id: int | None = None,
) -> str:
    """Hand the broadcast's message for `phone` (the contact `contact_id`'s) to the provider;
    return its id. `valid_for`: the seconds a text may wait in the provider's queue, until its
    recipient's quiet hours."""
    if broadcast.channel == Channel.SMS:
        text = broadcast.sms_text_for(phone, contact_id)
        return backend.send_sms(to=phone, body=text, valid_for=valid_for)
    twiml = voice_message(
        script=broadcast.script,
        audio_url=broadcast.audio_url,
        digit=broadcast.unsubscribe_digit,
    )
    return backend.make_call(to=phone, twiml=twiml)


TESTS_PER_BROADCAST = 10


class NotSent(Exception):
    """A test was not sent: the message says why."""


def send_test(broadcast: Broadcast, *, phone: str, by_user: AbstractBaseUser) -> SentTest:
    """Send a draft's message to one number (the manager's own phone), as a recipient will
    get it, before launch. It is never a recipient; it is kept, with who sent it.

    As for a recipient, under the number's lock: a number that may not receive the channel
    (its opt-out, or that of a contact who has it, or a reply still being processed), that
    the broadcast's rules leave out (a possible opt-out awaiting review, a frequency limit)
    or that is in its quiet hours (unless the broadcast keeps none) gets nothing, and a
    carrier's refusal (21610) is recorded as the number's opt-out. Raises NotSent, saying
    why, when nothing was handed over. A test counts towards the number's frequency limits,
    as a broadcast's message does.
    """
    with transaction.atomic():
        # Held to the test's record: a launch or a deletion pressed at once waits for it.
        broadcast = Broadcast.objects.select_for_update().filter(pk=broadcast.pk).first()
        if broadcast is None:
            raise NotSent("The broadcast was deleted.")
        if not broadcast.is_editable:
            raise NotSent("Tests are for a broadcast before launch.")
        if broadcast.tests.count() >= TESTS_PER_BROADCAST:
            raise NotSent(f"This broadcast was tested {TESTS_PER_BROADCAST} times already.")
        test = SentTest(broadcast=broadcast, phone=phone, sent_by=by_user)
        contact_services.lock_numbers([phone], shared=True)
        if policy.limits_frequency(broadcast):
            _take_turns([phone])  # a batch to the number counts this test, or it the batch
        if reason := _why_not_to(phone, broadcast):
            raise NotSent(reason)
        try:
            test.sid = _send(broadcast, phone, get_backend(), _open_for(broadcast, phone))
        except RecipientOptedOut as error:
            test.error = CARRIER_OPT_OUT
            refused = _in_words(error)
        except SendError as error:
            test.error = _in_words(error)
        test.save()
        if test.error == CARRIER_OPT_OUT:
            inbound.keep_carrier_opt_out(
                phone, f"test:{test.pk}", refused, Channel(broadcast.channel)
            )
    return test


def _open_for(broadcast: Broadcast, phone: str) -> int | None:
    """The seconds until the quiet hours of `phone` begin, for a text the broadcast sends it
    now (None: the broadcast keeps none)."""
    if not (broadcast.keeps_quiet_hours and quiet_hours.enforced()):
        return None
    now = timezone.now()
    closes = quiet_hours.closes_at_all(quiet_hours.places_of(phone), now)
    return int((closes - now).total_seconds()) if closes else 0


def _why_not_to(phone: str, broadcast: Broadcast) -> str:
    """Why `phone` may not receive the broadcast's test now, or "" if it may."""
    channel = Channel(broadcast.channel)
    if PhoneOptOut.objects.filter(phone=phone, channel=channel).exists():
        return f"{format_phone(phone)} opted out of {channel.label}: nothing is sent to it."
    contacts = Contact.objects.filter(phone=phone)
    # An archived contact holds nothing, as for a broadcast (policy.HELD_BY_ANOTHER), while
    # the number has a contact that is not archived.
    current = contacts.exclude(status=Contact.Status.ARCHIVED)
    for exclusion in EXCLUSIONS:
        if (current if current.exists() else contacts).filter(exclusion.of(channel)).exists():
            return (
                f"A contact with the number {format_phone(phone)} may not receive"
                f" {channel.label}: {exclusion.label.lower()}. Nothing is sent to it."
            )
    if InboundEvent.kept_that_may_stop(channel).filter(phone=phone).exists():
        return REPLY_PENDING
    for rule in policy.RULES:
        if (condition := rule.condition(broadcast, [phone])) is None:
            continue  # its look-up of the number found nothing
        # Whether it leaves the number out is a question about its contacts (a state's
        # limit is for those in the state); one that no contact has, it leaves out.
        if not contacts.exists() or contacts.filter(condition).exists():
            reason = f"{format_phone(phone)}: {rule.label.lower()}. Nothing is sent to it."
            if rule is policy.NO_CONSENT:
                reason += (
                    " To test a marketing broadcast on your own phone, it needs consent on"
                    " record: an Admin adds it as a contact and records its consent (Record"
                    " consent… on the contact's page)."
                )
            return reason
    if broadcast.keeps_quiet_hours and quiet_hours.enforced():
        now = timezone.now()
        places = quiet_hours.places_of(phone)
        if quiet_hours.closes_at_all(places, now) is None:  # closed now
            opens = quiet_hours.opens_at_all(places, now)
            if opens is None:
                never = quiet_hours.describe(quiet_hours.last_to_open(places, now))
                return f"{format_phone(phone)}: its quiet hours never end ({never} never opens)."
            when = date_format(timezone.localtime(opens), "DATETIME_FORMAT")
            return (
                f"{format_phone(phone)}: quiet hours there until "
                f"{quiet_hours.opening_in_words(places, opens)}, that is {when} "
                f"{timezone.get_current_timezone_name()}. A test keeps them, as this "
                "broadcast's messages will: send it then."
            )
    return ""


def reserve_slots(count: int, *, now: float, channel: str = Channel.SMS) -> tuple[float, float]:
    """Reserve `count` consecutive sending slots of `channel`, shared by all workers (its
    sending_rate a second), from `now` or after the slots reserved already; return the first
    slot's time (a timestamp) and the interval between slots. Texts and calls each have their
    own slots, as the provider has a rate for each."""
    interval = 1 / sending_rate(channel)
    moment = datetime.fromtimestamp(now, UTC)
    with transaction.atomic():
        rate = SendRate.objects.select_for_update()
        own = SEND_RATE_ROWS[Channel(channel)]
        slot, _ = rate.get_or_create(pk=own, defaults={"next_at": moment})
        start = max(slot.next_at, moment)
        slot.next_at = start + timedelta(seconds=interval * count)
        slot.save(update_fields=["next_at"])
    return start.timestamp(), interval


SEND_RATE_ROWS = {Channel.SMS: 1, Channel.CALLS: 2}  # SendRate's row of each channel's slots


def _sleep_until(moment: float, clock: Clock) -> None:
    delay = moment - clock.now()
    if delay > 0:
        clock.sleep(delay)


def reap(broadcast: Broadcast, *, older_than: timedelta | None = None) -> int:
    """Recipients left `sending` by a worker that died: they may have been sent. Never resend."""
    if older_than is None:
        older_than = timedelta(seconds=settings.BROADCAST_SEND_TIMEOUT)
    return broadcast.recipients.filter(
        status=Recipient.Status.SENDING, claimed_at__lt=timezone.now() - older_than
    ).update(
        status=Recipient.Status.UNKNOWN,
        error="The worker stopped while sending.",
        sent_at=F("claimed_at"),  # it may have reached the number: frequency limits count it
    )


def run(broadcast_id: int, *, clock: Clock = SYSTEM_CLOCK) -> None:
    """Send until every recipient is settled, then mark the broadcast done; or, when only
    recipients deferred by quiet hours are left, queue sending for when the first window opens.

    A database that goes away meanwhile (a restart, a fail-over) is waited for; the batch it
    interrupted is settled, and sending goes on.
    """
    while True:
        try:
            return _send_all(broadcast_id, clock)
        except Interrupted as interruption:
            logger.warning("Broadcast %s: the database went away (%s)", broadcast_id,
                           interruption)  # fmt: skip
            wait_for_database()
            settle(interruption)
        except DATABASE_GONE as error:
            logger.warning("Broadcast %s: the database went away (%s)", broadcast_id, error)
            wait_for_database()


WAITING = (Recipient.Status.PENDING, Recipient.Status.SENDING, Recipient.Status.DEFERRED)


def _send_all(broadcast_id: int, clock: Clock) -> None:
    broadcast = Broadcast.objects.get(pk=broadcast_id)
    reap(broadcast)
    claimed_up_to = 0
    while True:
        broadcast = Broadcast.objects.get(pk=broadcast_id)
        if broadcast.status == Broadcast.Status.CANCELLED:
            # A batch in flight during the cancellation may have deferred some since, and
            # one the database interrupted gave its own back (`settle`).
            waiting = (Recipient.Status.DEFERRED, Recipient.Status.PENDING)
            broadcast.recipients.filter(status__in=waiting).update(
                status=Recipient.Status.CANCELLED, retry_at=None
            )
        if broadcast.status != Broadcast.Status.SENDING:
            return  # cancelled, or done by another worker
        if _wake(broadcast, clock.aware_now()):
            claimed_up_to = 0  # woken recipients may be anywhere in the list
        claimed = claim(broadcast, after=claimed_up_to)
        send_batch(broadcast, claimed, clock=clock)
        if claimed:
            claimed_up_to = claimed[-1].pk
            continue
        if claimed_up_to:
            # The end of the list: from its start again, for retries now due and for the
            # recipients of an interrupted batch, given back.
            claimed_up_to = 0
            continue
        waiting = broadcast.recipients.filter(status=Recipient.Status.PENDING)
        if waiting.exists():
            # Retries not due yet, or recipients another worker just woke or gave back.
            first = F("retry_at").asc(nulls_first=True)
            next_retry = waiting.order_by(first).values_list("retry_at", flat=True).first()
            wait = (next_retry - timezone.now()).total_seconds() if next_retry else 0
            time.sleep(min(max(wait, 0.05), 5))
            continue
        if broadcast.recipients.filter(status=Recipient.Status.SENDING).exists():
            # Another worker's batch in flight, or a dead worker's, which the reaper settles
            # once its time-out is over.
            time.sleep(IN_FLIGHT_WAIT)
            reap(broadcast)
            continue
        deferred = broadcast.recipients.filter(status=Recipient.Status.DEFERRED)
        if wakes_at := deferred.order_by("retry_at").values_list("retry_at", flat=True).first():
            # Nothing to send before quiet hours end: a task for then, rather than a worker
            # held for hours.
            _queue_wake(broadcast, wakes_at)
            return
        # Done, unless another worker made a recipient wait since the looks above.
        Broadcast.objects.filter(pk=broadcast_id, status=Broadcast.Status.SENDING).exclude(
            Exists(Recipient.objects.filter(broadcast=OuterRef("pk"), status__in=WAITING))
        ).update(status=Broadcast.Status.DONE, finished_at=timezone.now())
        return


@task
def send_broadcast(broadcast_id: int) -> None:
    run(broadcast_id)


def resume() -> int:
    """Queue sending for every broadcast that is sending: after a crash of every worker,
    nobody else would finish them. A spare task finds nothing to claim. Returns how many."""
    sending = list(
        Broadcast.objects.filter(status=Broadcast.Status.SENDING).values_list("pk", flat=True)
    )
    for broadcast_id in sending:
        send_broadcast.enqueue(broadcast_id)
    return len(sending)
