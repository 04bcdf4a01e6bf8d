"""Contacts and their consent, one row per opt-out.

A channel's Opt-In Status is derived from `OptOut`: no row means subscribed; a row says soft
(a platform user changed it) or hard (the contact's own action). A hard opt-out also belongs to
the phone number (`PhoneOptOut`); the database copies it onto every contact that has or gets
that number, and carries it to the new number of a contact that held it. `ConsentEvent` is the
append-only ledger of every change; `OptIn`, each contact's own new consent, its proof.

Database triggers (migration 0013) refuse anything that would reverse a hard opt-out; all
legitimate writes go through `contacts.services`.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Now
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.text import capfirst

from contacts import signals
from contacts.phones import VALID_PHONE, PhoneField, format_phone
from contacts.places import STATE_CHOICES, validate_time_zone


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    CALLS = "calls", "Calls & Voicemails"


class OptInStatus(models.TextChoices):
    SUBSCRIBED = "subscribed", "Subscribed"
    SOFT = "soft", "Opted out (soft)"
    HARD = "hard", "Opted out (hard)"


class ChannelFilter(models.TextChoices):
    """The ways to filter contacts by one channel's status."""

    SUBSCRIBED = "subscribed", "Subscribed"
    OPTED_OUT = "opted_out", "Any opt-out"
    SOFT = "soft", "Opted out (soft)"
    HARD = "hard", "Opted out (hard)"


class Source(models.TextChoices):
    """Who or what changed a channel's status."""

    USER = "user", "a platform user"
    IMPORT = "import", "an import"
    KEYWORD = "keyword", "an SMS reply"
    DIGIT = "digit", "a key pressed on a call"
    CARRIER = "carrier", "the carrier"
    CARRIED = "carried", "a change of number"
    # A reply asking to receive texts (JOIN): it lifts soft opt-outs of SMS, never a hard one.
    JOIN = "join", "a reply asking to join"
    # The contact's own subscriptions page, opened by a signed link (contacts.subscriptions).
    PAGE = "page", "the contact's subscriptions page"
    # The contact asked staff to stop, by a call, in person or in writing: revoked by "any
    # reasonable means" (47 CFR 64.1200(a)(10)), recorded by the staff member who heard it.
    TOLD = "told", "the contact, told to staff"


# The sources of hard opt-outs: the contact's own actions, and an import of opt-outs the
# contact made elsewhere (another system's STOP list). A number's opt-out carried over to the
# contact's new number (Source.CARRIED) is written by the database alone (migration 0013).
CONTACT_ACTIONS = (
    Source.KEYWORD, Source.DIGIT, Source.CARRIER, Source.PAGE, Source.TOLD, Source.IMPORT,
)  # fmt: skip


# How a possible opt-out that staff confirmed names its rule in the ledger ("confirmed in
# review by ana"): the Insights page counts these apart (LedgerCount.reviewed).
CONFIRMED_IN_REVIEW = "confirmed in review"

# The longest description kept of the rule that read a contact's words as a revocation
# ("keyword STOP with “please”": messaging.keywords), on opt-outs of numbers and the ledger.
MATCHED_LENGTH = 200

# Why a hard opt-out stays, in the words of every message and page that says it.
ONLY_THE_CONTACT = "only the contact can undo it"


def pressed(key: str) -> str:
    """How a key pressed on a call is kept as the caller's words: "pressed 9"."""
    return f"pressed {key}"


def is_pressed_key(words: str) -> bool:
    """Whether `words` say that a key of the phone (settings.PHONE_KEYS) was pressed."""
    key = words.removeprefix("pressed ")
    return key != words and len(key) == 1 and key in settings.PHONE_KEYS


class HardOptOutError(ValidationError):
    """Raised when something tries to reverse a hard opt-out (ONLY_THE_CONTACT)."""


class OptOutScope(models.TextChoices):
    """How far a contact's own opt-out reaches (settings.OPT_OUT_SCOPE)."""

    CHANNEL = "channel", "the channel it came in"
    ALL = "all", "every channel of the number"


def scope_all_from() -> date | None:
    """The day from which every opt-out's scope is "all" (settings.OPT_OUT_SCOPE_ALL_FROM), or
    None ("never", or empty in a test's settings); ValueError when the setting is not an ISO
    date."""
    text = settings.OPT_OUT_SCOPE_ALL_FROM
    return date.fromisoformat(text) if text and text.lower() != "never" else None


def channels_in_words(channels) -> str:
    """`channels` (values or Channels) as people read them, in Channel's order: "SMS", "SMS and
    Calls & Voicemails"."""
    chosen = set(channels)
    return " and ".join(channel.label for channel in Channel if channel in chosen)


def channels_revoked(channel: str, at: datetime | None = None) -> tuple[Channel, ...]:
    """The channels that a contact's own opt-out of `channel` at `at` (now) covers, `channel`
    first: that one alone, or every channel when the scope is "all" (the FCC's revoke-all rule,
    47 CFR 64.1200(a)(10)): OPT_OUT_SCOPE "all", or `at` on or after the day
    OPT_OUT_SCOPE_ALL_FROM, in UTC."""
    at = at or timezone.now()
    try:
        all_from = scope_all_from()
    except ValueError:
        # A setting that messaging.checks refuses (in a process started without the checks)
        # reads as "all": a typo may widen a revocation, never narrow it.
        all_from = date.min
    narrow = settings.OPT_OUT_SCOPE == OptOutScope.CHANNEL
    if narrow and (all_from is None or at.astimezone(UTC).date() < all_from):
        return (Channel(channel),)
    return (Channel(channel), *(other for other in Channel if other != channel))


# The months as Django's "M" writes them in English, the app's one language.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_date(moment: datetime) -> str:
    """E.g. "26 Nov 2026" in the site's time zone (TIME_ZONE; the app activates no other):
    Django's "j M Y", without the cost of date_format(), which a page of tooltips paid a
    hundred times, or of looking up the current time zone and translating the month each
    time, which was still half the cost of drawing a page's rows (bench/NOTES.md)."""
    day = moment.astimezone(timezone.get_default_timezone())
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


