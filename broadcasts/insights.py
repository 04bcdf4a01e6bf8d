"""What the Insights page shows: who each channel may reach now, opt-outs day by day by
where they came from, each broadcast's outcome with the opt-outs that followed it, and the
possible opt-outs waiting for a decision."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, DateTimeField, Exists, ExpressionWrapper, Min, OuterRef
from django.urls import reverse
from django.utils import timezone

from broadcasts.models import Broadcast, OptOutAfter, OutcomeCount, ReachCount, Recipient
from contacts.models import (
    Channel,
    Contact,
    LedgerCount,
    OptInStatus,
    OptOut,
    Source,
    no_consent_on_record,
)
from messaging.models import PossibleOptOut

# --- Reach now ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Contacts in one state of a channel, and the Contacts table's address that lists them."""

    key: str
    label: str
    contacts: int
    url: str


# The groups of a channel's reach, each contact in one: the label, and the Contacts table's
# filters (the channel's, its consent's, the contact's status) that list its contacts. A
# contact subscribed but not active (Do not contact, Archived) is reached by no broadcast.
REACH = {
    "consent": ("Subscribed, consent on record", "subscribed", "on_record", "active"),
    "no_consent": ("Subscribed, no consent on record", "subscribed", "none", "active"),
    "do_not_contact": (
        "Subscribed, but marked Do not contact",
        "subscribed",
        None,
        "do_not_contact",
    ),
    "archived": ("Subscribed, but archived", "subscribed", None, "archived"),
    "soft": ("Opted out (soft)", "soft", None, None),
    "hard": ("Opted out (hard)", "hard", None, None),
}


def count_reach() -> datetime:
    """Count every contact once by what each channel may do with them, and keep the counts
    (ReachCount) with the time they were counted, which it returns."""
    now = timezone.now()
    counts = [
        ReachCount(channel=channel, group=key, contacts=contacts, counted_at=now)
        for channel in Channel
        for key, contacts in _reach_now(channel).items()
    ]
    ReachCount.objects.bulk_create(
        counts, update_conflicts=True, unique_fields=["channel", "group"],
        update_fields=["contacts", "counted_at"],
    )  # fmt: skip
    return now


def _reach_now(channel: Channel) -> dict[str, int]:
    opted_out = dict(
        OptOut.objects.filter(channel=channel)
        .values_list("kind")
        .annotate(n=Count("*"))
        .values_list("kind", "n")
    )
    subscribed = Contact.objects.exclude(opt_outs__channel=channel)
    not_active = dict(
        subscribed.exclude(status=Contact.Status.ACTIVE)
        .order_by()
        .values_list("status")
        .annotate(n=Count("*"))
        .values_list("status", "n")
    )
    no_consent = subscribed.filter(
        no_consent_on_record(channel), status=Contact.Status.ACTIVE
    ).count()
    subscribed_count = Contact.objects.count() - sum(opted_out.values())
    return {
        "consent": subscribed_count - sum(not_active.values()) - no_consent,
        "no_consent": no_consent,
        "do_not_contact": not_active.get(Contact.Status.DO_NOT_CONTACT, 0),
        "archived": not_active.get(Contact.Status.ARCHIVED, 0),
        "soft": opted_out.get(OptOut.SOFT, 0),
        "hard": opted_out.get(OptOut.HARD, 0),
    }


def reach() -> tuple[datetime, dict[Channel, list[Group]]]:
    """Each channel's groups as last counted, and when that was (counted now if they never
    were)."""
    counts = list(ReachCount.objects.all())
    if {(c.channel, c.group) for c in counts} != {(ch, key) for ch in Channel for key in REACH}:
        count_reach()
        counts = list(ReachCount.objects.all())
    found = {(count.channel, count.group): count.contacts for count in counts}
    groups = {
        channel: [
            Group(key, label, found[channel, key], _listing(channel, *filters))
            for key, (label, *filters) in REACH.items()
        ]
        for channel in Channel
    }
    return min(count.counted_at for count in counts), groups


