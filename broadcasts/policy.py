"""The send policy: who a broadcast may reach.

Who may receive a channel at all is the contacts' own rule (contacts.models.EXCLUSIONS). A
broadcast adds rules of its own (RULES, in their order), each a label and the contacts it
leaves out: a number another of whose contacts the business opted out or marked "Do not
contact", a number reported reassigned, a number without consent on record (for marketing,
and where chosen), a number whose possible opt-out waits for review, and, for marketing, the
frequency limits. The preview counts the contacts each leaves out (by the first that holds),
the launch selects those that none does, and each send checks them again just before the
hand-over: one definition, which tests/broadcasts/test_who_receives.py holds the three to.

A rule's condition may be given the numbers a send is about (`phones`): the same condition,
narrowed to them, which an index answers a batch at a time. "No consent on record" then
reads the consent records themselves; otherwise the contacts' columns that the database
keeps from them (contacts.models.consent_on_record).

Quiet hours are a rule of when, not of who: a recipient outside its window is deferred until
it opens (contacts.quiet_hours, applied by broadcasts.sending).
"""

import math
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from broadcasts.models import Broadcast, Recipient, SentTest
from contacts.models import (
    EXCLUSIONS,
    Contact,
    ContactQuerySet,
    consent_in_records,
    no_consent_on_record,
    numbers_held_by_a_contact,
    reported_reassigned,
)
from contacts.places import area_codes_of, number_range
from crm.planner import planned_with
from messaging.models import PossibleOptOut

Phones = Sequence[str] | None


class Rule:
    """A reason a broadcast leaves a contact out: its label, as the preview and a skipped
    recipient show it, and the condition on contacts under which it holds for a broadcast
    (None where it does not apply to that broadcast)."""

    def __init__(self, label: str, condition: Callable[[Broadcast, Phones], Q | None]):
        self.label, self._condition = label, condition

    def condition(self, broadcast: Broadcast, phones: Phones = None) -> Q | None:
        worked_out = _worked_out.get()
        if worked_out is None or phones is not None:
            return self._condition(broadcast, phones)
        key = (self.label, broadcast.pk)
        if key not in worked_out:
            worked_out[key] = self._condition(broadcast, phones)
        return worked_out[key]

    def __repr__(self) -> str:
        return f"Rule({self.label!r})"


_worked_out: ContextVar[dict | None] = ContextVar("worked_out", default=None)


@contextmanager
def worked_out_once():
    """Within it, each rule's condition for a broadcast is worked out once (the numbers over
    a frequency limit, say), and the queries of a preview share it rather than each look it
    up again (bench/NOTES.md)."""
    token = _worked_out.set({})
    try:
        yield
    finally:
        _worked_out.reset(token)


def _reassigned(broadcast: Broadcast, phones: Phones) -> Q | None:
    # A number reported reassigned (its holder replied "wrong number", or the reassigned
    # numbers check said so) reaches someone other than who consented: no broadcast, whatever
    # its purpose, until consent to the channel given since is recorded. None while no number
    # (of `phones`) is so.
    reported = reported_reassigned(broadcast.channel)
    if phones is not None:
        reported = reported.filter(phone__any=phones)
    return _phone_in(reported.order_by().values_list("phone", flat=True).distinct())


def _held_by_another(broadcast: Broadcast, phones: Phones) -> Q | None:
    # A number goes out once, to one of its contacts; another contact of it whom the
    # business opted out of the channel, or marked "Do not contact", has the phone too: the
    # number gets nothing, as a test to it gets nothing. None while no number (of `phones`)
    # is so held.
    held = numbers_held_by_a_contact(broadcast.channel)
    if phones is not None:
        return _phone_in(held.filter(phone__any=phones))
    # Number by number: hashing every contact to find the few on shared numbers took longer
    # (bench/NOTES.md).
    with planned_with({"enable_hashjoin": "off", "enable_mergejoin": "off"}):
        return _phone_in(held)


def _no_consent(broadcast: Broadcast, phones: Phones) -> Q | None:
    # The numbers with no consent on record for the channel (contacts.ConsentRecord), where
    # the broadcast needs it: as the contacts' columns say, and for a send's batch as the
    # records themselves do, at its hand-over.
    if not broadcast.needs_consent:
        return None
    if phones is None:
        return no_consent_on_record(broadcast.channel)
    return ~consent_in_records(broadcast.channel)


def _awaiting_review(broadcast: Broadcast, phones: Phones) -> Q | None:
    # A message waiting in Possible opt-outs may be a revocation, which the law says must be
    # honoured within 10 business days, however it was worded: its number gets no broadcast
    # of what confirming it would stop (the channels it names, else SMS, the channel it came
    # by; every channel under the revoke-all scope) until someone decides.
    waiting = PossibleOptOut.holding(broadcast.channel)
    if phones is None:
        return Q(phone__in=waiting.values("phone"))
    held = set(waiting.filter(phone__any=phones).values_list("phone", flat=True))
    return Q(phone__in=held) if held else None