class Tag(models.Model):
    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def load_consent(contacts: list["Contact"], tags: list["Tag"]) -> None:
    """Give loaded contacts what with_consent() prefetches (`opt_out_list`, `tag_list`, each
    contact's tags in the order of `tags`: every tag, which the Contacts page has read for its
    filter) and their number's newest consent on record for each channel (`consent_list`),
    in one plain query: the contacts, each with its opt-outs (and who made them), its links to
    tags and its consent, and what else holds its number back (`held`, as load_holds). Written
    as SQL: through the ORM, even without its prefetching machinery, the opt-outs and the tags
    made every page slower (bench/NOTES.md); and a query more for the consent or the holds
    would pass the page's statements (≤ 8, issue 22)."""
    by_id = {contact.pk: contact for contact in contacts}
    for contact in contacts:
        contact.opt_out_list, contact.tag_list, contact.consent_list = [], [], []
        contact.reassigned_at, contact.held = None, frozenset()
    if not contacts:
        return
    user = get_user_model()
    ids = ", ".join(["%s"] * len(by_id))
    # Each contact of the page with its number's newest consent to each channel, worked out
    # once a contact (in the derived table), not once for each of its opt-outs and tags.
    records = ConsentRecord._meta.db_table
    consent_columns, consent_joins = [], []
    for channel in Channel:
        consent_columns += [f"{channel}_consent.{name} AS {channel}_consent_{name}"
                            for name in CONSENT_COLUMNS]  # fmt: skip
        consent_joins.append(
            f" LEFT JOIN {records} {channel}_consent ON {channel}_consent.id = ("
            f"SELECT r.id FROM {records} r WHERE r.phone = p.phone AND r.channel = '{channel}'"
            f" AND r.status = 'confirmed' ORDER BY r.given_at DESC, r.id DESC LIMIT 1)"
        )
    reported = (
        f"(SELECT MAX(r.reported_at) FROM {ReassignedNumber._meta.db_table} r"
        " WHERE r.phone = p.phone) AS reassigned_at"
    )
    page = (
        f"SELECT p.id, p.phone, {', '.join(consent_columns)}, {reported}"
        f" FROM {Contact._meta.db_table} p{''.join(consent_joins)} WHERE p.id IN ({ids})"
    )
    consent_names = [f"page.{channel}_consent_{name}" for channel in Channel
                     for name in CONSENT_COLUMNS] + ["page.reassigned_at"]  # fmt: skip
    holds, holds_params = _holds_sql()
    held_join = f" LEFT JOIN ({holds}) held ON held.phone = page.phone" if holds else ""
    held_column = "held.channels" if holds else "NULL"
    # A row for each opt-out, link and hold of a contact (each kind is few), or one of NULLs.
    rows = OptOut.objects.raw(
        f"SELECT opt_out.*, actor.{user.USERNAME_FIELD} AS actor_name,"
        f" link.contact_id AS linked_contact_id, link.tag_id AS linked_tag_id,"
        f" page.id AS page_id, {', '.join(consent_names)}, {held_column} AS held_channels"
        f" FROM ({page}) page"
        f" LEFT JOIN {OptOut._meta.db_table} opt_out ON opt_out.contact_id = page.id"
        f" LEFT JOIN {user._meta.db_table} actor ON actor.id = opt_out.actor_id"
        f" LEFT JOIN {Contact.tags.through._meta.db_table} link ON link.contact_id = page.id"
        f"{held_join}",
        [*by_id, *holds_params],
    )
    actors = {None: None}  # who made each soft opt-out, for its tooltip: only their names
    opt_outs, links, consents = set(), set(), set()
    held: dict[int, set[str]] = {}
    for row in rows:
        if row.page_id not in consents:
            consents.add(row.page_id)
            by_id[row.page_id].consent_list = _consent_of(row)
            by_id[row.page_id].reassigned_at = _aware(row.reassigned_at)
        if row.held_channels:
            held.setdefault(row.page_id, set()).add(row.held_channels)
        if row.linked_tag_id is not None:
            links.add((row.linked_contact_id, row.linked_tag_id))
        if row.pk is None or row.pk in opt_outs:
            continue
        opt_outs.add(row.pk)
        if row.actor_id not in actors:
            actors[row.actor_id] = user(pk=row.actor_id, **{user.USERNAME_FIELD: row.actor_name})
        row.actor = actors[row.actor_id]
        by_id[row.contact_id].opt_out_list.append(row)
    for contact_id, channels in held.items():
        by_id[contact_id].held = _held(channels)
    place = {tag.pk: place for place, tag in enumerate(tags)}  # a tag newer than `tags`: none
    for contact_id, tag_id in sorted(links, key=lambda link: place.get(link[1], -1)):
        if tag_id in place:
            by_id[contact_id].tag_list.append(tags[place[tag_id]])


# What a contact's tooltips say of its consent (ConsentShown).
CONSENT_COLUMNS = ("method", "words", "given_at")


class ConsentShown(NamedTuple):
    """What a tooltip says of a number's newest consent to a channel, as load_consent reads
    it with the page's rows: cheaper than a ConsentRecord built for each."""

    channel: str
    method: str
    words: str
    given_at: datetime

    @property
    def how(self) -> str:
        return consent_how(self.method, self.words)

    def describe(self) -> str:
        return f"{self.how} on {short_date(self.given_at)}"


def _consent_of(row) -> list[ConsentShown]:
    """The consent in a row of load_consent's query: the newest of each channel, if any."""
    found = []
    for channel in Channel:
        given_at = _aware(getattr(row, f"{channel}_consent_given_at"))
        if given_at is None:
            continue
        method = getattr(row, f"{channel}_consent_method")
        words = getattr(row, f"{channel}_consent_words")
        found.append(ConsentShown(channel, method, words, given_at))
    return found


def _aware(moment: datetime | str | None) -> datetime | None:
    """A time read by raw SQL: SQLite's is text, in UTC."""
    if isinstance(moment, str):
        moment = parse_datetime(moment)
    if moment is not None and timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


def load_consent_records(contacts: list["Contact"]) -> None:
    """Give each contact its number's consent on record (`consent_list`, newest first) and
    when its number was last reported reassigned (`reassigned_at`), for all of them in two
    queries."""
    phones = {contact.phone for contact in contacts}
    records = ConsentRecord.objects.filter(
        phone__in=phones, status=ConsentRecord.Status.CONFIRMED
    ).order_by("-given_at", "-id")
    by_phone: dict[str, list[ConsentRecord]] = {}
    for record in records:
        by_phone.setdefault(record.phone, []).append(record)
    reports = ReassignedNumber.objects.filter(phone__in=phones).values("phone")
    reported = dict(reports.annotate(at=models.Max("reported_at")).values_list("phone", "at"))
    for contact in contacts:
        contact.consent_list = by_phone.get(contact.phone, [])
        contact.reassigned_at = reported.get(contact.phone)


def _holds() -> list[models.QuerySet]:
    """What holds numbers back beside their opt-outs, as the apps above answer (a reply
    waiting for review): querysets of "phone" and "channels" (signals.holds_wanted)."""
    return [answer for _, answer in signals.holds_wanted.send(sender=Contact)]


def _holds_sql() -> tuple[str, list]:
    """The holds as one SQL query of "phone" and "channels", with its parameters."""
    parts = [holds.values("phone", "channels").query.sql_with_params() for holds in _holds()]
    return " UNION ALL ".join(sql for sql, _ in parts), [p for _, params in parts for p in params]


def _held(channels: set[str]) -> frozenset[str]:
    """The channels held back by holds of `channels` ("sms", "sms calls"), with the scope."""
    return frozenset(
        each for text in channels for channel in text.split() for each in channels_revoked(channel)
    )


def load_holds(contacts: list["Contact"]) -> None:
    """Give each contact the channels held back beside its opt-outs and its status (`held`:
    a reply of its number waiting for review), a query for all (load_consent reads them with
    the Contacts table's page)."""
    phones = {contact.phone for contact in contacts}
    held: dict[str, set[str]] = {}
    for holds in _holds():
        for phone, channels in holds.filter(phone__in=phones).values_list("phone", "channels"):
            held.setdefault(phone, set()).add(channels)
    for contact in contacts:
        contact.held = _held(held.get(contact.phone, set()))


@dataclass(frozen=True)
class Exclusion:
    """A reason that leaves a contact out of a channel: its label, as a broadcast's preview
    shows it, and the condition on a contact under which it holds."""

    label: str
    condition: Callable[[str], Q]

    def of(self, channel: str) -> Q:
        return self.condition(channel)