def _listing(channel: Channel, status: str, consent: str | None, contact_status: str | None) -> str:
    query = {channel.value: status}
    if consent:
        query[f"{channel.value}_consent"] = consent
    if contact_status:
        query["status"] = contact_status
    return f"{reverse('contacts:list')}?{urlencode(query)}"


# --- Opt-outs over time ---------------------------------------------------------------------

# Where opt-outs came from, in the order the chart stacks them.
SOURCES = {
    "stop": "STOP reply",
    "digit": "Unsubscribe digit",
    "review": "Possible opt-out confirmed",
    "carrier": "Carrier (error 21610)",
    "page": "Subscriptions page",
    "staff": "Staff (soft)",
    "import": "Import",
    "told": "Asked staff to stop",  # last: the columns of the CSVs before it stay where they were
}
RESUBSCRIBED = "Re-subscribed by the contact"
# The contact's own ways back: START, the digit offered on a call, JOIN, their page. A staff
# member's resubscription undoes a staff member's opt-out, and is not counted.
CONTACTS_OWN = {Source.KEYWORD, Source.DIGIT, Source.JOIN, Source.PAGE}
_BY_SOURCE = {
    Source.DIGIT: "digit",
    Source.CARRIER: "carrier",
    Source.PAGE: "page",
    Source.TOLD: "told",
    Source.USER: "staff",
    Source.IMPORT: "import",
}


def _came_from(source: str, reviewed: bool) -> str | None:
    """Where an opt-out of the ledger's counts came from: a key of SOURCES."""
    if source == Source.KEYWORD:
        return "review" if reviewed else "stop"
    return _BY_SOURCE.get(source)


@dataclass
class Day:
    day: date
    opt_outs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))
    resubscribed: int = 0

    @property
    def total(self) -> int:
        return sum(self.opt_outs.values())


