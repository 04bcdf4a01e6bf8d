"""Previewing, launching and cancelling broadcasts. Sending is in broadcasts/sending.py."""

from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, FilteredRelation, OuterRef, Q, Subquery, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Greatest
from django.tasks import task
from django.utils import timezone

from broadcasts import policy, quiet_hours
from broadcasts.models import Broadcast, Recipient
from broadcasts.sending import send_broadcast
from contacts.models import (
    EXCLUSIONS,
    HARD_OPT_OUT,
    NO_VALID_PHONE,
    NOT_ACTIVE,
    SOFT_OPT_OUT,
    Contact,
    ContactQuerySet,
    OptOut,
    PhoneCount,
)
from contacts.places import NumberRange, number_ranges, place_of, with_own
from contacts.search import WalkThenLookUp, walk_for_the_rest
from crm.arrays import array_text


class NotEditable(Exception):
    """The broadcast was launched: it can be watched or cancelled, not changed."""


@dataclass
class Preview:
    """Who a broadcast would reach now, and who it leaves out and why."""

    receive: int
    excluded: dict[str, int]
    # Of those who receive it, how many a launch now would defer to the end of their quiet
    # hours (they receive it later, not never).
    deferred: int = 0
    sample_in: list[Contact] = field(default_factory=list)
    sample_out: list[tuple[Contact, str]] = field(default_factory=list)


def preview(broadcast: Broadcast, *, sample: int = 10) -> Preview:
    """Count the audience by the first reason that leaves each contact out (the contacts'
    EXCLUSIONS, then the broadcast's own policy.RULES, in their order), and the messages that
    one per number saves.

    The reasons and the contacts who receive split the audience, so those who receive are
    what the reasons leave of it: one pass over the audience for the opt-outs and statuses,
    the few invalid phones from their partial index (PostgreSQL), the broadcast's rules among
    the eligible contacts, and duplicates only among the numbers that more than one contact
    has (`PhoneCount`). No regular expression runs over every contact.
    """
    with transaction.atomic(), _planned_for_counting(), policy.worked_out_once():
        return _preview(broadcast, sample)