class ContactQuerySet(models.QuerySet):
    def with_consent(self) -> "ContactQuerySet":
        """With each contact's opt-outs (and who made them) and tags, two queries a batch,
        as plain lists (`opt_out_list`, `tag_list`): per contact, a related manager's
        prefetched queryset costs more than the page's SQL. The Contacts table, which reads
        every tag anyway, loads them with `load_consent` instead."""
        opt_outs = OptOut.objects.select_related("actor")
        return self.prefetch_related(
            models.Prefetch("opt_outs", queryset=opt_outs, to_attr="opt_out_list"),
            models.Prefetch("tags", to_attr="tag_list"),
        )

    def eligible_for(self, channel: str) -> "ContactQuerySet":
        """Who may receive `channel` now: the contacts that no exclusion leaves out
        (EXCLUSIONS: subscribed to it, active, with a valid phone)."""
        return self._left_in(EXCLUSIONS, channel)

    def left_out_by(self, exclusion: Exclusion, channel: str) -> "ContactQuerySet":
        """The contacts that `exclusion` is the first of EXCLUSIONS to leave out of
        `channel`: each contact left out is left out by exactly one."""
        earlier = EXCLUSIONS[: EXCLUSIONS.index(exclusion)]
        return self.filter(exclusion.of(channel))._left_in(earlier, channel)

    def _left_in(self, exclusions: tuple[Exclusion, ...], channel: str) -> "ContactQuerySet":
        contacts = self
        if {HARD_OPT_OUT, SOFT_OPT_OUT} <= set(exclusions):
            # Both kinds are every opt-out of the channel: one NOT EXISTS rather than two
            # (bench/NOTES.md).
            contacts = contacts.subscribed_to(channel)
            exclusions = tuple(e for e in exclusions if e not in (HARD_OPT_OUT, SOFT_OPT_OUT))
        # One exclude() each: conditions joined by AND, which PostgreSQL plans as anti-joins
        # (NOT of an OR of them, it would check row by row).
        for exclusion in exclusions:
            contacts = contacts.exclude(exclusion.of(channel))
        return contacts

    def eligible_in_number_order(self, channel: str) -> "ContactQuerySet":
        """The contacts of `eligible_for(channel)`, written for reading them all in the
        numbers' order, as a broadcast's launch does: the same set by another plan
        (tests/broadcasts/test_who_receives.py holds the two together).

        The opt-outs and the invalid phones (a partial index, on PostgreSQL) are lists of ids
        to leave out, which PostgreSQL hashes given the memory, rather than anti-joins: the
        (phone, id, status) index is then read in order, with no sort and no regular
        expression per contact (bench/NOTES.md).
        """
        opted_out = OptOut.objects.filter(channel=channel).values("contact_id")
        invalid = Contact.objects.exclude(phone__regex=VALID_PHONE).values("pk")
        return (
            self.filter(status=Contact.Status.ACTIVE)
            .exclude(pk__in=opted_out)
            .exclude(pk__in=invalid)
        )

    def with_status(self, channel: str, status: str) -> "ContactQuerySet":
        """Contacts whose `channel` is in `status`: a ChannelFilter value."""
        match status:
            case ChannelFilter.SUBSCRIBED:
                return self.subscribed_to(channel)
            case ChannelFilter.OPTED_OUT:
                return self.opted_out_of(channel)
            case ChannelFilter.SOFT | ChannelFilter.HARD:
                return self.opted_out_of(channel, status)
        raise ValueError(f"Unknown channel status {status!r}.")

    def opted_out_of(self, channel: str, kind: str | None = None) -> "ContactQuerySet":
        rows = OptOut.objects.filter(channel=channel)
        if kind:
            rows = rows.filter(kind=kind)
        return self.filter(contacts_in(rows))

    def subscribed_to(self, channel: str) -> "ContactQuerySet":
        return self.exclude(contacts_in(OptOut.objects.filter(channel=channel)))


def contacts_in(rows: models.QuerySet) -> Q:
    """The contacts that `rows` (of a table with a `contact`: opt-outs, links to tags) name.

    EXISTS for each contact, which PostgreSQL joins from either side. SQLite tests an EXISTS
    row by row: given the ids IN a list instead, it can also start from the list, and did
    for a tag with soft opt-outs of SMS in email order, 22 ms rather than 123 (bench/NOTES.md).
    """
    if connection.vendor == "sqlite":
        return Q(pk__in=rows.values("contact_id"))
    return Q(Exists(rows.filter(contact=OuterRef("pk"))))


class Contact(models.Model):
    class Status(models.TextChoices):
        """The overall contact status, beside (not replaced by) the per-channel opt-ins."""

        ACTIVE = "active", "Active"
        DO_NOT_CONTACT = "do_not_contact", "Do not contact"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=200)
    phone = PhoneField()
    email = models.EmailField(blank=True)
    # Where the contact is, where the number does not say it rightly (contacts.places): a
    # database default too, for the rows written in SQL (the import, seed_demo).
    time_zone = models.CharField(
        max_length=64, blank=True, default="", db_default="", validators=[validate_time_zone],
        help_text="An IANA time zone, such as America/Chicago; empty: the phone number's.",
    )  # fmt: skip
    state = models.CharField(
        max_length=2, blank=True, default="", db_default="", choices=STATE_CHOICES,
        verbose_name="US state", help_text="Empty: the phone number's.",
    )  # fmt: skip
    # Links are not foreign-key constraints, checked at commit for each of an import's links:
    # the app deletes a contact's or a tag's links with it (bench/NOTES.md has the figures).
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts", db_constraint=False)
    status = models.CharField(max_length=20, choices=Status, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Whether the contact's number has consent on record for each channel (a given consent
    # record, ConsentRecord): the database's word, never a writer's. Its triggers work it out
    # when a contact is added or changes number, and for a number's contacts when its records
    # change (contacts/guard/). Read where every contact is counted or selected (a broadcast's
    # preview and launch, the table's filter, Insights); a send checks the records themselves.
    sms_consent_on_record = models.BooleanField(default=False, db_default=False, editable=False)
    calls_consent_on_record = models.BooleanField(default=False, db_default=False, editable=False)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="contact_name"),
            models.Index(fields=["email", "id"], name="contact_email"),
            # The Status column's order, and the Status filter's rows in name order: sorted
            # by status, a page was several times slower without it (bench/NOTES.md).
            models.Index(fields=["status", "name", "id"], name="contact_status"),
            # With id, status and consent, a broadcast's preview and launch check the contacts
            # in the numbers' order from this index alone.
            models.Index(
                fields=[
                    "phone",
                    "id",
                    "status",
                    "sms_consent_on_record",
                    "calls_consent_on_record",
                ],
                name="contact_phone",
            ),
            # The few contacts that are not active, which a broadcast's preview counts.
            models.Index(fields=["id"], name="contact_inactive", condition=~Q(status="active")),
            # The contacts without consent on record for a channel, which a broadcast's
            # preview counts: with their status, from the index alone (PostgreSQL).
            models.Index(
                fields=["id"],
                include=["status"],
                name="contact_no_sms_consent",
                condition=Q(sms_consent_on_record=False),
            ),
            models.Index(
                fields=["id"],
                include=["status"],
                name="contact_no_calls_consent",
                condition=Q(calls_consent_on_record=False),
            ),
            # The few contacts with a time zone or state of their own, whose places a
            # broadcast's preview looks at before counting who quiet hours defer.
            models.Index(
                fields=["time_zone", "state"],
                name="contact_own_place",
                condition=~Q(time_zone="", state=""),
            ),
        ]
        permissions = [
            ("change_subscription", "Can unsubscribe (soft) and resubscribe contacts"),
            ("record_request_to_stop", "Can record a contact's request to stop, told to staff"),
            ("import_contacts", "Can import contacts"),
            ("export_contact", "Can export contacts as CSV"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone})"

    def get_absolute_url(self) -> str:
        return reverse("contacts:detail", args=[self.pk])

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)

    def opt_out_for(self, channel: str) -> "OptOut | None":
        # The rows with_consent() loaded, or those of prefetch_related("opt_outs"), if any.
        rows = getattr(self, "opt_out_list", None)
        if rows is None:
            rows = self.opt_outs.all()
        return next((row for row in rows if row.channel == channel), None)

    def opt_in_status(self, channel: str) -> OptInStatus:
        row = self.opt_out_for(channel)
        return OptInStatus(row.kind) if row else OptInStatus.SUBSCRIBED

    def reported_reassigned_at(self) -> datetime | None:
        """When its number was last reported reassigned, if it was: from load_consent or
        load_consent_records, else from the database."""
        if getattr(self, "consent_list", None) is None or not hasattr(self, "reassigned_at"):
            load_consent_records([self])
        return self.reassigned_at

    def held_back(self, channel: str) -> bool:
        """Whether a reply of its number waiting for review holds `channel` back: from
        load_holds, else from the database."""
        if getattr(self, "held", None) is None:
            load_holds([self])
        return channel in self.held

    def consent_for(self, channel: str) -> "ConsentRecord | ConsentShown | None":
        """The newest consent on record for `channel` of the contact's number, if any: from
        those load_consent_records() read, else from the database."""
        records = getattr(self, "consent_list", None)
        if records is None:
            load_consent_records([self])
            records = self.consent_list
        return next((record for record in records if record.channel == channel), None)


