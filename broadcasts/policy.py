"""The send policy: who a broadcast may reach.

Who may receive a channel at all is the contacts' own rule (contacts.models.EXCLUSIONS). A
broadcast adds rules of its own (RULES, in their order), each a label and the contacts it
leaves out: a number whose possible opt-out waits for review, and, for marketing, the
frequency limits. The preview counts the contacts each leaves out (by the first that holds),
the launch selects those that none does, and each send checks them again just before the
hand-over: one definition, which tests/broadcasts/test_who_receives.py holds the three to.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q

from broadcasts.models import Broadcast
from contacts.models import EXCLUSIONS, Channel, Contact, ContactQuerySet
from messaging.models import PossibleOptOut


@dataclass(frozen=True)
class Rule:
    """A reason a broadcast leaves a contact out: its label, as the preview and a skipped
    recipient show it, and the condition on contacts under which it holds for a broadcast
    (None where it does not apply to that broadcast)."""

    label: str
    condition: Callable[[Broadcast], Q | None]


def _awaiting_review(broadcast: Broadcast) -> Q | None:
    # A message waiting in Possible opt-outs may be a revocation, which the law says must be
    # honoured within 10 business days, however it was worded: its number gets no broadcast
    # of the channel it came by until someone decides.
    if broadcast.channel != Channel.SMS:
        return None
    waiting = PossibleOptOut.objects.filter(decision=PossibleOptOut.Decision.PENDING)
    return Q(phone__in=waiting.values("phone"))


AWAITING_REVIEW = Rule("Possible opt-out awaiting review", _awaiting_review)
RULES = (AWAITING_REVIEW,)


def _conditions(broadcast: Broadcast, rules=RULES) -> list[Q]:
    return [q for rule in rules if (q := rule.condition(broadcast)) is not None]


def may_receive(broadcast: Broadcast, contacts: ContactQuerySet) -> ContactQuerySet:
    """The contacts of `contacts` that may receive `broadcast` now: eligible for its channel,
    and left out by none of RULES."""
    return _left_in(contacts.eligible_for(broadcast.channel), broadcast, RULES)


def may_receive_in_number_order(broadcast: Broadcast, contacts: ContactQuerySet) -> ContactQuerySet:
    """The same contacts as `may_receive`, by the plan for reading them all in the numbers'
    order, as the launch does (ContactQuerySet.eligible_in_number_order)."""
    return _left_in(contacts.eligible_in_number_order(broadcast.channel), broadcast, RULES)


def left_out_by(rule: Rule, broadcast: Broadcast, contacts: ContactQuerySet) -> ContactQuerySet:
    """The contacts of `contacts`, eligible for the channel, that `rule` is the first of RULES
    to leave out of `broadcast`."""
    condition = rule.condition(broadcast)
    if condition is None:
        return contacts.none()
    eligible = contacts.eligible_for(broadcast.channel).filter(condition)
    return _left_in(eligible, broadcast, RULES[: RULES.index(rule)])


def _left_in(contacts: ContactQuerySet, broadcast: Broadcast, rules) -> ContactQuerySet:
    # One exclude() each: conditions joined by AND, which PostgreSQL plans as anti-joins.
    for condition in _conditions(broadcast, rules):
        contacts = contacts.exclude(condition)
    return contacts


def first_reasons(broadcast: Broadcast, contact_ids: list[int]) -> dict[int, str]:
    """For contacts that may not receive `broadcast`, the label of the first reason (the
    contacts' EXCLUSIONS, then RULES) that leaves each out: a query per reason, for the few
    contacts a send finds left out."""
    contacts = Contact.objects.filter(pk__in=contact_ids)
    reasons: dict[int, str] = {}
    for exclusion in EXCLUSIONS:
        for pk in contacts.left_out_by(exclusion, broadcast.channel).values_list("pk", flat=True):
            reasons[pk] = exclusion.label
    for rule in RULES:
        for pk in left_out_by(rule, broadcast, contacts).values_list("pk", flat=True):
            reasons[pk] = rule.label
    return reasons
