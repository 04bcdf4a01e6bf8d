"""Previewing, launching and cancelling broadcasts. Sending is in broadcasts/sending.py."""

import hashlib
import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Greatest, Left
from django.tasks import task
from django.utils import timezone

from broadcasts import policy
from broadcasts.models import Broadcast, Recipient
from broadcasts.sending import reap, send_broadcast
from contacts import quiet_hours
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
from contacts.places import NOWHERE, NumberRange, number_ranges, with_own
from contacts.search import WalkThenLookUp
from crm.arrays import array_text
from crm.lookups import AnyOf
from crm.planner import planned_with

logger = logging.getLogger(__name__)


class NotEditable(Exception):
    """The broadcast was launched: it can be watched or cancelled, not changed."""


class Deleted(Exception):
    """The broadcast was deleted since it was read (a draft: `delete_draft`)."""


class ChangedSinceConfirmed(Exception):
    """The broadcast was edited since its launch was confirmed: not what was confirmed."""


class ReadsAsMarketing(Exception):
    """An informational broadcast whose words promote, which its manager did not say promotes
    nothing (Broadcast.reads_as_marketing): not launched so."""


class CannotBePlaced(Exception):
    """A voice broadcast whose calls could not state a number of the business
    (Broadcast.cannot_be_placed): not launched."""


class Kept(Exception):
    """The broadcast cannot be deleted: the message says why (`why_kept`)."""


def _locked(broadcast: Broadcast) -> Broadcast:
    """The broadcast as it is now, its row locked to the end of the transaction."""
    locked = Broadcast.objects.select_for_update().filter(pk=broadcast.pk).first()
    if locked is None:
        raise Deleted(f"“{broadcast}” was deleted.")
    return locked


@dataclass
class Preview:
    """Who a broadcast would reach now, and who it leaves out and why."""

    receive: int
    excluded: dict[str, int]
    # Of those who receive it, how many a launch now would defer to the end of their quiet
    # hours (they receive it later, not never); at its send time if that is still to come.
    deferred: int = 0
    # That send time, when the deferred are counted for it rather than for now.
    deferred_at: datetime | None = None
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
    counting = {
        "jit": "off",
        "work_mem": "256MB",
        "max_parallel_workers_per_gather": "0",
        "random_page_cost": "1.1",
    }
    with planned_with(counting):
        yield


def _preview(broadcast: Broadcast, sample: int) -> Preview:
    channel = broadcast.channel
    filters = broadcast.audience_filter()
    audience = filters.qs if filters.is_valid() else Contact.objects.none()
    rules = [rule for rule in policy.RULES if rule.condition(broadcast) is not None]
    quiet = _quiet_at_send(broadcast)
    everyone, excluded, duplicates, closed_by_number = _counted(broadcast, audience, rules, quiet)
    receive = everyone - sum(excluded.values()) - duplicates
    excluded[DUPLICATE] = duplicates
    # The samples are found as the Contacts table finds a page: a search for words by its
    # own ways of matching (contacts.search.TextSearch), other filters walked along the
    # names, then looked up. Each narrowed to whom it samples.
    walk = filters.text_search() or _Sample([(audience, ())])
    left_out = {
        exclusion.label: partial(ContactQuerySet.left_out_by, exclusion=exclusion, channel=channel)
        for exclusion in EXCLUSIONS
    }
    for rule in rules:
        left_out[rule.label] = partial(policy.left_out_by, rule, broadcast)
    may_receive = partial(policy.may_receive, broadcast)
    # Twice as many, as two may share a number.
    receiving = _first_by_name(walk, audience, may_receive, 2 * sample) if receive else []
    return Preview(
        receive=receive,
        excluded=excluded,
        deferred=_deferred_at_send(broadcast, audience, receive, quiet, closed_by_number),
        deferred_at=_send_time_to_come(broadcast),
        sample_in=_one_a_number(receiving, sample),
        sample_out=_first_left_out(walk, audience, left_out, excluded, sample),
    )