class StatusChange(models.Model):
    """A change of a contact's overall status, who made it and how ("edited on the contact's
    page", "imported from leads.csv"): a contact not active gets no broadcast, so making one
    active again is kept, as the consent ledger keeps each channel's changes."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="status_changes")
    before = models.CharField(max_length=20, choices=Contact.Status)
    after = models.CharField(max_length=20, choices=Contact.Status)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    how = models.CharField(max_length=300)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        who = f" by {self.by.get_username()}" if self.by else ""
        return f"{self.get_before_display()} → {self.get_after_display()}{who}, {self.how}"


class PhoneCount(models.Model):
    """How many contacts have each phone number, kept by database triggers (migration 0007).

    A broadcast sends one message per number. Its preview counts the duplicates among the few
    numbers that more than one contact has, found in this table's partial index rather than
    by grouping every contact. A number no contact has any more keeps its row, at 0.
    """

    phone = models.CharField(max_length=16, primary_key=True)
    contacts = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["phone"], condition=models.Q(contacts__gt=1), name="shared_phone")
        ]

    def __str__(self) -> str:
        return f"{self.phone}: {self.contacts} contacts"


class OptOut(models.Model):
    """A contact's opt-out of one channel. Without a row the contact is subscribed to it."""

    SOFT = OptInStatus.SOFT
    HARD = OptInStatus.HARD

    # Indexed first in one_opt_out_per_channel.
    contact = models.ForeignKey(
        Contact, on_delete=models.DB_CASCADE, related_name="opt_outs", db_index=False
    )
    channel = models.CharField(max_length=10, choices=Channel)
    kind = models.CharField(max_length=10, choices=[(k.value, k.label) for k in (SOFT, HARD)])
    opted_out_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=Source)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DB_SET_NULL,
        related_name="+",
        help_text="The platform user, for a soft opt-out.",
    )
    words = models.TextField(blank=True, help_text="The contact's own words, where there were any.")
    phone = models.CharField(
        max_length=16, blank=True, default="", db_default="",
        help_text="For a hard opt-out, the number whose opt-out it is.",
    )  # fmt: skip
    inherited = models.BooleanField(
        default=False, db_default=False,
        help_text="The number had opted out before this contact had it.",
    )  # fmt: skip

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "channel"], name="one_opt_out_per_channel"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["soft", "hard"]), name="opt_out_kind_is_known"
            ),
        ]
        # Lookups of contacts' opt-outs of one channel and kind (the Contacts table filtered
        # by "SMS: opted out (hard)", say), and of one channel (a broadcast's preview).
        indexes = [
            models.Index(
                fields=["contact"],
                condition=models.Q(channel=channel, kind=kind),
                name=f"opt_out_{channel}_{kind}",
            )
            for channel in Channel.values
            for kind in ("soft", "hard")
        ] + [
            models.Index(
                fields=["contact"], condition=models.Q(channel=channel), name=f"opt_out_{channel}"
            )
            for channel in Channel.values
        ]

    def __str__(self) -> str:
        return f"{self.message} ({self.kind})"

    @property
    def is_hard(self) -> bool:
        return self.kind == self.HARD

    @property
    def message(self) -> str:
        """What users are shown, e.g. "Opted out of SMS"."""
        return f"Opted out of {Channel(self.channel).label}"

    @property
    def cause(self) -> str:
        """Who or what opted the contact out, e.g. "replied “STOP”", or for an opt-out the
        contact's number had before the contact, "(415) 555-0101 replied “STOP”"."""
        if self.kind == self.SOFT:
            return f"by {self.actor.get_username()}" if self.actor else "by a platform user"
        if self.inherited and self.phone:
            return number_cause(self.source, self.words, self.phone)
        return hard_cause(self.source, self.words)

    def describe(self, phone: str = "") -> str:
        """E.g. "Opted out of SMS: replied “STOP” on 20 Nov 2026.". `phone`, the contact's
        number now, tells an opt-out that the contact carried over from its old number."""
        cause, when = self.cause, f"on {short_date(self.opted_out_at)}"
        if self.is_hard and not self.inherited and self.phone and phone and self.phone != phone:
            cause += f" from {format_phone(self.phone)}"
            when += ", carried over to this number"
        if self.inherited and self.phone:
            when += " (before this contact had the number)"
        return f"{self.message}: {cause} {when}."

    @property
    def ends_when(self) -> str:
        """How a hard opt-out ends: only by the number's own new consent (or, for one the
        contact inherited with its number, when the contact's number changes)."""
        if self.channel == Channel.SMS:
            ends = "It ends when the number replies START"
        else:
            ends = f"It ends when a call from the number presses {settings.RESUBSCRIBE_DIGIT}"
        if self.inherited:
            ends += ", or for this contact, when its number changes"
        return ends + "."


def hard_cause(source: str, words: str) -> str:
    """What the contact behind a number did, e.g. "replied “STOP”"; for an opt-out carried
    over to a new number, `words` is the number it came from."""
    match source:
        case Source.KEYWORD:
            return f"replied “{words.strip() or 'STOP'}”"
        case Source.DIGIT:
            return "pressed the unsubscribe digit"
        case Source.CARRIER:
            return "was reported by the carrier"
        case Source.CARRIED:
            return f"carried over from {format_phone(words)} when the number changed"
        case Source.PAGE:
            return "unsubscribed on their subscriptions page"
        case Source.TOLD:
            return f"asked us to stop: “{words.strip()}”"
    return "imported as opted out"


def number_cause(source: str, words: str, phone: str) -> str:
    """What happened to the number `phone`, as a sentence that names it, e.g. "(415)
    555-0101 replied “STOP”", "a call from (415) 555-0101 pressed the unsubscribe digit"."""
    number = format_phone(phone)
    match source:
        case Source.DIGIT:
            return f"a call from {number} pressed the unsubscribe digit"
        case Source.CARRIER:
            return f"the carrier reported {number} opted out"
        case Source.CARRIED:
            return f"{number} had an opt-out carried over from {format_phone(words)}"
    return f"{number} {hard_cause(source, words)}"


class PhoneOptOut(models.Model):
    """A hard opt-out of a phone number: it holds for every contact, now or later, with it."""

    phone = models.CharField(max_length=16)
    channel = models.CharField(max_length=10, choices=Channel)
    opted_out_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=Source)
    words = models.TextField(blank=True)
    matched = models.CharField(
        max_length=MATCHED_LENGTH, blank=True, default="", db_default="",
        help_text="For a revocation in the contact's words, the rule that read it so.",
    )  # fmt: skip

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["phone", "channel"], name="one_opt_out_per_number")
        ]
        verbose_name = "phone number opt-out"

    def __str__(self) -> str:
        return f"{self.phone} opted out of {Channel(self.channel).label}"

    @property
    def cause(self) -> str:
        """What the number did, e.g. "(415) 555-0101 replied “STOP”"."""
        return capfirst(number_cause(self.source, self.words, self.phone))


def _opted_out(kind: str) -> Callable[[str], Q]:
    def condition(channel: str) -> Q:
        opt_outs = OptOut.objects.filter(contact=OuterRef("pk"), channel=channel, kind=kind)
        return Q(Exists(opt_outs))

    return condition


HARD_OPT_OUT = Exclusion("Opted out of this channel (hard)", _opted_out(OptOut.HARD))
SOFT_OPT_OUT = Exclusion("Opted out of this channel (soft)", _opted_out(OptOut.SOFT))
NOT_ACTIVE = Exclusion(
    "Marked “Do not contact” or archived", lambda channel: ~Q(status=Contact.Status.ACTIVE)
)
NO_VALID_PHONE = Exclusion("No or invalid phone", lambda channel: ~Q(phone__regex=VALID_PHONE))
# Who may receive a channel is every contact that none of these leaves out: the one
# definition that a broadcast's preview counts (by the first that holds, in this order), its
# launch selects and each send checks again (`ContactQuerySet.eligible_for`). A number's own
# opt-out is copied onto every contact that has the number (the guard), so it is
# HARD_OPT_OUT here; a send checks the number it was given as well.
EXCLUSIONS = (HARD_OPT_OUT, SOFT_OPT_OUT, NOT_ACTIVE, NO_VALID_PHONE)