def limits_frequency(broadcast: Broadcast) -> bool:
    """Whether a frequency limit may leave some of the broadcast's numbers out: then two
    broadcasts must not hand messages to one number at once, each unaware of the other's."""
    limited = settings.FREQUENCY_LIMIT or settings.STATE_FREQUENCY_LIMITS
    return broadcast.purpose == Broadcast.Purpose.MARKETING and bool(limited)


def _over_frequency_limit(broadcast: Broadcast, phones: Phones) -> Q | None:
    # Marketing only: at most FREQUENCY_LIMIT broadcast messages per number in any 24 hours
    # (when set), and each state's own limit for its numbers: those under its area codes
    # (presumed its residents', whatever a contact of them says) and those of contacts who
    # say they live there, as quiet hours read them. Texts and calls count together: the
    # states limit "calls or texts", three in all.
    if not limits_frequency(broadcast):
        return None
    limits = dict(settings.STATE_FREQUENCY_LIMITS)
    counts = None if phones is None else _sent_lately(broadcast, phones)
    # A preview or a launch lists no numbers over a limit that no number can have reached (a
    # send's few numbers are counted one by one).
    lately = _lately(broadcast) if counts is None else Lately(None, math.inf, {})
    conditions = []
    if settings.FREQUENCY_LIMIT and lately.most >= settings.FREQUENCY_LIMIT:
        conditions.append(
            _numbers_sent_at_least(settings.FREQUENCY_LIMIT, broadcast, counts, lately)
        )
    for limit in sorted(set(limits.values())):
        states = sorted(state for state, its in limits.items() if its == limit)
        if lately.most < limit:
            continue
        if counts is not None:  # a send's few numbers
            conditions.append(_limited_of(states, [p for p, n in counts.items() if n >= limit]))
            continue
        # A preview's or a launch's: the numbers over the limit first, looked up once among
        # the states' own numbers, listed, so that a pass over the phone index need not read
        # each contact's state.
        among = _numbers_of(states)
        if over := _numbers_sent_at_least(limit, broadcast, None, lately, among):
            conditions.append(_of_contacts_in(states, over, among))
    conditions = [condition for condition in conditions if condition is not None]
    if not conditions:
        # No number is over a limit. A preview shows the rule nonetheless, at 0.
        return NOBODY if phones is None else None
    either = conditions[0]
    for condition in conditions[1:]:
        either |= condition
    return either


FREQUENCY_WINDOW = timedelta(hours=24)
NOBODY = Q(pk__in=[])


def _numbers_of(states: list[str]) -> Q | None:
    """The numbers a limit of `states` may apply to, as the indexes of numbers answer: those
    under their area codes, and those of contacts who say they live there, listed; None (no
    narrowing) when more than LISTED contacts say so."""
    own = Contact.objects.filter(state__in=states).order_by().values_list("phone", flat=True)
    own_numbers = list(own.distinct()[: LISTED + 1])
    if len(own_numbers) > LISTED:
        return None
    under_area_codes = _under_area_codes(states)
    return under_area_codes | Q(phone__any=own_numbers) if own_numbers else under_area_codes


def _limited_of(states: list[str], over: list[str]) -> Q | None:
    """Of a send's numbers `over` a limit of `states`, those it holds: a number under their
    area codes (presumed their resident's, whatever a contact of it says), or that a contact
    in the states has."""
    if not over:
        return None
    area_codes = tuple(area_codes_of(states))
    in_states = Contact.objects.filter(phone__any=over, state__in=states)
    held = set(in_states.values_list("phone", flat=True))
    limited = [p for p in over if p in held or p.startswith(area_codes)]
    return Q(phone__any=limited) if limited else None


def _of_contacts_in(states: list[str], numbers: Q, among: Q | None) -> Q | None:
    """Those of the `numbers` that are the states' own: under their area codes (presumed
    their resident's, whatever a contact of it says: the phone may be in either), or that a
    contact in the states has; one is enough, the contacts who share a number all go
    without. `among`: those same numbers (under the area codes, or of contacts who say they
    live there), which `numbers` were found among, with any number that messages in flight
    or tests went to; None: every number, which a look-up narrows, listed once for each
    query of a preview or a launch."""
    if among is not None:
        return numbers & among
    in_states = Q(state__in=states) | _under_area_codes(states)
    of_contacts = Contact.objects.filter(numbers & in_states).order_by()
    return _phone_in(of_contacts.values_list("phone", flat=True).distinct())