def _counted(
    broadcast: Broadcast,
    audience: ContactQuerySet,
    rules: list[policy.Rule],
    quiet: "_Quiet | None",
) -> tuple[int, dict[str, int], int, int | None]:
    """The audience's size, how many each reason is the first to leave out, the messages one
    per number saves, and, for a filtered audience, how many numbers of those who receive it
    are closed at the send by their own place (None: counted later, by `_deferred_at_send`)."""
    if audience.query.has_filters():
        closed = _closed_by_number(quiet) if quiet and not quiet.everywhere else None
        return _counted_in_one_pass(broadcast, audience, rules, closed)
    everyone, excluded = _counted_table_by_table(audience, broadcast.channel)
    for rule in rules:
        excluded[rule.label] = policy.left_out_by(rule, broadcast, audience).count()
    duplicates = _duplicates(policy.may_receive_in_number_order(broadcast, audience))
    return everyone, excluded, duplicates, None


def _first_left_out(
    walk: WalkThenLookUp,
    audience: ContactQuerySet,
    left_out: dict[str, Callable[[ContactQuerySet], ContactQuerySet]],
    excluded: dict[str, int],
    sample: int,
) -> list[tuple[Contact, str]]:
    """The first `sample` left out, reason by reason (`left_out`: each reason's label and
    whom it leaves out of contacts), each with its reason's label: a reason is asked for no
    more than the sample lacks, and not at all when it leaves nobody out (a search for a
    sample of nothing reads every contact)."""
    first = []
    for label, narrowed in left_out.items():
        if excluded[label] and len(first) < sample:
            wanted = sample - len(first)
            first += [
                (contact, label) for contact in _first_by_name(walk, audience, narrowed, wanted)
            ]
    return first


DUPLICATE = "Duplicate phone (one message per number)"


def _first_by_name(
    walk: WalkThenLookUp,
    audience: ContactQuerySet,
    narrowed: Callable[[ContactQuerySet], ContactQuerySet],
    count: int,
) -> list[Contact]:
    """The first `count` by name of the contacts of `audience` that `narrowed` leaves, found
    as `walk` finds the audience's, narrowed the same way: walked along the names, then
    looked up and sorted. Asked for them at once, PostgreSQL walks the names' index testing
    each contact, which for an audience far along the names (a search for "Sofia") read most
    of the table; and a search's own ways find its matches by their indexes, where looking
    them all up for each sample took 70 to 100 ms (bench/NOTES.md)."""
    return walk.narrowed(narrowed).first_past(narrowed(audience), ["name", "id"], None, count)


def _one_a_number(contacts: list[Contact], count: int) -> list[Contact]:
    """The first `count` of `contacts` whose number is not one of an earlier one's: a number
    gets one message, whichever of its contacts it is sent for."""
    firsts: dict[str, Contact] = {}
    for contact in contacts:
        firsts.setdefault(contact.phone, contact)
    return list(firsts.values())[:count]


class _Sample(WalkThenLookUp):
    """A sample's walk goes on when its first stretch held some of those it samples; when
    that held nobody, they are likely few, and looked up and sorted.

    Walking on only as far as the first stretch's share says (`walk_for_the_rest`) missed
    the tenth of a tag's hard opt-outs, 9 of them in the first 250 names, and looked up all
    20,000 to find it (107 to 171 ms, bench/NOTES.md); the walk stops at a full sample."""

    def further_walk(self, found: int, wanted: int) -> int:
        return super().further_walk(found, wanted) if found else 0


@dataclass(frozen=True)
class _Quiet:
    """Quiet hours that the send would meet somewhere at `at` (`_quiet_at_send`)."""

    at: datetime
    # Every place a contact is in is closed.
    everywhere: bool
    # The ranges of numbers (contacts.places.number_ranges) that some contact's number is in.
    ranges: list[NumberRange]


def _send_time_to_come(broadcast: Broadcast) -> datetime | None:
    """The broadcast's send time, if it has one still to come: when its launch would send."""
    if broadcast.send_at and broadcast.send_at > timezone.now():
        return broadcast.send_at
    return None


def _quiet_at_send(broadcast: Broadcast) -> _Quiet | None:
    """The quiet hours a launch now would meet, at once or at its send time still to come, by
    the places its contacts may be in: each range's of numbers, with each time zone and state
    that contacts say of their own. None when every one is open (or quiet hours are not
    kept)."""
    if not broadcast.keeps_quiet_hours or not quiet_hours.enforced():
        return None
    at = _send_time_to_come(broadcast) or timezone.now()
    own = set(_with_own_place().values_list("time_zone", "state").distinct()) | {("", "")}
    ranges = _ranges_in_use()
    places = {with_own(r.place, *fields) for r in ranges for fields in own}
    open_then = {quiet_hours.is_open(place, at) for place in places}
    if open_then <= {True}:
        return None
    return _Quiet(at, everywhere=open_then == {False}, ranges=ranges)