# The replies that are an SMS opt-in: case, and the spaces and punctuation around them,
# ignored. The database compares them the same way (contacts migration 0013, messaging 0002):
# the same characters trimmed, and ASCII letters, which upper-case alike everywhere.
OPT_IN_WORDS = ("START", "UNSTOP", "YES")
OPT_IN_PUNCTUATION = (
    " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
    ".,;:!?¡¿'\"()[]{}-_*~…"
)


def opt_in_words(reply: str) -> str:
    """A reply as it is compared with OPT_IN_WORDS: " Start! " -> "START"; "" unless the word
    left is ASCII."""
    word = reply.strip(OPT_IN_PUNCTUATION)
    return word.upper() if word.isascii() else ""


class OptIn(models.Model):
    """A contact's own new consent to a channel, as it arrived: an SMS START from the number,
    or on a call from the number, the digit offered for receiving calls again.

    It is the proof that lifts the number's hard opt-out. The database checks what it says
    (the channel's keyword or digit, and the stored webhook event it came in), keeps it
    unchanged, and lets it lift opt-outs once, before it is applied (on PostgreSQL, in the
    transaction that records it): contacts migration 0013, messaging 0002.
    """

    phone = models.CharField(max_length=16)
    channel = models.CharField(max_length=10, choices=Channel)
    source = models.CharField(max_length=10, choices=Source)
    words = models.TextField(help_text="The reply, or the digit pressed.")
    reference = models.CharField(
        max_length=200, unique=True, help_text="The key of the stored webhook event it came in."
    )
    at = models.DateTimeField(default=timezone.now)
    applied = models.BooleanField(default=False, db_default=False)

    class Meta:
        verbose_name = "opt-in"

    def __str__(self) -> str:
        return f"{self.phone} opted in to {Channel(self.channel).label}: {self.words}"


class Disclosure(models.Model):
    """The words a contact sees when agreeing to receive texts or calls: on a sign-up form, a
    paper form, a sign at the desk, or read out on the phone.

    Never changed once written: editing a disclosure adds its next version (`revise`), so that
    a consent record keeps the very words its contact agreed to.
    """

    title = models.CharField(
        max_length=100, help_text="Where it is shown, e.g. “Website sign-up form”."
    )
    version = models.PositiveIntegerField(default=1)
    text = models.TextField(help_text="The words, exactly as the contact sees or hears them.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip

    class Meta:
        ordering = ["title", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["title", "version"], name="one_disclosure_version")
        ]

    def __str__(self) -> str:
        return f"{self.title} (version {self.version})"

    def written_after(self, given_at: datetime) -> str:
        """Why a consent given at `given_at` cannot have been given to these words, which were
        written later; "" if it can. A consent known by its day alone (given at the start of
        the day, in the site's time zone) may have been given at any time of it."""
        day = timezone.localdate(given_at)
        if timezone.localtime(given_at).time() == time.min:
            too_new = timezone.localdate(self.created_at) > day
        else:
            too_new = self.created_at > given_at
        if not too_new:
            return ""
        return (
            f"{self} was written on {short_date(self.created_at)}, after the consent was given "
            f"({short_date(given_at)}): name the version the contact saw then."
        )

    def revise(self, text: str, by_user) -> "Disclosure":
        """Its next version, with `text`: this one stays as it was."""
        latest = Disclosure.objects.filter(title=self.title).order_by("-version").first()
        return Disclosure.objects.create(
            title=self.title, version=latest.version + 1, text=text, created_by=by_user
        )

    @classmethod
    def current(cls) -> list["Disclosure"]:
        """The newest version of each disclosure, by title."""
        newest = cls.objects.filter(title=OuterRef("title")).order_by("-version").values("pk")[:1]
        return list(cls.objects.filter(pk=models.Subquery(newest)).order_by("title"))


class ConsentMethod(models.TextChoices):
    """How a contact agreed to receive a channel."""

    KEYWORD = "keyword", "Keyword reply"
    WEB_FORM = "web_form", "Web form"
    PAPER = "paper", "Paper or in person"
    VERBAL = "verbal", "Verbal"
    IMPORT = "import", "Import from another system"


# How each method reads in a sentence: "Subscribed to SMS: agreed verbally on 3 Dec 2026".
CONSENT_HOW = {
    ConsentMethod.WEB_FORM: "signed up on a web form",
    ConsentMethod.PAPER: "agreed on paper or in person",
    ConsentMethod.VERBAL: "agreed verbally",
    ConsentMethod.IMPORT: "consent imported from another system",
}


def consent_how(method: str, words: str) -> str:
    """How a number consented, in words: "replied “JOIN”", "agreed verbally" (the reply
    without what surrounds the keyword; the record keeps it whole)."""
    if method == ConsentMethod.KEYWORD:
        keyword = words.strip(OPT_IN_PUNCTUATION)
        return f"replied “{keyword if len(keyword) <= 40 else keyword[:39] + '…'}”"
    return CONSENT_HOW.get(method, f"consent by {method}")


