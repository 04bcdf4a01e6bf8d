from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connection, models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from contacts.models import (
    MATCHED_LENGTH,
    Channel,
    PhoneOptOut,
    channels_in_words,
    channels_revoked,
    short_date,
)
from contacts.phones import format_phone


class OutboundMessage(models.Model):
    """What the console backend "sent", and the single texts the app sent outside broadcasts
    by any backend (messaging.texts): the outbox a newcomer can look at."""

    class Kind(models.TextChoices):
        SMS = "sms", "SMS"
        CALL = "call", "Call"

    kind = models.CharField(max_length=10, choices=Kind)
    to = models.CharField(max_length=16)
    body = models.TextField(help_text="The SMS text, or the call's TwiML.")
    # "" where the provider did not say whether it took the text (maybe_sent).
    sid = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(default=timezone.now)
    maybe_sent = models.BooleanField(
        default=False,
        help_text="Handed to the provider, which did not say whether it took it: it may have "
        "reached the number.",
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            # A number's messages, for its evidence file and the Outbox filtered by number.
            models.Index(fields=["to", "sent_at"], name="outbound_to_number"),
            # The Outbox, newest first.
            models.Index(fields=["-sent_at", "-id"], name="outbound_newest"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["sid"], condition=~models.Q(sid=""), name="outbound_sid_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to}"


# The events whose answer says something, which the Outbox lists: an SMS's reply, a call's.
ANSWERED = models.Q(kind="sms", response__contains="<Message") | models.Q(
    kind__in=["call", "digits"], response__contains="<"
)


class InboundEvent(models.Model):
    """A provider webhook request, stored as received before it is acted on.

    `key` identifies the request across the provider's retries (the MessageSid, or the
    CallSid with its digits), so that each is processed once.

    A contact's opt-in (`contacts.OptIn`) is accepted only with the event it came in, stored
    here first and not yet processed: the database checks that its key, number and words
    match (messaging migration 0002). What was received never changes, and a processed event stays
    processed.
    """

    class Kind(models.TextChoices):
        SMS = "sms", "Inbound SMS"
        CALL = "call", "Inbound call"
        DIGITS = "digits", "Digits pressed"
        STATUS = "status", "Status callback"

    kind = models.CharField(max_length=10, choices=Kind)
    key = models.CharField(max_length=200, unique=True)
    payload = models.JSONField()
    phone = models.CharField(
        max_length=16, blank=True, default="", db_default="",
        help_text="The contact's number in E.164: the sender, or the callee of our call.",
    )  # fmt: skip
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    response = models.TextField(blank=True, help_text="What was answered, for duplicates.")
    error = models.TextField(blank=True)
    reading = models.CharField(
        max_length=250, blank=True, default="", db_default="",
        help_text="For an SMS, how it was read and by which rule or phrase.",
    )  # fmt: skip
    phrase = models.ForeignKey(
        "ReplyPhrase", null=True, blank=True, on_delete=models.DO_NOTHING,
        db_constraint=False, db_index=False, related_name="events",
        help_text="For an SMS, the phrase staff taught that decided it, if one did.",
    )  # fmt: skip

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["received_at"],
                name="inbound_unprocessed",
                condition=models.Q(processed_at=None),
            ),
            # A number's events, for its evidence file and the Outbox filtered by number.
            models.Index(fields=["phone", "received_at"], name="inbound_of_number"),
            models.Index(
                fields=["phrase", "received_at"],
                name="inbound_by_phrase",
                condition=models.Q(phrase__isnull=False),
            ),
            # The Outbox's replies, newest first, without reading every delivery status.
            models.Index(
                fields=["-received_at", "-id"], name="inbound_answered", condition=ANSWERED
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.key}"

    @classmethod
    def kept_that_may_stop(cls, channel: str) -> "models.QuerySet[InboundEvent]":
        """The replies kept but not processed yet (their processing failed; the worker
        processes them within seconds) that may opt their number out of `channel`: a text,
        which may name any channel ("stop calling me"), a key pressed, of calls, and a
        carrier's opt-out in a delivery status (only those have a number), of texts; or under
        the revoke-all scope, each of every channel (contacts.models.channels_revoked). No
        message goes to their numbers meanwhile."""
        kinds = [
            kind
            for kind, stops in OPTING_OUT.items()
            if any(channel in channels_revoked(each) for each in stops)
        ]
        return cls.objects.filter(processed_at=None, kind__in=kinds)

    @classmethod
    def store(cls, *, key: str, kind: Kind, payload: dict, phone: str = "") -> bool:
        """Keep a request unless one with its key is kept already (a retry): one statement,
        which a webhook under load can afford where get_or_create's four round trips cost
        more. Whether it was new."""
        values = {"kind": kind, "key": key, "payload": payload, "phone": phone,
                  "received_at": timezone.now(), "response": "", "error": ""}  # fmt: skip
        fields = [cls._meta.get_field(name) for name in values]
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(cls._meta.db_table)}"
                f" ({', '.join(quote(f.column) for f in fields)})"
                f" VALUES ({', '.join(['%s'] * len(fields))})"
                f" ON CONFLICT ({quote('key')}) DO NOTHING",
                [f.get_db_prep_save(values[f.name], connection) for f in fields],
            )
            return cursor.rowcount == 1

    # A webhook's events are read and written in SQL: through the ORM, reading an event
    # locked and saving its answer cost a webhook more CPU a request (bench/NOTES.md).

    @classmethod
    def locked(cls, key: str) -> "InboundEvent":
        """The event with `key`, its row locked until the transaction ends (on SQLite, the
        writing transaction holds the whole database)."""
        quote = connection.ops.quote_name
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        sql = f"SELECT * FROM {quote(cls._meta.db_table)} WHERE {quote('key')} = %s{lock}"
        for event in cls.objects.raw(sql, [key]):
            return event
        raise cls.DoesNotExist(f"No inbound event {key!r}.")

    def answer(self, response: str) -> None:
        """Keep that the event was processed, what was answered, and how it was read."""
        self.response, self.processed_at, self.error = response, timezone.now(), ""
        processed_at = connection.ops.adapt_datetimefield_value(self.processed_at)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {connection.ops.quote_name(self._meta.db_table)}"
                " SET response = %s, processed_at = %s, error = '', reading = %s,"
                " phrase_id = %s WHERE id = %s",
                [response, processed_at, self.reading, self.phrase_id, self.pk],
            )