def _with_own_place() -> ContactQuerySet:
    return Contact.objects.exclude(time_zone="", state="")


def _closed_by_number(quiet: _Quiet) -> Q:
    """The contacts whose number's own place (`place_of_number`: by its first characters) is
    closed now, and that no contact with a place of its own has: each number's beginning
    looked for among the closed places' (or, when the numbers of no known place are closed
    too, not among the open ones), a hashed list for each length of beginning."""
    places = {r.place for r in number_ranges()}
    open_now = {place: quiet_hours.is_open(place, quiet.at) for place in places}
    nowhere_closed = not open_now[NOWHERE]
    beginnings: dict[int, list[str]] = {}
    for r in number_ranges():
        if r.place != NOWHERE and open_now[r.place] == nowhere_closed:
            beginnings.setdefault(len(r.low), []).append(r.low)
    among = policy.NOBODY
    for length, its in beginnings.items():
        among |= Q(AnyOf(Left("phone", length), its))
    closed = ~among if nowhere_closed else among
    return closed & ~Q(phone__in=_with_own_place().values("phone"))


def _deferred_at_send(
    broadcast: Broadcast,
    audience: ContactQuerySet,
    receive: int,
    quiet: _Quiet | None,
    closed_by_number: int | None = None,
) -> int:
    """How many of the `receive` numbers that a launch now would take from `audience` would
    be outside their quiet hours at the send (`quiet.at`), as the send finds them: by the
    places its contacts say, each from its own time zone and state, else the number's.

    When every place a contact is in is open, that is nobody, and when every one is closed,
    everybody. In between, those that contacts with a time zone or state of their own have,
    few as a rule, are counted one by one. The others are `closed_by_number` when counted
    already (`_counted_in_one_pass`); else they are counted by their ranges
    (`number_ranges`): those of the closed ranges, or, when fewer ranges are open, what the
    open ones leave of `receive`.
    """
    if not receive or quiet is None:
        return 0
    if quiet.everywhere:
        return receive
    # Those who receive it, by the launch's plan: no regular expression on each.
    valid = policy.may_receive_in_number_order(broadcast, audience)
    # The numbers that a contact with a place of its own has (any contact of the number, as
    # the send reads them), counted one by one: each waits for every place its contacts say.
    own_places = _with_own_place().values("phone")
    own_numbers = list(
        valid.filter(phone__in=own_places).order_by().values_list("phone", flat=True).distinct()
    )
    said = quiet_hours.said_by_contacts(own_numbers)
    by_contact = sum(
        not all(
            quiet_hours.is_open(place, quiet.at) for place in quiet_hours.places_said(phone, its)
        )
        for phone, its in said.items()
    )
    if closed_by_number is not None:
        by_number = closed_by_number
    else:
        ranges, others = quiet.ranges, valid.exclude(phone__in=own_numbers)
        closed = [r for r in ranges if not quiet_hours.is_open(r.place, quiet.at)]
        if len(closed) <= len(ranges) - len(closed):
            by_number = _numbers_in(others, closed)
        else:
            opened = [r for r in ranges if quiet_hours.is_open(r.place, quiet.at)]
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


def _counted_table_by_table(audience: ContactQuerySet, channel: str) -> tuple[int, dict[str, int]]:
    """Everyone, and how many of them each of the contacts' EXCLUSIONS is the first to leave
    out of `channel`, table by table: the opt-outs of each kind on their own (every one has
    its contact), each from its partial index, the few inactive contacts from theirs, and the
    few invalid phones from theirs (PostgreSQL). About half the time of a pass over every
    contact (bench/NOTES.md)."""
    opt_outs = OptOut.objects.filter(channel=channel)
    inactive_contacts = audience.filter(NOT_ACTIVE.of(channel))
    return audience.count(), {
        HARD_OPT_OUT.label: opt_outs.filter(kind=OptOut.HARD).count(),
        SOFT_OPT_OUT.label: opt_outs.filter(kind=OptOut.SOFT).count(),
        NOT_ACTIVE.label: inactive_contacts.count()
        - inactive_contacts.opted_out_of(channel).count(),
        NO_VALID_PHONE.label: audience.left_out_by(NO_VALID_PHONE, channel).count(),
    }