class ConsentRecord(models.Model):
    """A contact's consent to one channel, as it was given: how, when, through whom, the words
    they saw, and where it came by message, the stored webhook event.

    Consent belongs to the number, as a hard opt-out does: it is the contact's behind the number
    who gave it. A contact has consent on record for a channel when its number has a record of
    it (`consent_on_record`); an opt-out still leaves the contact out, whatever the record.
    """

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "Given"
        AWAITING = "awaiting", "Awaiting confirmation"
        VOID = "void", "Void"

    phone = models.CharField(max_length=16)
    channel = models.CharField(max_length=10, choices=Channel)
    method = models.CharField(max_length=10, choices=ConsentMethod)
    given_at = models.DateTimeField(help_text="When the contact agreed.")
    # The database's clock: no writer chooses when a record was made.
    recorded_at = models.DateTimeField(db_default=Now())
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="consent_records", help_text="Who had the number when it was recorded.",
    )  # fmt: skip
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
        db_constraint=False, related_name="+",
        help_text="The user who recorded it; empty for the contact's own message.",
    )  # fmt: skip
    disclosure = models.ForeignKey(
        Disclosure, null=True, blank=True, on_delete=models.PROTECT, related_name="consents",
        help_text="The words the contact saw or heard.",
    )  # fmt: skip
    words = models.TextField(
        blank=True, help_text="The contact's message, or a note of how consent was given."
    )
    reference = models.CharField(
        max_length=200, blank=True, help_text="The key of the stored webhook event it came in."
    )
    # What may change, once each, and only so (the database refuses anything else, migration
    # 0027): an awaited consent confirmed by the contact's reply, a record made void.
    status = models.CharField(max_length=10, choices=Status, default=Status.CONFIRMED)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmation = models.CharField(
        max_length=200, blank=True, help_text="The key of the stored event that confirmed it."
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-given_at", "-id"]
        # Every record of a number, not only those given: the contact page and the evidence
        # file list them all (a partial index left them a scan of every record).
        indexes = [
            models.Index(fields=["phone", "channel", "given_at"], name="consent_of_number"),
            # The given records of a number: whether it has consent on record (the contacts'
            # columns, worked out by the database; a send's check).
            models.Index(
                fields=["phone", "channel"],
                name="consent_given",
                condition=Q(status="confirmed"),
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.phone} consented to {Channel(self.channel).label}: {self.get_method_display()}"
        )

    @property
    def how(self) -> str:
        """E.g. "replied “JOIN”", "agreed verbally"."""
        return consent_how(self.method, self.words)

    def describe(self) -> str:
        """E.g. "replied “JOIN” on 3 Dec 2026"."""
        return f"{self.how} on {short_date(self.given_at)}"


# A prompt neither sent nor refused: held until its `send_at` (contacts.services).
HELD_PROMPT = Q(sent_at=None, not_sent="")
# How long a number has to confirm consent awaiting its YES, from the prompt (double opt-in).
CONFIRM_WITHIN = timedelta(days=30)


class ConfirmationPrompt(models.Model):
    """A text asking a number to confirm its consent awaiting confirmation (double opt-in:
    services.ask_to_confirm): only a YES to a prompt sent confirms, and only what it asked
    about. Kept when asked for; sent then, or held until the number's quiet hours end and
    sent by the worker (services.send_held_prompts), or not sent, and why."""

    phone = models.CharField(max_length=16)
    channels = models.CharField(max_length=20, help_text="The channels asked about: sms calls.")
    # The database's clock; None until sent.
    sent_at = models.DateTimeField(null=True)
    sid = models.CharField(max_length=64, blank=True, help_text="The provider's id of the text.")
    send_at = models.DateTimeField(null=True, help_text="Held until then: quiet hours.")
    held_for = models.CharField(
        max_length=200, blank=True, help_text="Until when, in words: its quiet hours end, at …"
    )
    not_sent = models.CharField(max_length=200, blank=True, help_text="Not sent: why.")
    maybe_sent = models.BooleanField(
        default=False, help_text="Not known sent: the provider may have it (not_sent says why)."
    )

    class Meta:
        indexes = [
            models.Index(fields=["phone", "sent_at"], name="prompt_of_number"),
            models.Index(fields=["send_at"], name="prompt_held", condition=HELD_PROMPT),
            # A delivery status names its prompt by the provider's id.
            models.Index(fields=["sid"], name="prompt_by_sid", condition=~models.Q(sid="")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["phone"], condition=HELD_PROMPT, name="one_held_prompt_a_number"
            )
        ]

    # Set while this process hands the text over (services._send_or_hold): from then on, a
    # failure leaves it taken, as it may have gone.
    handed_over = False

    def __str__(self) -> str:
        return f"{self.phone} asked to confirm {self.channels}"

    def in_words(self, now: datetime) -> str:
        """What became of it, for staff: "sent 7 Dec 2026, 09:00, asking about SMS; a YES
        by 6 Jan 2027, 09:00 confirms it"."""
        if self.maybe_sent:
            return (
                f"may have gone: {self.not_sent} A YES to it confirms nothing: record the "
                "consent again to ask again."
            )
        if self.not_sent:
            return f"not sent: {self.not_sent}"
        if self.sent_at is None:
            if self.send_at > now:
                zone = timezone.get_current_timezone_name()
                return f"held {self.held_for}: {_when(self.send_at)} ({zone})."
            every = f"{settings.HELD_PROMPTS_SECONDS:g} s"
            return f"due since {_when(self.send_at)}: the task worker looks every {every}."
        ends = self.sent_at + CONFIRM_WITHIN
        if ends <= now:
            days = CONFIRM_WITHIN.days
            return f"sent {_when(self.sent_at)}; the {days} days to reply ended {_when(ends)}."
        asked = channels_in_words(self.channels.split())
        return (
            f"sent {_when(self.sent_at)}, asking about {asked}; a YES by {_when(ends)} confirms it."
        )


def _when(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


class ReassignedNumber(models.Model):
    """A report that a number no longer reaches whoever consented at it: its holder replied
    "wrong number", or the reassigned numbers database said it was disconnected since the
    number's consent. The number's consent records are made void with it
    (services.record_reassigned), and no broadcast reaches the number on a channel until
    consent to it given since is recorded (`reported_reassigned`). Kept as written (migration
    0034)."""

    class How(models.TextChoices):
        REPLY = "reply", "The number's reply"
        CHECK = "check", "Reassigned numbers check"

    phone = models.CharField(max_length=16)
    # The database's clock.
    reported_at = models.DateTimeField(db_default=Now())
    how = models.CharField(max_length=10, choices=How)
    words = models.TextField(
        blank=True, help_text="The reply, or what the reassigned numbers database answered."
    )
    reference = models.CharField(
        max_length=200, blank=True, help_text="The key of the stored webhook event of the reply."
    )
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
        db_constraint=False, related_name="+", help_text="Who ran the check.",
    )  # fmt: skip

    class Meta:
        ordering = ["-reported_at", "-id"]
        indexes = [models.Index(fields=["phone", "reported_at"], name="reassigned_number")]

    def __str__(self) -> str:
        return f"{self.phone} reported reassigned: {self.describe()}"

    def describe(self) -> str:
        """E.g. "replied “Wrong number” on 5 Dec 2026"."""
        if self.how == self.How.REPLY:
            return f"replied “{self.words[:60]}” on {short_date(self.reported_at)}"
        return f"{self.words} (checked on {short_date(self.reported_at)})"


def reported_reassigned(channel: str | None = None) -> models.QuerySet:
    """The reports of the numbers reported reassigned that have no consent to `channel` (to any,
    if None) given since (`consented_since`): one given before, imported or recorded later, was
    the previous holder's."""
    return ReassignedNumber.objects.filter(~Exists(consented_since(channel)))


def numbers_held_by_a_contact(channel: str) -> models.QuerySet:
    """The numbers that several contacts share, one of whom holds them back from `channel`:
    opted out of it by the business (soft), or marked "Do not contact". A phone is one,
    whichever of its contacts a message is addressed to; a hard opt-out the guard copies to
    every contact of the number, these are each contact's own, and hold its number here (an
    archived contact does not: an old record of someone entered again). Looked for among the
    shared numbers only, each one's contacts through the phone index, and their soft
    opt-outs through that kind's own index (bench/NOTES.md)."""
    soft = OptOut.objects.filter(contact=OuterRef("pk"), channel=channel, kind=OptOut.SOFT)
    holding = Contact.objects.filter(
        Q(status=Contact.Status.DO_NOT_CONTACT) | Exists(soft),
        ~Q(status=Contact.Status.ARCHIVED),
        phone=OuterRef("phone"),
    )
    return PhoneCount.objects.filter(Exists(holding), contacts__gt=1).values_list(
        "phone", flat=True
    )


def opted_out_at_all(phone: str, channel: str) -> bool:
    """Whether the number, or a contact who has it, opted out of `channel`, softly or hard."""
    number = PhoneOptOut.objects.filter(phone=phone, channel=channel)
    contacts = OptOut.objects.filter(contact__phone=phone, channel=channel)
    return number.exists() or contacts.exists()


def consented_since(channel: str | None = None) -> models.QuerySet:
    """The consent on record (to `channel`, or to any) given after the outer report of a
    reassigned number."""
    records = ConsentRecord.objects.filter(
        phone=OuterRef("phone"), status=ConsentRecord.Status.CONFIRMED,
        given_at__gt=OuterRef("reported_at"),
    )  # fmt: skip
    return records.filter(channel=channel) if channel else records


# The database keeps a consent record at least this long after it was recorded and after it
# was made void (the time within which a TCPA claim can be brought): migration 0033.
CONSENT_KEPT_YEARS = 4


def years_before(moment: datetime, years: int) -> datetime:
    """The same day and time `years` earlier (28 February for a 29th with no leap year)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def consent_records_expired(years: int) -> models.QuerySet:
    """The consent records that may go after `years`: recorded and made void (if they were)
    longer ago than that, of numbers no contact has. Never fewer years than the database
    keeps them."""
    cutoff = years_before(timezone.now(), max(years, CONSENT_KEPT_YEARS))
    held = Contact.objects.filter(phone=OuterRef("phone"))
    return ConsentRecord.objects.filter(
        Q(voided_at=None) | Q(voided_at__lt=cutoff), ~Exists(held), recorded_at__lt=cutoff
    )


def consent_on_record(channel: str) -> Q:
    """The contacts whose number has consent on record for `channel`, as the contact's own
    column says (`Contact.sms_consent_on_record`, kept by the database): no look-up of the
    records for each of a million contacts (bench/NOTES.md)."""
    return Q(**{f"{Channel(channel).value}_consent_on_record": True})


def no_consent_on_record(channel: str) -> Q:
    """The contacts whose number has no consent on record for `channel`, as their column says:
    written `= false`, which the partial indexes of such contacts match on both databases
    (SQLite does not match `NOT (… = true)` to them)."""
    return Q(**{f"{Channel(channel).value}_consent_on_record": False})


def consent_in_records(channel: str) -> Q:
    """The contacts of consent_on_record, read from the records themselves: what a send
    checks, for the few contacts of its batch, just before the hand-over. EXISTS for each
    contact, by the index of the given records."""
    records = ConsentRecord.objects.filter(
        phone=OuterRef("phone"), channel=channel, status=ConsentRecord.Status.CONFIRMED
    )
    return Q(Exists(records))


def correct_consent_on_record() -> int:
    """Work out again the consent on record of every contact whose columns disagree with its
    number's records; how many there were.

    The triggers keep the columns as each write commits. On PostgreSQL, two transactions
    that write one number at once (a record made void while a contact with the number is
    added, say) each read the records without the other's change, and the column can be
    left saying what neither meant: the worker runs this every REACH_COUNT_SECONDS. A send
    reads the records themselves meanwhile. (SQLite's writers take turns: nothing to do.)
    Setting a column makes the database work both out again (contacts/guard/)."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.id FROM contacts_contact c
            LEFT JOIN (
                SELECT phone, bool_or(channel = 'sms') AS sms, bool_or(channel = 'calls') AS calls
                FROM contacts_consentrecord WHERE status = 'confirmed' GROUP BY phone
            ) r ON r.phone = c.phone
            WHERE c.sms_consent_on_record <> COALESCE(r.sms, FALSE)
                OR c.calls_consent_on_record <> COALESCE(r.calls, FALSE)
            """
        )
        wrong = [pk for (pk,) in cursor.fetchall()]
        if wrong:
            cursor.execute(
                "UPDATE contacts_contact SET sms_consent_on_record = NOT sms_consent_on_record"
                " WHERE id = ANY(%s)",
                [wrong],
            )
    return len(wrong)


class Via(models.TextChoices):
    """How a change of a number's opt-out reached one of its contacts."""

    NUMBER = "number", "the contact's number"
    INHERITED = "inherited", "a number that had opted out before the contact had it"
    MOVED = "moved", "a move away from a number that had opted out before"


class ConsentEvent(models.Model):
    """One change of one channel's status: the append-only consent ledger.

    `contact` is empty for an event of the number itself (a STOP from a number no contact
    has yet). The references are not foreign-key constraints, so that deleting a contact or
    a user never has to touch the ledger.
    """

    # The database's clock: no writer chooses when a change happened.
    at = models.DateTimeField(db_default=Now())
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # first in ledger_contact_channel
        related_name="consent_events",
    )
    phone = models.CharField(max_length=16)
    channel = models.CharField(max_length=10, choices=Channel)
    before = models.CharField(max_length=10, choices=OptInStatus)
    after = models.CharField(max_length=10, choices=OptInStatus)
    source = models.CharField(max_length=10, choices=Source)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    note = models.TextField(blank=True)
    via = models.CharField(
        max_length=10, choices=Via, blank=True, default="", db_default="",
        help_text="How a change of the contact's number reached the contact.",
    )  # fmt: skip
    copied_from = models.BigIntegerField(
        null=True, blank=True,
        help_text="For a row the database copied from a number's opt-out: its id.",
    )  # fmt: skip
    opt_in = models.ForeignKey(
        "OptIn",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="For a hard opt-out lifted, the contact's own opt-in that lifted it.",
    )
    matched = models.CharField(
        max_length=MATCHED_LENGTH, blank=True, default="", db_default="",
        help_text="For a revocation in the contact's words, the rule that read it so.",
    )  # fmt: skip
    # The hash chain (contacts.chain), written by the database: the row before this one of
    # the same number and channel, and the hash over this row's content and that row's hash.
    chained_to = models.BigIntegerField(null=True, blank=True, editable=False)
    chain = models.CharField(max_length=64, blank=True, default="", db_default="", editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["contact", "channel", "id"], name="ledger_contact_channel"),
            models.Index(fields=["phone", "channel", "id"], name="ledger_phone_channel"),
        ]

    def __str__(self) -> str:
        return f"{Channel(self.channel).label}: {self.before} → {self.after}"

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)

    @property
    def how(self) -> str:
        """Who or what made the change, as the contact's history says it, e.g. "replied
        “STOP”", "(919) 200-0014 replied “STOP”, before this contact had the number"."""
        if self.actor_id:
            try:
                return f"by {self.actor.get_username()}"
            except ObjectDoesNotExist:  # no constraint keeps the user: it may be deleted
                return "by a deleted user"
        if self.via == Via.MOVED:
            return (
                f"moved away from {format_phone(self.note)}, which had opted out before this "
                "contact had it"
            )
        if self.after == OptInStatus.SUBSCRIBED and self.source in (Source.KEYWORD, Source.JOIN):
            return hard_cause(Source.KEYWORD, self.note)  # "replied “START”"
        if self.after == OptInStatus.SUBSCRIBED and self.source == Source.DIGIT:
            return f"{self.note} on a call"
        if self.source == Source.USER:
            return "by a platform user"
        if self.via == Via.INHERITED:
            cause = number_cause(self.source, self.note, self.phone)
            return f"{cause}, before this contact had the number"
        return hard_cause(self.source, self.note)