# The kind of reply that opts a number out of each channel (STOP, the digit).
# The channels each kind of reply may opt its number out of, by itself.
OPTING_OUT = {
    InboundEvent.Kind.SMS: tuple(Channel),
    InboundEvent.Kind.DIGITS: (Channel.CALLS,),
    # A text's delivery status, or the refusal of one of our texts or calls (21610).
    InboundEvent.Kind.STATUS: tuple(Channel),
}


class PossibleOptOut(models.Model):
    """An inbound SMS that may ask to stop without saying so plainly, for staff to review.

    While it waits, its number gets no message of what confirming it would stop
    (`holding`). Confirming records a hard opt-out with the contact's own words of its
    `channels`: SMS, which it came by, and calls too where its words name them ("please stop
    calling me so much"); for what a reply asks beside a clear request, the channels that the
    request left ("Stop calling me after 9pm. Unsubscribe me": calls); every channel under the
    revoke-all scope (contacts.models.channels_revoked). Dismissing lets messages reach the
    number again.
    """

    class Decision(models.TextChoices):
        PENDING = "pending", "To review"
        CONFIRMED = "confirmed", "Confirmed: opted out"
        DISMISSED = "dismissed", "Dismissed"
        OPTED_OUT = "opted_out", "Closed: the number opted out itself since"

    phone = models.CharField(max_length=16)
    words = models.TextField()
    matched = models.CharField(
        max_length=MATCHED_LENGTH, blank=True, default="",
        help_text="Why it is reviewed: the rule that read the words (messaging.keywords).",
    )  # fmt: skip
    received_at = models.DateTimeField(default=timezone.now)
    decision = models.CharField(max_length=10, choices=Decision, default=Decision.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    channels = models.CharField(
        max_length=20, default=Channel.SMS.value,
        help_text="What its words ask to stop (“sms”, “calls” or both, “sms calls”).",
    )  # fmt: skip

    class Meta:
        ordering = ["-received_at", "-id"]
        # Everyone who reads replies may decide (migration 0003): a revocation is honoured
        # as soon as someone reads it.
        permissions = [("decide_possibleoptout", "Can confirm or dismiss possible opt-outs")]
        indexes = [
            models.Index(
                fields=["received_at"],
                name="possible_opt_out_pending",
                condition=models.Q(decision="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.phone}: {self.words[:40]}"

    @classmethod
    def holding(cls, channel: str) -> "models.QuerySet[PossibleOptOut]":
        """The reviews still to decide whose confirmation would stop `channel`: those that ask
        to stop it, or, under the revoke-all scope, every one."""
        pending = cls.objects.filter(decision=cls.Decision.PENDING)
        if len(channels_revoked(channel)) > 1:
            return pending
        return pending.filter(channels__contains=channel)  # "sms", "calls": neither in the other

    @classmethod
    def close_answered(cls, phone: str) -> int:
        """Close the number's reviews that its own opt-outs answer since: every channel that
        confirming one would stop is one the number opted out of (hard). How many."""
        opted_out = set(PhoneOptOut.objects.filter(phone=phone).values_list("channel", flat=True))
        pending = cls.objects.filter(phone=phone, decision=cls.Decision.PENDING)
        answered = [review.pk for review in pending if set(review.stops) <= opted_out]
        if not answered:
            return 0
        with transaction.atomic():
            closed = list(
                pending.filter(pk__in=answered).select_for_update().values_list("pk", flat=True)
            )
            now = timezone.now()
            cls.objects.filter(pk__in=closed).update(
                decision=cls.Decision.OPTED_OUT, decided_at=now
            )
            ReviewStep.objects.bulk_create(
                ReviewStep(review_id=pk, step=cls.Decision.OPTED_OUT, at=now) for pk in closed
            )
        return len(closed)

    @property
    def stops_in_words(self) -> str:
        """E.g. "SMS", or "SMS and Calls & Voicemails"."""
        return channels_in_words(self.stops)

    @property
    def stops(self) -> tuple[Channel, ...]:
        """The channels that confirming it stops, each with what the scope adds."""
        covered = {each for channel in self.channels.split() for each in channels_revoked(channel)}
        return tuple(channel for channel in Channel if channel in covered)

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)

    def business_days_waiting(self, now: datetime | None = None) -> int:
        return business_days_between(self.received_at, now or timezone.now())

    def is_overdue(self, now: datetime | None = None) -> bool:
        return self.business_days_waiting(now) > REVIEW_DUE_BUSINESS_DAYS


class ReviewStep(models.Model):
    """A possible opt-out's decision, kept as it was made: who confirmed, dismissed or
    reopened it, and when, or that the number's own opt-out closed it. A review shows only
    its latest; these are all of them."""

    REOPENED = "reopened"
    STEPS = [
        *((value, label) for value, label in PossibleOptOut.Decision.choices if value != "pending"),
        (REOPENED, "Reopened"),
    ]

    review = models.ForeignKey(PossibleOptOut, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(max_length=10, choices=STEPS)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    channels = models.CharField(
        max_length=20, blank=True, default="", help_text="What a confirmation stopped."
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        """E.g. "Dismissed by staff, 6 Dec 2026, 23:05", "Confirmed: opted out of SMS by ana,
        6 Dec 2026, 23:07", as the review's page says it."""
        stopped = channels_in_words(self.channels.split())
        of = f" of {stopped}" if stopped else ""
        by = f" by {self.by.get_username()}" if self.by else ""
        when = date_format(timezone.localtime(self.at), "DATETIME_FORMAT")
        return f"{self.get_step_display()}{of}{by}, {when}"


# A revocation must be honoured within 10 business days (47 CFR 64.1200(a)(10)): a reply that
# may be one is flagged when it has waited more than 8, leaving two to decide and apply it.
REVIEW_DUE_BUSINESS_DAYS = 8


def business_days_between(start: datetime, end: datetime) -> int:
    """The business days (Monday to Friday) after `start`'s date up to `end`'s, in the
    business's time zone (settings.TIME_ZONE). Public holidays count as business days: a wait
    is never counted short."""
    first, last = timezone.localdate(start), timezone.localdate(end)
    if last <= first:
        return 0
    weeks, extra = divmod((last - first).days, 7)
    days = weeks * 5
    for offset in range(1, extra + 1):
        if (first + timedelta(days=offset)).weekday() < 5:
            days += 1
    return days


class ReplyPhrase(models.Model):
    """A wording that staff decided: the next reply worded the same way (case, accents,
    punctuation and emoji aside: messaging.keywords.plain) is read as they said, at once.

    A phrase decides what the built-in rules leave to review or let pass; it never overrides
    a keyword or a clear request (messaging.phrases)."""

    class Meaning(models.TextChoices):
        OPT_OUT = "opt_out", "A request to stop: a hard opt-out"
        ORDINARY = "ordinary", "An ordinary reply: nothing changes"

    wording = models.CharField(
        max_length=500, unique=True, help_text="The words, plain: lower case, no punctuation."
    )
    example = models.TextField(help_text="The reply as it was first written.")
    meaning = models.CharField(max_length=10, choices=Meaning)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-added_at", "-id"]
        verbose_name = "reply phrase"

    def __str__(self) -> str:
        return f"“{self.example}”: {self.get_meaning_display()}"

    @property
    def described(self) -> str:
        """How a reading names it: "phrase “please take me off” added by ana on 5 Dec 2026"."""
        by = f" by {self.added_by.get_username()}" if self.added_by else ""
        example = self.example if len(self.example) <= 80 else self.example[:79] + "…"
        return f"phrase “{example}” added{by} on {short_date(self.added_at)}"


def reviews_of_contact(sender, *, contact, **kwargs) -> list[tuple[str, str]]:
    """For the contact's page (contacts.signals.notes_wanted): each reply of its number that
    waits for review, and what it holds meanwhile."""
    pending = PossibleOptOut.objects.filter(
        phone=contact.phone, decision=PossibleOptOut.Decision.PENDING
    ).order_by("received_at")
    return [
        (
            f"A reply from this number waits in Possible opt-outs: “{review.words[:200]}”. "
            f"Until someone decides, it gets no {review.stops_in_words}.",
            reverse("messaging:possible_opt_outs"),
        )
        for review in pending[:5]
    ]


def reviews_holding(sender, **kwargs) -> "models.QuerySet[PossibleOptOut]":
    """For the icons' tooltips (contacts.signals.holds_wanted): the replies waiting for
    review, each holding its number back from its channels."""
    return PossibleOptOut.objects.filter(decision=PossibleOptOut.Decision.PENDING)


def replies_of_number(sender, *, phone: str, **kwargs) -> list[str]:
    """For a contact about to leave `phone` (contacts.signals.replies_to_read): its replies
    kept for the worker that may stop something (a text, a key pressed, a carrier's refusal),
    and those waiting for review."""
    kept = InboundEvent.objects.filter(phone=phone, processed_at=None).exclude(
        kind=InboundEvent.Kind.CALL
    )
    statuses = kept.filter(kind=InboundEvent.Kind.STATUS).values_list("payload", flat=True)
    refused = any(str(payload.get("ErrorCode", "")) == "21610" for payload in statuses[:100])
    said = []
    if refused or kept.exclude(kind=InboundEvent.Kind.STATUS).exists():
        said.append("one the worker reads within a minute")
    pending = PossibleOptOut.objects.filter(phone=phone, decision=PossibleOptOut.Decision.PENDING)
    said += [
        f"“{review.words[:200]}”, waiting in Possible opt-outs"
        for review in pending.order_by("received_at")[:5]
    ]
    return said


def close_answered_reviews(sender, *, phone: str, **kwargs) -> None:
    """A number revoked its consent itself (contacts.signals.revoked): once that commits, its
    reviews that the revocation answers are closed (PossibleOptOut.close_answered). A failure
    to close one is logged, and the revocation holds."""
    transaction.on_commit(partial(PossibleOptOut.close_answered, phone), robust=True)