def _under_area_codes(states: list[str]) -> Q:
    """The numbers under the states' area codes ("+1305…": Florida's), as ranges, which the
    indexes of numbers answer: as the first five characters of each, every message of the
    day was read (bench/NOTES.md)."""
    ranges = NOBODY  # no area code, no number
    for area_code in area_codes_of(states):
        low, high = number_range(area_code)
        ranges |= Q(phone__gte=low, phone__lt=high)
    return ranges


def _sent(broadcast: Broadcast, numbers: Q | None = None, by: list[int] | None = None):
    """The broadcast messages of either channel handed over in the last 24 hours, and those
    other broadcasts have claimed and may be handing over: a batch in flight, or
    that of a worker that died mid-hand-over, which the reaper has not marked unknown yet.

    `numbers` narrows those handed over, which their index (`recipient_sent`) then answers;
    those in flight are few, and all read: narrowed to the states' area codes too, PostgreSQL
    took the ranges out of the OR as one condition beside it, which no index answers, and
    read every message of the day (bench/NOTES.md). Callers keep the numbers they asked
    about. `by`: the broadcasts that handed messages over in those hours or are handing some
    over (`Lately`), whose index by broadcast and time (`recipient_handed_over`) answers the
    rest."""
    since = timezone.now() - FREQUENCY_WINDOW
    handed_over = Q(sent_at__gte=since)
    in_flight = Q(status=Recipient.Status.SENDING, claimed_at__gte=since) & ~Q(broadcast=broadcast)
    if numbers is not None:
        handed_over &= numbers
    if by is not None:
        handed_over &= Q(broadcast__in=by)
    return Recipient.objects.filter(handed_over | in_flight)


class Lately(NamedTuple):
    """What a preview or a launch learns of the last 24 hours' messages before it lists any:
    the broadcasts (of either channel) that handed some over or are handing some over (None: not
    known), the most of those messages and tests that any one number can have had, and the
    tests each number was handed."""

    sending: list[int] | None
    most: float
    tests: dict[str, int]


def _lately(broadcast: Broadcast) -> Lately:
    """A broadcast sends a number one message, so no number can have had more than one for
    each broadcast that handed some over in the last 24 hours or has some in flight, and
    the most tests one number had. Each broadcast's last hand-over is one look into the
    index of its messages by broadcast and time: a day of texts to everyone need not be
    listed to find that none of its numbers is over a limit, and when the day's messages
    must be listed, they are read by their broadcasts (bench/NOTES.md)."""
    since = timezone.now() - FREQUENCY_WINDOW
    last = Recipient.objects.filter(broadcast=OuterRef("pk"), sent_at__isnull=False)
    broadcasts = Broadcast.objects.alias(
        last_handed_over=Subquery(last.order_by("-sent_at").values("sent_at")[:1])
    )
    handed_over = list(broadcasts.filter(last_handed_over__gte=since).values_list("pk", flat=True))
    in_flight = Recipient.objects.filter(
        status=Recipient.Status.SENDING, claimed_at__gte=since
    ).exclude(broadcast=broadcast)
    sending = {*handed_over, *in_flight.values_list("broadcast_id", flat=True).distinct()}
    tests = _tests_sent(broadcast)
    most = len(sending) + max(tests.values(), default=0)
    # Those in flight too: a message handed over since is no longer in flight, and is found
    # among its broadcast's.
    return Lately(sorted(sending), most, tests)


def _sent_lately(broadcast: Broadcast, phones: Sequence[str]) -> dict[str, int]:
    """How many of those messages, and of tests, each of `phones` was handed (a send's
    batch, a test)."""
    sent = _sent(broadcast, Q(phone__any=phones)).order_by().values_list("phone")
    asked = set(phones)
    counts = {phone: n for phone, n in sent.annotate(n=Count("id")) if phone in asked}
    for phone, n in _tests_sent(broadcast, phones).items():
        counts[phone] = counts.get(phone, 0) + n
    return counts


def _tests_sent(broadcast: Broadcast, phones: Sequence[str] | None = None) -> dict[str, int]:
    """How many tests of broadcasts (of either channel) each number was handed in the last 24
    hours (of `phones`, if given). A test is the broadcast's message, and to a customer's
    number as much a message as any: it counts. Few: at most TESTS_PER_BROADCAST a draft."""
    since = timezone.now() - FREQUENCY_WINDOW
    tests = SentTest.objects.filter(sent_at__gte=since)
    if phones is not None:
        tests = tests.filter(phone__any=phones)
    return dict(tests.order_by().values_list("phone").annotate(n=Count("id")))


# The most numbers that a rule of a preview or a launch holds as a list; past it, they are
# looked up in each of its queries.
LISTED = 100_000


def _phone_in(numbers: QuerySet) -> Q | None:
    """The contacts whose number is one of `numbers` (a query of numbers, each once); None if
    there are none. Listed once, when there are at most LISTED, for each of a preview's
    queries to hash; else looked up in each (bench/NOTES.md)."""
    listed = list(numbers[: LISTED + 1])
    if not listed:
        return None
    return Q(phone__in=numbers) if len(listed) > LISTED else Q(phone__any=listed)