class LedgerCount(models.Model):
    """How many changes the ledger recorded in a quarter of an hour (UTC), by channel, source
    and the status they led to, for the Insights page's charts: a database trigger adds a
    row for each statement that writes ledger rows (migration 0038), and the worker folds
    those of each quarter hour and kind into one (`fold`). A chart reads a few thousand rows,
    never the ledger; quarter hours make the days of any time zone, Nepal's +05:45 too.

    Counted: changes of status (not a STOP repeated), once a number, channel and change
    (a number's opt-out once, not again for each contact the database copies it onto; a
    START once, not again for each contact it lifts), and no change of number. `reviewed`:
    a possible opt-out that staff confirmed (its rule says so, CONFIRMED_IN_REVIEW).

    Rows only ever added by the trigger, so that no two transactions wait for each other
    to count (an update of one row a quarter hour would make every STOP wait for the one
    before it, and two revocations of every channel deadlock).
    """

    period = models.DateTimeField()
    channel = models.CharField(max_length=10, choices=Channel)
    source = models.CharField(max_length=10, choices=Source)
    after = models.CharField(max_length=10, choices=OptInStatus)
    reviewed = models.BooleanField()
    changes = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["period"], name="ledger_count_period")]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m-%d %H:%M}: {self.changes} {self.channel} → {self.after}"

    KIND = ["period", "channel", "source", "after", "reviewed"]

    @classmethod
    def fold(cls) -> int:
        """Fold the rows of each quarter hour and kind into one; how many rows went. Rows
        the trigger adds meanwhile are left for the next fold. Each fold adds up only the
        rows its own DELETE took: two at once never count a row twice."""
        table = cls._meta.db_table
        kind = ", ".join(connection.ops.quote_name(column) for column in cls.KIND)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT MAX(id) FROM {table}")
            (last,) = cursor.fetchone()
            cursor.execute(
                f"""DELETE FROM {table} WHERE id <= %s AND ({kind}) IN (
                        SELECT {kind} FROM {table} WHERE id <= %s
                        GROUP BY {kind} HAVING COUNT(*) > 1)
                    RETURNING {kind}, changes""",
                [last, last],
            )
            taken = cursor.fetchall()
            sums: dict[tuple, int] = {}
            for *key, changes in taken:
                sums[tuple(key)] = sums.get(tuple(key), 0) + changes
            cursor.executemany(
                f"INSERT INTO {table} ({kind}, changes) VALUES (%s, %s, %s, %s, %s, %s)",
                [[*key, changes] for key, changes in sums.items()],
            )
        return len(taken) - len(sums)