def opt_outs_by_day(first: date, last: date) -> list[Day]:
    """Opt-outs of either channel on each day from `first` to `last` (the site's days), by
    where they came from, and the contacts' own re-subscriptions (CONTACTS_OWN)."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(first, time.min, zone)
    end = datetime.combine(last + timedelta(days=1), time.min, zone)
    days = {first + timedelta(days=n): Day(first + timedelta(days=n))
            for n in range((last - first).days + 1)}  # fmt: skip
    counts = LedgerCount.objects.filter(period__gte=start, period__lt=end)
    for period, source, after, reviewed, changes in counts.values_list(
        "period", "source", "after", "reviewed", "changes"
    ):
        day = days[timezone.localtime(period, zone).date()]
        if after == OptInStatus.SUBSCRIBED:
            day.resubscribed += changes if source in CONTACTS_OWN else 0
        elif (came_from := _came_from(source, reviewed)) is not None:
            day.opt_outs[came_from] += changes
    return list(days.values())


# --- Broadcasts and the opt-outs that followed them -----------------------------------------


@dataclass
class Outcome:
    broadcast: Broadcast
    sent: int
    delivered: int
    failed: int
    opt_outs: int

    @property
    def reached(self) -> int:
        """The messages that reached their numbers: delivered texts; calls placed (a call's
        outcome is not reported back here)."""
        return self.delivered if self.broadcast.channel == Channel.SMS else self.sent

    @property
    def rate(self) -> float | None:
        """Opt-outs per message that reached its number (None before any did)."""
        return self.opt_outs / self.reached if self.reached else None

    @property
    def rate_shown(self) -> str:
        return "—" if self.rate is None else f"{self.rate:.1%}"

    @property
    def flagged(self) -> bool:
        return self.rate is not None and self.rate * 100 > settings.OPT_OUT_RATE_FLAG_PERCENT


def broadcast_outcomes(since: datetime, until: datetime) -> list[Outcome]:
    """The broadcasts launched between `since` and `until`, newest first: how many of their
    messages were sent (handed over, or refused by the provider), delivered and failed, as
    last counted (OutcomeCount; counted now if never), and the opt-outs counted against each."""
    broadcasts = list(
        Broadcast.objects.filter(launched_at__gte=since, launched_at__lt=until).order_by(
            "-launched_at", "-id"
        )
    )
    counts = {c.broadcast_id: c for c in OutcomeCount.objects.filter(broadcast__in=broadcasts)}
    if missing := [b for b in broadcasts if b.pk not in counts]:
        counts |= _count_outcomes(missing)
    opt_outs = dict(
        OptOutAfter.objects.filter(broadcast__in=broadcasts)
        .values_list("broadcast")
        .annotate(n=Count("*"))
        .values_list("broadcast", "n")
        .order_by()
    )
    return [
        Outcome(
            broadcast,
            sent=counts[broadcast.pk].sent,
            delivered=counts[broadcast.pk].delivered,
            failed=counts[broadcast.pk].failed,
            opt_outs=opt_outs.get(broadcast.pk, 0),
        )
        for broadcast in broadcasts
    ]


# The statuses of a message handed to the provider, or refused by it.
HANDED_OVER = [
    Recipient.Status.SENT,
    Recipient.Status.DELIVERED,
    Recipient.Status.FAILED,
    Recipient.Status.UNKNOWN,
]
# A finished broadcast's outcome is counted again for this long: delivery statuses come late.
LATE_STATUSES = timedelta(days=2)


def count_outcomes() -> int:
    """Count the outcome of every launched broadcast whose count may have changed: one never
    counted, one sending, one that finished less than two days before its last count.
    Returns how many were counted."""
    settled = OutcomeCount.objects.filter(
        broadcast=OuterRef("pk"),
        counted_at__gte=ExpressionWrapper(
            OuterRef("finished_at") + LATE_STATUSES, output_field=DateTimeField()
        ),
    )
    due = Broadcast.objects.filter(launched_at__isnull=False).exclude(Exists(settled))
    return len(_count_outcomes(list(due)))


def _count_outcomes(broadcasts: list[Broadcast]) -> dict[int, OutcomeCount]:
    """Count the broadcasts' messages by status (the recipients' index of (broadcast, status)
    answers alone), and keep the counts."""
    now = timezone.now()
    by_status: dict[int, dict[str, int]] = {b.pk: {} for b in broadcasts}
    for broadcast_id, status, n in (
        Recipient.objects.filter(broadcast__in=broadcasts)
        .values_list("broadcast", "status")
        .annotate(n=Count("*"))
        .order_by()
    ):
        by_status[broadcast_id][status] = n
    counts = [
        OutcomeCount(
            broadcast_id=pk,
            sent=sum(statuses.get(status, 0) for status in HANDED_OVER),
            delivered=statuses.get(Recipient.Status.DELIVERED, 0),
            failed=statuses.get(Recipient.Status.FAILED, 0),
            counted_at=now,
        )
        for pk, statuses in by_status.items()
    ]
    OutcomeCount.objects.bulk_create(
        counts, update_conflicts=True, unique_fields=["broadcast"],
        update_fields=["sent", "delivered", "failed", "counted_at"],
    )  # fmt: skip
    return {count.broadcast_id: count for count in counts}


def opt_outs_after(broadcast: Broadcast):
    """The opt-outs counted against `broadcast` (OptOutAfter: a STOP or the digit within 48
    hours after it reached the number, when no later broadcast had), newest first."""
    counted = OptOutAfter.objects.filter(broadcast=broadcast).select_related("event")
    return counted.order_by("-at", "-id")


# --- Waiting for a decision -----------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    count: int
    oldest: datetime | None


def waiting() -> Waiting:
    """The possible opt-outs waiting for review, and when the oldest came."""
    pending = PossibleOptOut.objects.filter(decision=PossibleOptOut.Decision.PENDING)
    found = pending.aggregate(count=Count("pk"), oldest=Min("received_at"))
    return Waiting(found["count"], found["oldest"])