def _counted_in_one_pass(
    broadcast: Broadcast, audience: ContactQuerySet, rules: list[policy.Rule], closed: Q | None
) -> tuple[int, dict[str, int], int, int | None]:
    """A filtered audience's size; how many of it each reason is the first to leave out (the
    contacts' EXCLUSIONS, then `rules`, in their order); how many messages one per number
    saves among those who receive it; and how many of their numbers are `closed` now (if
    given: `_closed_by_number`). All in one pass over the audience, its contacts' opt-outs
    of the channel joined.

    A query for each reason read the audience again: the contacts of a tag of 200,000, each
    time hashed against every contact (bench/NOTES.md). The exclusions are written here as
    the join and the lists of ids that the launch's plan hashes
    (`ContactQuerySet.eligible_in_number_order`); tests/broadcasts/test_who_receives.py holds
    the counts to the launch. Only numbers that more than one contact has (`PhoneCount`) can
    save a message: each saves one fewer than its contacts.
    """
    channel = broadcast.channel
    opt_out = FilteredRelation("opt_outs", condition=Q(opt_outs__channel=channel))
    invalid = Contact.objects.filter(NO_VALID_PHONE.of(channel)).values("pk")
    reasons = [
        (HARD_OPT_OUT.label, Q(opt_out__kind=OptOut.HARD)),
        (SOFT_OPT_OUT.label, Q(opt_out__kind=OptOut.SOFT)),
        (NOT_ACTIVE.label, NOT_ACTIVE.of(channel)),
        (NO_VALID_PHONE.label, Q(pk__in=invalid)),
        *((rule.label, rule.condition(broadcast)) for rule in rules),
    ]
    # Each contact's first reason (CASE tries them in order); for those who receive it, what
    # their number is: shared by more than one contact, closed now, both, or neither (NULL).
    whens = [When(condition, then=code) for code, (_, condition) in enumerate(reasons)]
    SHARED, SHARED_CLOSED, CLOSED = range(len(reasons), len(reasons) + 3)
    shared = Q(phone__in=PhoneCount.objects.filter(contacts__gt=1).values("phone"))
    if closed is not None:
        whens += [When(shared & closed, then=SHARED_CLOSED), When(closed, then=CLOSED)]
    whens.append(When(shared, then=SHARED))
    first = Case(*whens, output_field=IntegerField())
    by_reason = audience.alias(opt_out=opt_out).annotate(reason=first).order_by()
    try:
        sql, params = by_reason.values("phone", "reason").query.sql_with_params()
    except EmptyResultSet:  # an audience of nobody: filters no longer valid
        return 0, dict.fromkeys((label for label, _ in reasons), 0), 0, 0
    counts = ", ".join(f"COUNT(*) FILTER (WHERE reason = {code})" for code in range(CLOSED + 1))
    # OFFSET 0: each contact's reason worked out once, not again for each count (SQLite
    # wants a LIMIT before it).
    once = "LIMIT -1 OFFSET 0" if connection.vendor == "sqlite" else "OFFSET 0"
    with connection.cursor() as cursor, _merged():
        cursor.execute(
            f"SELECT COUNT(*), COUNT(DISTINCT phone) FILTER (WHERE reason = {SHARED}),"
            f" COUNT(DISTINCT phone) FILTER (WHERE reason = {SHARED_CLOSED}), {counts}"
            f" FROM ({sql} {once}) contacts",
            params,
        )
        everyone, shared_numbers, shared_closed_numbers, *counted = cursor.fetchone()
    excluded = {label: counted[code] for code, (label, _) in enumerate(reasons)}
    shared_contacts = counted[SHARED] + counted[SHARED_CLOSED]
    duplicates = shared_contacts - shared_numbers - shared_closed_numbers
    closed_numbers = counted[CLOSED] + shared_closed_numbers if closed is not None else None
    return everyone, excluded, duplicates, closed_numbers