class ContactTablePreference(models.Model):
    """Which columns of the Contacts table one user has hidden."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_table"
    )
    hidden_columns = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"Contacts table of {self.user}"

    @classmethod
    def hidden_for(cls, user) -> list[str]:
        """The columns `user` has hidden. Every page of the table reads them: in SQL, as the
        ORM more than doubled the time of this one row's read (bench/NOTES.md)."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT hidden_columns FROM {cls._meta.db_table} WHERE user_id = %s", [user.pk]
            )
            row = cursor.fetchone()
        return json.loads(row[0]) if row else []


class BulkJob(models.Model):
    """An action on all contacts matching the table's filters, too many to apply while the
    page waits: a task applies it (contacts.bulk), and its page shows how it went."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    action = models.CharField(max_length=20)
    query = models.CharField(max_length=2000, blank=True, help_text="The table's filters.")
    tag = models.ForeignKey(Tag, null=True, blank=True, on_delete=models.SET_NULL)
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    count = models.PositiveIntegerField(help_text="The contacts matching when it was confirmed.")
    total = models.PositiveIntegerField(
        null=True, blank=True, help_text="The contacts matching when it started."
    )
    done = models.PositiveIntegerField(
        default=0, help_text="The contacts it has gone through, in committed transactions."
    )
    # How far its committed transactions came (the last contact's id), and what they did: a
    # job that a stopped worker left running goes on from there (contacts.bulk.resume).
    done_through = models.BigIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    hard = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    result = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.action} on {self.count} contacts ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class ExportPiece(models.Model):
    """A piece of the CSV file an export job wrote, in order: kept in the database, which the
    web servers and the workers share, until its page offers it for download."""

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, db_index=False)
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="export_piece_seq")]

    def __str__(self) -> str:
        return f"Piece {self.seq} of export {self.job_id}"


class ContactImport(models.Model):
    """A CSV file of contacts: stored as uploaded, checked by a task into rows and problems,
    shown to its uploader, and applied by a task in short transactions (contacts.imports)."""

    class Status(models.TextChoices):
        UPLOADING = "uploading", "The upload did not finish"
        MATCHING = "matching", "Columns to match"
        CHECKING = "checking", "Checking the file"
        READY = "ready", "Checked: ready to import"
        PROBLEMS = "problems", "Checked: problems to fix"
        UNREADABLE = "unreadable", "Cannot be read"
        APPLYING = "applying", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Stopped by an error"

    file_name = models.CharField(max_length=255)
    size = models.BigIntegerField(help_text="Bytes.")
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.CHECKING)
    error = models.TextField(blank=True, help_text="Why the file cannot be read, or applied.")
    # The run of the check that may write its rows: a check run again takes over.
    checker = models.UUIDField(null=True, blank=True)
    ignored_columns = models.JSONField(default=list, blank=True)
    column_fields = models.JSONField(
        default=list, blank=True,
        help_text="The field each column was matched to by the uploader, in order; "
        "empty where the header names them.",
    )  # fmt: skip
    rows_read = models.PositiveIntegerField(default=0)
    rows_ready = models.PositiveIntegerField(default=0)
    problem_count = models.PositiveIntegerField(default=0)
    # Rows are applied in order, a batch per transaction: the last row number applied.
    applied_through = models.PositiveIntegerField(default=0)
    rows_applied = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    opted_out = models.PositiveIntegerField(default=0)
    resubscribed = models.PositiveIntegerField(default=0)
    kept_hard = models.PositiveIntegerField(default=0)
    consents = models.PositiveIntegerField(default=0, help_text="Consent records added.")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Import of {self.file_name} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("contacts:import_detail", args=[self.pk])

    @property
    def is_working(self) -> bool:
        return self.status in (self.Status.CHECKING, self.Status.APPLYING)

    @property
    def rows_left(self) -> int:
        return self.rows_ready - self.rows_applied

    def summary(self) -> str:
        text = (
            f"{self.created:,} created, {self.updated:,} updated, {self.opted_out:,} "
            f"opt-out{pluralize(self.opted_out)} recorded, {self.resubscribed:,} resubscribed"
        )
        if self.consents:
            text += f", {self.consents:,} consent record{pluralize(self.consents)} added"
        if self.kept_hard:
            text += (
                f"; {self.kept_hard:,} hard opt-out{pluralize(self.kept_hard)} kept: for each, "
                f"{ONLY_THE_CONTACT}"
            )
        return text + "."


class ImportChunk(models.Model):
    """A piece of an uploaded file, in order, until the file is checked."""

    contact_import = models.ForeignKey(ContactImport, on_delete=models.CASCADE)
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact_import", "seq"], name="import_chunk_seq")
        ]

    def __str__(self) -> str:
        return f"Piece {self.seq} of import {self.contact_import_id}"


class ImportRow(models.Model):
    """A checked row of an import, as it will be applied."""

    # Not a constraint, checked for each of a million rows: the check writes an import's rows
    # in the transaction that holds the import (`imports._keep`), and deleting an import
    # deletes its rows. Indexed first in import_row_number.
    contact_import = models.ForeignKey(
        ContactImport, on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    number = models.PositiveIntegerField(help_text="The row's line in the file.")
    name = models.CharField(max_length=200)
    name_key = models.CharField(max_length=200, help_text="The name in lower case.")
    phone = models.CharField(max_length=16)
    email = models.CharField(max_length=254, blank=True)
    time_zone = models.CharField(max_length=64, blank=True, default="")
    state = models.CharField(max_length=2, blank=True, default="")
    tags = models.TextField(blank=True, help_text="Tag names, one per line.")
    status = models.CharField(max_length=20, blank=True)
    sms = models.CharField(max_length=10, blank=True, choices=OptInStatus)
    calls = models.CharField(max_length=10, blank=True, choices=OptInStatus)
    # The consent the row records, if any: to which channels ("sms", "calls", "sms calls"),
    # how, when, and the disclosure's id.
    consent_channels = models.CharField(max_length=20, blank=True, default="")
    consent_method = models.CharField(max_length=10, blank=True, default="")
    consent_given_at = models.DateTimeField(null=True, blank=True)
    consent_disclosure_id = models.BigIntegerField(null=True, blank=True)
    consent_awaiting = models.BooleanField(
        default=False, help_text="To be confirmed by the number's YES (double opt-in)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact_import", "number"], name="import_row_number")
        ]
        indexes = [
            models.Index(
                fields=["contact_import", "phone", "name_key", "number"], name="import_row_key"
            )
        ]

    def __str__(self) -> str:
        return f"Row {self.number}: {self.name} ({self.phone})"

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)

    @property
    def status_label(self) -> str:
        """The status the row sets, as the app names it ("Do not contact"), or ""."""
        return Contact.Status(self.status).label if self.status else ""


class ImportProblem(models.Model):
    """A problem with one row: found by the check (nothing is imported while there is one),
    or, for a hard opt-out the row would have lifted, found while applying (the rest of the
    row is applied)."""

    contact_import = models.ForeignKey(ContactImport, on_delete=models.CASCADE)
    row = models.PositiveIntegerField()
    column = models.CharField(max_length=20)
    reason = models.TextField()
    kept_hard = models.BooleanField(default=False)

    class Meta:
        ordering = ["row", "id"]
        indexes = [
            models.Index(fields=["contact_import", "kept_hard", "row"], name="import_problem")
        ]

    def __str__(self) -> str:
        return f"Row {self.row}, {self.column}: {self.reason}"

    @classmethod
    def found(cls, row: int, column: str, reason: str) -> "ImportProblem":
        """A problem the check found, not yet saved with its import."""
        return cls(row=row, column=column, reason=reason)