@contextmanager
def _planned_for_counting():
    """On PostgreSQL, the queries inside are not compiled: the preview's one-pass plans cost
    the JIT more to compile than it saves them (bench/NOTES.md). They have the memory to
    hash the opt-outs of millions of contacts, as the launch does: the passes over the phone
    index (`policy.may_receive_in_number_order`) look each contact up in those lists. And
    they run in one process: parallel workers would each take that memory, and a parallel
    plan of the deferred count once ran past 100 s. A look into an index costs them about
    what reading on does (the contacts are in memory, or on an SSD): with PostgreSQL's
    default, the count of the contacts over a frequency limit read every contact rather
    than look up the 40,000 numbers listed."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            cursor.execute("SET LOCAL random_page_cost = 1.1")
    yield


def _preview(broadcast: Broadcast, sample: int) -> Preview:
    channel = broadcast.channel
    audience = broadcast.audience_contacts()
    valid = policy.may_receive(broadcast, audience)
    counts = _counts(audience, channel)
    excluded = {
        HARD_OPT_OUT.label: counts["hard"],
        SOFT_OPT_OUT.label: counts["soft"],
        NOT_ACTIVE.label: counts["status"],
        NO_VALID_PHONE.label: audience.left_out_by(NO_VALID_PHONE, channel).count(),
    }
    left_out = {
        exclusion.label: audience.left_out_by(exclusion, channel) for exclusion in EXCLUSIONS
    }
    for rule in policy.RULES:
        if rule.condition(broadcast) is not None:
            left_out[rule.label] = policy.left_out_by(rule, broadcast, audience)
            excluded[rule.label] = left_out[rule.label].count()
    receive = counts["everyone"] - sum(excluded.values())
    excluded[DUPLICATE] = duplicates = _duplicates(
        policy.may_receive_in_number_order(broadcast, audience)
    )
    sample_out = [
        (contact, label)
        for label, contacts in left_out.items()
        if excluded[label]  # a search for a sample of nothing reads every contact
        for contact in _first_by_name(contacts, sample)
    ]
    return Preview(
        receive=receive - duplicates,
        excluded=excluded,
        deferred=_deferred_now(broadcast, audience, receive - duplicates),
        sample_in=_first_by_name(valid, sample) if receive else [],
        sample_out=sample_out[:sample],
    )


DUPLICATE = "Duplicate phone (one message per number)"


def _first_by_name(contacts: ContactQuerySet, count: int) -> list[Contact]:
    """The first `count` of `contacts` by name, found as the Contacts table finds a page of
    a search (contacts.search): walked along the names, as far as what the first stretch
    held says, then looked up and sorted. Asked for them at once, PostgreSQL walks the
    names' index testing each contact, which for an audience far along the names (a search
    for "Sofia") read most of the table (bench/NOTES.md)."""
    return _Sample([(contacts, ())]).first_past(contacts, ["name", "id"], None, count)


class _Sample(WalkThenLookUp):
    """A sample's walk goes on only as far as its first stretch's share says; none when that
    held nobody: the look-up then sorts what it finds."""

    def further_walk(self, found: int, wanted: int) -> int:
        return walk_for_the_rest(found, wanted)


def _deferred_now(broadcast: Broadcast, audience: ContactQuerySet, receive: int) -> int:
    """How many of the `receive` numbers that a launch now would take from `audience` would
    be outside their quiet hours, as the send finds them: by the places its contacts say,
    each from its own time zone and state, else the number's.

    When every place a contact is in is open, that is nobody, and when every one is closed,
    everybody. In between, the numbers whose place is their number's are counted by their
    ranges (`number_ranges`): those of the closed ranges, or, when fewer ranges are open,
    what the open ones leave of `receive`. Those that contacts with a time zone or state of
    their own have, few as a rule, are counted one by one.
    """
    if not receive or not broadcast.keeps_quiet_hours or not quiet_hours.enforced():
        return 0
    now = timezone.now()
    with_own_place = Contact.objects.exclude(time_zone="", state="")
    own = set(with_own_place.values_list("time_zone", "state").distinct()) | {("", "")}
    ranges = _ranges_in_use()
    places = {with_own(r.place, *fields) for r in ranges for fields in own}
    open_now = {quiet_hours.is_open(place, now) for place in places}
    if open_now <= {True}:
        return 0
    if open_now == {False}:
        return receive
    # Those who receive it, by the launch's plan: no regular expression on each.
    valid = policy.may_receive_in_number_order(broadcast, audience)
    # The numbers that a contact with a place of its own has (any contact of the number, as
    # the send reads them), counted one by one below: each waits for every place its
    # contacts say.
    own_places = with_own_place.values("phone")
    own_numbers = list(
        valid.filter(phone__in=own_places).order_by().values_list("phone", flat=True).distinct()
    )
    said = quiet_hours.said_by_contacts(own_numbers)
    by_contact = sum(
        not all(quiet_hours.is_open(place_of(phone, *fields), now) for fields in its)
        for phone, its in said.items()
    )
    others = valid.exclude(phone__in=own_numbers)
    closed = [r for r in ranges if not quiet_hours.is_open(r.place, now)]
    if len(closed) <= len(ranges) - len(closed):
        by_number = _numbers_in(others, closed)
    else:
        opened = [r for r in ranges if quiet_hours.is_open(r.place, now)]
        by_number = receive - len(own_numbers) - _numbers_in(others, opened)
    # Each count reads the contacts as they are when it runs: with contacts added or removed
    # between them, the sum could fall outside what can be.
    return min(max(by_contact + by_number, 0), receive)


def _ranges_in_use() -> list[NumberRange]:
    """The ranges of numbers (contacts.places.number_ranges) that some contact's number is
    in: on PostgreSQL, one look into the phone index each; elsewhere, all of them."""
    ranges = number_ranges()
    if connection.vendor != "postgresql":
        return list(ranges)
    # Each range bounded at both ends within the index: with an open end ("high IS NULL OR
    # phone < high"), the look for an unused range read every number after it. The range
    # with no end (the last) is in use if the greatest number is in it.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS r(low, high, n)"
            " WHERE EXISTS (SELECT 1 FROM contacts_contact WHERE phone >= low AND phone < high)"
            " OR (high IS NULL AND (SELECT MAX(phone) FROM contacts_contact) >= low)",
            [array_text([r.low for r in ranges]), array_text([r.high for r in ranges])],
        )
        return [ranges[n - 1] for (n,) in cursor.fetchall()]


def _numbers_in(contacts: ContactQuerySet, ranges: list[NumberRange]) -> int:
    """How many numbers `contacts` have in `ranges`: each range read on its own from the
    phone index, in order, its contacts' numbers counted once each (on PostgreSQL; one query
    for them all elsewhere)."""
    bounded = [r for r in ranges if r.high is not None]
    count = sum(_distinct_numbers(contacts.filter(phone__gte=r.low)) for r in ranges if not r.high)
    if not bounded:
        return count
    if connection.vendor != "postgresql":
        in_ranges = Q()
        for r in bounded:
            in_ranges |= Q(phone__gte=r.low, phone__lt=r.high)
        return count + _distinct_numbers(contacts.filter(in_ranges))
    # Each range's bounds as index conditions (a lateral query a range): with the ranges as
    # one OR, PostgreSQL combines bitmaps, reads every contact's row and sorts the numbers.
    numbers = contacts.filter(phone__gte=RawSQL("r.low", ()), phone__lt=RawSQL("r.high", ()))
    sql, params = numbers.order_by().values("phone").distinct().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(n), 0)::bigint"
            " FROM unnest(%s::text[], %s::text[]) AS r(low, high),"
            f" LATERAL (SELECT COUNT(*) AS n FROM ({sql}) numbers) counted",
            [array_text([r.low for r in bounded]), array_text([r.high for r in bounded]), *params],
        )
        return count + cursor.fetchone()[0]


def _distinct_numbers(contacts: ContactQuerySet) -> int:
    return contacts.order_by().values("phone").distinct().count()


def _counts(audience: ContactQuerySet, channel: str) -> dict[str, int]:
    """The audience's size; how many of it opted out of `channel`, hard and soft; and how
    many more its status leaves out.

    A filtered audience is counted in one pass, its contacts' opt-outs joined. Everyone is
    counted table by table instead: the opt-outs of each kind on their own (every one has
    its contact), each from its partial index, and the few inactive contacts from theirs:
    about half the time of the pass over every contact (bench/NOTES.md).
    """
    inactive = ~Q(status=Contact.Status.ACTIVE)
    if audience.query.has_filters():
        opt_out = FilteredRelation("opt_outs", condition=Q(opt_outs__channel=channel))
        return audience.alias(opt_out=opt_out).aggregate(
            everyone=Count("pk"),
            hard=Count("pk", filter=Q(opt_out__kind=OptOut.HARD)),
            soft=Count("pk", filter=Q(opt_out__kind=OptOut.SOFT)),
            status=Count("pk", filter=Q(opt_out=None) & inactive),
        )
    opt_outs = OptOut.objects.filter(channel=channel)
    inactive_contacts = audience.filter(inactive)
    return {
        "everyone": audience.count(),
        "hard": opt_outs.filter(kind=OptOut.HARD).count(),
        "soft": opt_outs.filter(kind=OptOut.SOFT).count(),
        "status": inactive_contacts.count() - inactive_contacts.opted_out_of(channel).count(),
    }


def _duplicates(valid: ContactQuerySet) -> int:
    """How many messages one per number saves among `valid` contacts (best given by the
    launch's plan, `policy.may_receive_in_number_order`: the phone index alone answers it).

    Only numbers that more than one contact has can save any. Their contacts are counted
    number by number, through the phone index: as a join, the planner may instead check
    every contact's eligibility, several times slower (bench/NOTES.md).
    """
    valid_with_number = (
        valid.filter(phone=OuterRef("phone")).order_by().values("phone").annotate(n=Count("*"))
    )
    numbers = PhoneCount.objects.filter(contacts__gt=1).annotate(
        valid=Coalesce(Subquery(valid_with_number.values("n")), 0)
    )
    return numbers.aggregate(n=Coalesce(Sum(Greatest(F("valid") - 1, 0)), 0))["n"]


@transaction.atomic
def launch(*, broadcast: Broadcast, by_user: AbstractBaseUser) -> None:
    """Send now, or at `send_at`: the worker picks a scheduled broadcast up on time.

    A draft only: of launches pressed at once, the first has the broadcast locked, and the
    others find it scheduled or sending (`NotEditable`).
    """
    broadcast = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
    if broadcast.status != Broadcast.Status.DRAFT:
        raise NotEditable(f"“{broadcast}” was launched already.")
    broadcast.launched_by = by_user
    if broadcast.send_at and broadcast.send_at > timezone.now():
        broadcast.status = Broadcast.Status.SCHEDULED
        broadcast.save(update_fields=["status", "launched_by"])
        _queue_start(broadcast)
        return
    broadcast.save(update_fields=["launched_by"])
    start(broadcast)


# What the launch, the sending and a cancellation set; an edit leaves them as they are.
LAUNCH_FIELDS = {"id", "status", "launched_by", "launched_at", "finished_at"}


@transaction.atomic
def edit(*, broadcast: Broadcast) -> None:
    """Save the changes to a broadcast that was not launched, as the form left it.

    Checked and saved under the broadcast's lock: a copy read before a launch, saved over
    it, would make a sending broadcast a draft again. A scheduled broadcast needs a time to
    come; a new one queues its start.
    """
    current = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
    if not current.is_editable:
        raise NotEditable(f"“{current}” was launched already.")
    scheduled = current.status == Broadcast.Status.SCHEDULED
    if scheduled and not (broadcast.send_at and broadcast.send_at > timezone.now()):
        raise ValidationError(
            {"send_at": "A scheduled broadcast needs a time to come. To send it now, "
                        "unschedule it, then launch it."}
        )  # fmt: skip
    fields = [f.name for f in Broadcast._meta.concrete_fields if f.name not in LAUNCH_FIELDS]
    broadcast.save(update_fields=fields)
    if scheduled and broadcast.send_at != current.send_at:
        _queue_start(broadcast)


def _queue_start(broadcast: Broadcast) -> None:
    """Queue the start of a scheduled broadcast for its send time.

    Every time set queues one: the task queued for a time since moved finds the broadcast
    not due yet and does nothing, and the one for the time set last starts it.
    """
    start_scheduled.using(run_after=broadcast.send_at).enqueue(broadcast.pk)


@transaction.atomic
def start_due(*, broadcast_id: int) -> bool:
    """Start a scheduled broadcast whose time has come; False if it is not due, or was
    unscheduled, cancelled or started since.

    Claimed with a compare-and-set on its status, so that of two tasks due at once (one
    per time it was scheduled for) only one starts it: the other waits for the first's
    lock, then finds it sending.
    """
    claimed = Broadcast.objects.filter(
        pk=broadcast_id, status=Broadcast.Status.SCHEDULED, send_at__lte=timezone.now()
    ).update(status=Broadcast.Status.SENDING)
    if claimed:
        start(Broadcast.objects.get(pk=broadcast_id))
    return bool(claimed)


@task
def start_scheduled(broadcast_id: int) -> None:
    """Start a scheduled broadcast at its time. Every time set queues this task: one queued
    for a time since moved, or for a broadcast unscheduled, cancelled or started, does
    nothing."""
    start_due(broadcast_id=broadcast_id)


def start(broadcast: Broadcast) -> int:
    """Snapshot the recipients (one row per number, one statement) and start sending."""
    audience = broadcast.audience_contacts()
    eligible = policy.may_receive_in_number_order(broadcast, audience)
    try:
        sql, params = eligible.order_by().values("id", "phone").query.sql_with_params()
    except EmptyResultSet:  # an audience that can match nobody, e.g. a deleted tag's
        sql, params = "SELECT id, phone FROM contacts_contact WHERE 1 = 0", ()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Room to hash the opt-outs of millions of contacts. In the numbers' order, the
            # unique (broadcast, phone) index grows at its end only.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            # Compiling this one-pass plan cost more than it saved (bench/NOTES.md).
            cursor.execute("SET LOCAL jit = off")
            if not audience.query.has_filters():
                # Everyone: read the phone index in order. Guessing that a quarter of the
                # contacts pass the NOT IN lists, where nearly all do, the planner may sort
                # them instead, which is slower (bench/NOTES.md).
                cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(
            f"""
            INSERT INTO broadcasts_recipient (broadcast_id, contact_id, phone, status, attempts,
                                              sid, error)
            SELECT %s, MIN(eligible.id), eligible.phone, 'pending', 0, '', ''
            FROM ({sql}) eligible GROUP BY eligible.phone ORDER BY eligible.phone
            """,
            [broadcast.pk, *params],
        )
        count = cursor.rowcount
        if connection.vendor == "postgresql" and count > 10_000:
            # Statistics that know these rows, so that claims use the (broadcast, status, id)
            # index from the first batch rather than walking the whole table.
            cursor.execute("ANALYZE broadcasts_recipient (broadcast_id, status)")
    Broadcast.objects.filter(pk=broadcast.pk).update(
        status=Broadcast.Status.SENDING, launched_at=timezone.now()
    )
    # One task per worker that may share the sending; the spare ones find nothing to claim.
    for _ in range(settings.BROADCAST_WORKERS):
        transaction.on_commit(lambda: send_broadcast.enqueue(broadcast.pk))
    return count


@transaction.atomic
def cancel(*, broadcast: Broadcast) -> int:
    """Stop a broadcast: what was not handed to the provider yet is never sent."""
    broadcast = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
    if broadcast.status in (Broadcast.Status.DONE, Broadcast.Status.CANCELLED):
        return 0
    broadcast.status = Broadcast.Status.CANCELLED
    broadcast.finished_at = timezone.now()
    broadcast.save(update_fields=["status", "finished_at"])
    waiting = (Recipient.Status.PENDING, Recipient.Status.DEFERRED)
    return broadcast.recipients.filter(status__in=waiting).update(
        status=Recipient.Status.CANCELLED, retry_at=None
    )


@transaction.atomic
def unschedule(*, broadcast: Broadcast) -> bool:
    """Make a scheduled broadcast a draft again; False if it is not scheduled (any more)."""
    unscheduled = Broadcast.objects.filter(
        pk=broadcast.pk, status=Broadcast.Status.SCHEDULED
    ).update(status=Broadcast.Status.DRAFT)
    return bool(unscheduled)


@dataclass
class Progress:
    counts: dict[str, int]
    # The recipient deferred by quiet hours whose window opens first, if any.
    first_deferred: Recipient | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        waiting = (Recipient.Status.PENDING, Recipient.Status.SENDING, Recipient.Status.DEFERRED)
        return sum(n for status, n in self.counts.items() if status not in waiting)

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 0


def progress(broadcast: Broadcast) -> Progress:
    """Recipients by status (every status, zero included)."""
    counts = dict(broadcast.recipients.order_by().values_list("status").annotate(n=Count("id")))
    first_deferred = None
    if counts.get(Recipient.Status.DEFERRED):
        deferred = broadcast.recipients.filter(status=Recipient.Status.DEFERRED)
        first_deferred = deferred.order_by("retry_at", "id").first()
    return Progress(
        {status: counts.get(status, 0) for status in Recipient.Status.values}, first_deferred
    )