def _merged():
    """On PostgreSQL, the queries inside join by merging, not hashing: a large audience, its
    contacts' opt-outs and a tag's links are each read in the order of the contacts' ids and
    merged. PostgreSQL prices a hash join lower, but probing a hash of a tag's 200,000 links
    with every contact took twice as long as the merge, and no audience's count was slower
    merged (bench/NOTES.md)."""
    return planned_with({"enable_hashjoin": "off"})


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
def launch(
    *, broadcast: Broadcast, by_user: AbstractBaseUser, confirmed: str | None = None
) -> None:
    """Send now, or at `send_at`: the worker picks a scheduled broadcast up on time.

    A draft only: of launches pressed at once, the first has the broadcast locked, and the
    others find it scheduled or sending (`NotEditable`). `confirmed`: the `confirmation` of
    the broadcast as its launch page showed it; edited since (by another manager, in another
    tab), it is not launched (`ChangedSinceConfirmed`).
    """
    broadcast = _locked(broadcast)
    if broadcast.status != Broadcast.Status.DRAFT:
        raise NotEditable(f"“{broadcast}” was launched already.")
    if confirmed is not None and confirmed != confirmation(broadcast):
        raise ChangedSinceConfirmed(f"“{broadcast}” was edited since its launch was confirmed.")
    if words := broadcast.reads_as_marketing():
        raise ReadsAsMarketing(
            f"“{broadcast}” is marked informational, but reads as marketing (“{words}”): "
            "edit it, and choose Marketing, or tick “It is informational” if it promotes "
            "nothing."
        )
    if why := broadcast.cannot_be_placed():
        raise CannotBePlaced(f"“{broadcast}” is not launched. {why}")
    broadcast.launched_by = by_user
    if broadcast.send_at and broadcast.send_at > timezone.now():
        broadcast.status = Broadcast.Status.SCHEDULED
        broadcast.save(update_fields=["status", "launched_by"])
        _queue_start(broadcast)
        return
    broadcast.save(update_fields=["launched_by"])
    start(broadcast)


# What the launch, the sending and a cancellation set; an edit leaves them as they are.
LAUNCH_FIELDS = {"id", "status", "launched_by", "launched_at", "finished_at", "recipients_taken"}


def _edited_fields() -> list[str]:
    return [f.name for f in Broadcast._meta.concrete_fields if f.name not in LAUNCH_FIELDS]


def confirmation(broadcast: Broadcast) -> str:
    """What a launch page confirms, in a few characters: a digest of every field an edit may
    change (what it sends, to whom, when, its purpose)."""
    # By the columns' own values: a related row's name (the creator's) is none of it.
    attnames = [Broadcast._meta.get_field(name).attname for name in _edited_fields()]
    values = "\0".join(repr(getattr(broadcast, attname)) for attname in attnames)
    return hashlib.sha256(values.encode()).hexdigest()[:32]


@transaction.atomic
def edit(*, broadcast: Broadcast) -> bool:
    """Save the changes to a broadcast that was not launched, as the form left it; True when
    that made a scheduled broadcast a draft again.

    Checked and saved under the broadcast's lock: a copy read before a launch, saved over
    it, would make a sending broadcast a draft again. A scheduled broadcast needs a time to
    come; a new one queues its start. Any other change to it (what it sends, to whom, its
    purpose) is not what its launch confirmed: it is a draft again, to be launched anew with
    the preview of what it now is.
    """
    current = _locked(broadcast)
    if not current.is_editable:
        raise NotEditable(f"“{current}” was launched already.")
    scheduled = current.status == Broadcast.Status.SCHEDULED
    if scheduled and not (broadcast.send_at and broadcast.send_at > timezone.now()):
        raise ValidationError(
            {"send_at": "A scheduled broadcast needs a time to come. To send it now, "
                        "unschedule it, then launch it."}
        )  # fmt: skip
    fields = _edited_fields()
    unscheduled = scheduled and any(
        getattr(broadcast, name) != getattr(current, name) for name in fields if name != "send_at"
    )
    if unscheduled:
        broadcast.status, broadcast.launched_by = Broadcast.Status.DRAFT, None
        fields += ["status", "launched_by"]
    broadcast.save(update_fields=fields)
    if scheduled and not unscheduled and broadcast.send_at != current.send_at:
        _queue_start(broadcast)
    return unscheduled


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
    due = Broadcast.objects.filter(
        pk=broadcast_id, status=Broadcast.Status.SCHEDULED, send_at__lte=timezone.now()
    )
    if (broadcast := due.first()) and (words := broadcast.reads_as_marketing()):
        # Scheduled before its launch asked for its manager's word (services.launch): a draft
        # again, for them to see.
        due.update(status=Broadcast.Status.DRAFT, launched_by=None)
        logger.warning("Broadcast %s not started: informational, but reads as marketing (%s)",
                       broadcast_id, words)  # fmt: skip
        return False
    if broadcast and (why := broadcast.cannot_be_placed()):  # the settings changed since
        due.update(status=Broadcast.Status.DRAFT, launched_by=None)
        logger.warning("Broadcast %s not started: %s", broadcast_id, why)
        return False
    claimed = due.update(status=Broadcast.Status.SENDING)
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
        status=Broadcast.Status.SENDING, launched_at=timezone.now(), recipients_taken=count
    )
    # One task per worker that may share the sending; the spare ones find nothing to claim.
    for _ in range(settings.BROADCAST_WORKERS):
        transaction.on_commit(lambda: send_broadcast.enqueue(broadcast.pk))
    return count