def _numbers_sent_at_least(
    count: int, broadcast: Broadcast, counts: dict | None, lately: Lately, among: Q | None = None
) -> Q | None:
    """The contacts whose number was handed `count` or more of those messages: from `counts`
    when a send has them (None if no number was), else from the messages to the numbers
    `among` (all if None)."""
    if counts is not None:
        over = [phone for phone, n in counts.items() if n >= count]
        return Q(phone__any=over) if over else None
    sent = _sent(broadcast, among, lately.sending)
    sent = sent.order_by().values("phone").annotate(n=Count("id"))
    over = _phone_in(sent.filter(n__gte=count).values_list("phone", flat=True))
    # The numbers tests reached: their messages and tests counted number by number.
    if lately.tests:
        counts = _sent_lately(broadcast, list(lately.tests))
        if also := [phone for phone, n in counts.items() if n >= count]:
            over = Q(phone__any=also) if over is None else over | Q(phone__any=also)
    return over


HELD_BY_ANOTHER = Rule(
    "Another contact of the number opted out (soft) or marked “Do not contact”", _held_by_another
)
REASSIGNED = Rule("Number reported reassigned", _reassigned)
NO_CONSENT = Rule("No consent on record", _no_consent)
AWAITING_REVIEW = Rule("Possible opt-out awaiting review", _awaiting_review)
FREQUENCY_LIMIT = Rule("Frequency limit reached (last 24 hours)", _over_frequency_limit)
RULES = (HELD_BY_ANOTHER, REASSIGNED, NO_CONSENT, AWAITING_REVIEW, FREQUENCY_LIMIT)


def _conditions(broadcast: Broadcast, rules=RULES, phones: Phones = None) -> list[Q]:
    return [q for rule in rules if (q := rule.condition(broadcast, phones)) is not None]


def may_receive(
    broadcast: Broadcast, contacts: ContactQuerySet, *, phones: Phones = None
) -> ContactQuerySet:
    """The contacts of `contacts` that may receive `broadcast` now: eligible for its channel,
    and left out by none of RULES. `phones`: the numbers `contacts` may have, if known."""
    return _left_in(contacts.eligible_for(broadcast.channel), broadcast, RULES, phones)


def may_receive_in_number_order(broadcast: Broadcast, contacts: ContactQuerySet) -> ContactQuerySet:
    """The same contacts as `may_receive`, by the plan for reading them all in the numbers'
    order, as the launch does (ContactQuerySet.eligible_in_number_order)."""
    return _left_in(contacts.eligible_in_number_order(broadcast.channel), broadcast, RULES)


def left_out_by(
    rule: Rule, broadcast: Broadcast, contacts: ContactQuerySet, *, phones: Phones = None
) -> ContactQuerySet:
    """The contacts of `contacts`, eligible for the channel, that `rule` is the first of RULES
    to leave out of `broadcast`."""
    condition = rule.condition(broadcast, phones)
    if condition is None:
        return contacts.none()
    # For a preview, the plan that reads every contact (lists of ids to leave out, which it
    # has the memory to hash), with no regular expression run on each one counted; for a
    # send's few contacts, the definition itself.
    if phones is None:
        eligible = contacts.eligible_in_number_order(broadcast.channel)
    else:
        eligible = contacts.eligible_for(broadcast.channel)
    eligible = eligible.filter(condition)
    return _left_in(eligible, broadcast, RULES[: RULES.index(rule)], phones)


def _left_in(
    contacts: ContactQuerySet, broadcast: Broadcast, rules, phones: Phones = None
) -> ContactQuerySet:
    # One exclude() each: conditions joined by AND, which PostgreSQL plans as anti-joins.
    for condition in _conditions(broadcast, rules, phones):
        contacts = contacts.exclude(condition)
    return contacts


def first_reasons(
    broadcast: Broadcast, contact_ids: list[int], phones: Phones = None
) -> dict[int, str]:
    """For contacts that may not receive `broadcast`, the label of the first reason (the
    contacts' EXCLUSIONS, then RULES) that leaves each out: a query per reason, for the few
    contacts a send finds left out."""
    contacts = Contact.objects.filter(pk__in=contact_ids)
    reasons: dict[int, str] = {}
    for exclusion in EXCLUSIONS:
        for pk in contacts.left_out_by(exclusion, broadcast.channel).values_list("pk", flat=True):
            reasons[pk] = exclusion.label
    for rule in RULES:
        left_out = left_out_by(rule, broadcast, contacts, phones=phones)
        for pk in left_out.values_list("pk", flat=True):
            reasons[pk] = rule.label
    return reasons