@transaction.atomic
def cancel(*, broadcast: Broadcast) -> int | None:
    """Stop a broadcast that is sending or scheduled: what was not handed to the provider yet
    is never sent. How many messages waiting to be claimed that stops; None if it is not
    sending or scheduled (any more: it ended, or was unscheduled, since it was read).

    A batch checks the broadcast under a lock that this one waits for (`sending.send_batch`):
    a batch handing its messages over finishes first, and one that has not checked yet finds
    the broadcast cancelled and cancels its own (`claimed_when_cancelled`). What a worker
    that died left being handed over may have gone: past its time-out, it is marked unknown
    here, as the send would have (`sending.reap`)."""
    broadcast = _locked(broadcast)
    if broadcast.status not in (Broadcast.Status.SENDING, Broadcast.Status.SCHEDULED):
        return None
    broadcast.status = Broadcast.Status.CANCELLED
    broadcast.finished_at = timezone.now()
    broadcast.save(update_fields=["status", "finished_at"])
    reap(broadcast)
    # A deferred recipient's note said when it would be sent: now it says it was waiting.
    waited = When(status=Recipient.Status.DEFERRED, then=Value(WAITED_FOR_QUIET_HOURS))
    return broadcast.recipients.filter(status__in=CANCELLABLE).update(
        status=Recipient.Status.CANCELLED,
        retry_at=None,
        error=Case(waited, default=F("error"), output_field=TextField()),
    )


# The messages that wait for their turn: a cancellation stops them.
CANCELLABLE = (Recipient.Status.PENDING, Recipient.Status.DEFERRED)
WAITED_FOR_QUIET_HOURS = "It was waiting for its quiet hours to end."


def cancellable_count(broadcast: Broadcast) -> int:
    return broadcast.recipients.filter(status__in=CANCELLABLE).count()


def why_kept(broadcast: Broadcast) -> str:
    """Why the broadcast cannot be deleted, or "" if it can: only a draft can, and only one
    whose message was never sent, not even as a test (a test is a record of a text sent or
    tried, and the frequency limits count it)."""
    if broadcast.status == Broadcast.Status.SCHEDULED:
        return "It is scheduled: unschedule it first, then delete it."
    if broadcast.status != Broadcast.Status.DRAFT:
        return "It was launched: it is kept as a record of what was sent, or was to be."
    if tests := broadcast.tests.count():
        sent = "a test" if tests == 1 else f"{tests} tests"
        return (
            f"Its message was sent as {sent}, kept as a record of what was sent. Left a draft, "
            "it is never sent unless someone launches it."
        )
    return ""


@transaction.atomic
def delete_draft(*, broadcast: Broadcast) -> None:
    """Delete a draft that was never sent, not even as a test (`why_kept`): under its lock, so
    that a launch or a test pressed at once either comes first and keeps it, or finds it gone."""
    broadcast = _locked(broadcast)
    if reason := why_kept(broadcast):
        raise Kept(reason)
    broadcast.delete()


def claimed_when_cancelled(broadcast: Broadcast) -> int:
    """How many of a cancelled broadcast's messages a batch still holds: those it has not
    handed over it cancels (`cancel`)."""
    return broadcast.recipients.filter(status=Recipient.Status.SENDING).count()


@transaction.atomic
def unschedule(*, broadcast: Broadcast) -> bool:
    """Make a scheduled broadcast a draft again, launched by nobody; False if it is not
    scheduled (any more)."""
    unscheduled = Broadcast.objects.filter(
        pk=broadcast.pk, status=Broadcast.Status.SCHEDULED
    ).update(status=Broadcast.Status.DRAFT, launched_by=None)
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

    @property
    def sent(self) -> int:
        """Handed to the provider: sent, delivered, or its fate unknown."""
        handed = (Recipient.Status.SENT, Recipient.Status.DELIVERED, Recipient.Status.UNKNOWN)
        return sum(self.counts.get(status, 0) for status in handed)

    @property
    def sent_percent(self) -> int:
        return 100 * self.sent // self.total if self.total else 0


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
