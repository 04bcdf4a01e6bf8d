import re

from django.conf import settings
from django.db import models
from django.http import QueryDict
from django.utils import timezone

from contacts import subscriptions
from contacts.filters import ContactFilter
from contacts.models import Channel, ConsentEvent, Contact, ContactQuerySet
from contacts.phones import format_phone
from messaging.twiml import calls_state_no_number, no_caller_id, no_toll_free_call_back

OPT_OUT_LINE = "Reply STOP to opt out"
# A text tells how to opt out already where it asks for STOP ("Reply STOP", "Text “stop”",
# "Responde STOP") or says what it does ("STOP to cancel"); not where it only says the word
# ("STOP by our office"). static/js/broadcast_form.js reads it from the form, in the same
# syntax, for its counter.
TELLS_HOW_TO_STOP = (
    r"\b(reply|text|txt|send|respond|responde|responda|envía|envia|escribe)\W+(with\W+|con\W+)?"
    r"[\"“'‘]?STOP\b"
    r"|\bSTOP\b[\"”'’]?\W+(to|para)\W+(opt\W?out|end|cancel|unsubscribe|quit|stop|cancelar|salir)"
)
# A negation before it in its sentence ("Don't reply STOP", "Never, ever text STOP", "No need
# to reply STOP", "You shouldn't reply STOP") tells nobody how: the line is added. One after it
# ("Responde STOP para no recibir más") does not count. Where in doubt, the line is added.
NEGATION = r"\b(no|not|never|cannot|dont|nunca|ni)\b|n\W?t\b"
SENTENCE_END = r"[.!?;\n]"
# ASCII word characters, as JavaScript's RegExp reads the same patterns.
_TELLS_HOW_TO_STOP = re.compile(TELLS_HOW_TO_STOP, re.IGNORECASE | re.ASCII)
_NEGATION = re.compile(NEGATION, re.IGNORECASE | re.ASCII)


def tells_how_to_stop(text: str) -> bool:
    """Whether a sentence of `text` tells how to stop, not negated before it ("Reply STOP",
    "STOP to end"; not "nonstop", "STOP by", nor "Don't reply STOP")."""
    for sentence in re.split(SENTENCE_END, text):
        told = _TELLS_HOW_TO_STOP.search(sentence)
        if told and not _NEGATION.search(sentence[: told.start()]):
            return True
    return False


# Words that promote, in English and Spanish: a message with them is marketing unless its
# manager says it is not (a price in an appointment reminder). Not "feel free", "toll-free",
# nor "save the date".
# A number as a voice script writes it, to be said: "nine", "twenty-five", "a hundred".
NUMBER_WORDS = (
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four"
    r"|five|six|seven|eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven"
    r"|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
    r"|(?:a|one|two|three|five) hundred|a thousand)"
)
AMOUNT = rf"(?:\$?\d+|{NUMBER_WORDS})"
MONEY_OR_SHARE = r"(?:%|percent|per cent|dollars?|bucks)"
PROMOTES = re.compile(
    rf"(?:\$\d+|\b{AMOUNT}\s*{MONEY_OR_SHARE})\W*off\b|\b(?:discounts?|sales?"
    r"|promo(?:tion)?s?|coupons?|deals?|(?:special|exclusive) offers?|limited[- ]time|buy"
    r"|shop now|order now|book now|bogo|clearance|half[- ](?:price|off)|reduced (?:price|rates?)"
    r"|save big|(?:big|huge) savings|enter to win|giveaway"
    r"|ahorr\w* (?:hasta )?(?:\$?\d+|\w+ (?:d[oó]lares|por ciento))"
    rf"|save (?:up to|over|\$?\d+|{NUMBER_WORDS}\s*{MONEY_OR_SHARE})"
    r"|(?:two|2) for (?:the price of )?(?:one|1)(?! (?:hours?|minutes?|hrs?|mins?|nights?|days?"
    r"|weeks?|person|people|more))"
    r"|(?<!feel )(?<!toll-)(?<!toll )free"
    r"|descuentos?|ofertas?|promoci[oó]n|rebajas?|gratis|mitad de precio|precios? especial(?:es)?"
    r"|2x1|2 por 1|dos por uno)\b",
    re.IGNORECASE,
)


def promotes(text: str) -> str:
    """The first words of `text` that promote (PROMOTES), or ""."""
    found = PROMOTES.search(text)
    return found.group(0) if found else ""


DIGITS = [(key, key) for key in settings.PHONE_KEYS]


def default_unsubscribe_digit() -> str:
    return settings.UNSUBSCRIBE_DIGIT


class Broadcast(models.Model):
    """An SMS or voice broadcast to the contacts of an audience who may receive that channel."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    class Purpose(models.TextChoices):
        MARKETING = "marketing", "Marketing"
        INFORMATIONAL = "informational", "Informational"

    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=10, choices=Channel)
    # Marketing unless the manager says otherwise: the stricter rules are the safe default.
    purpose = models.CharField(
        max_length=15, choices=Purpose, default=Purpose.MARKETING,
        help_text="Marketing promotes; informational tells (an office closed today, an "
                  "appointment moved). Frequency limits apply to marketing only.",
    )  # fmt: skip
    urgent = models.BooleanField(
        default=False, help_text="Informational only: send outside quiet hours."
    )
    consent_only = models.BooleanField(
        default=False,
        help_text="Reach only contacts whose number has consent on record for the channel.",
    )
    promotes_nothing = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Its manager said that this informational broadcast, whose words read as "
        "marketing, promotes nothing.",
    )
    urgent_reason = models.TextField(
        blank=True, help_text="Why it cannot wait for the recipients' morning: kept and shown."
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    # The audience, as the Contacts table's filters in a query string ("" is everybody).
    audience = models.CharField(max_length=1000, blank=True)
    body = models.TextField(blank=True, help_text="SMS: the text.")
    script = models.TextField(blank=True, help_text="Voice: what is said.")
    audio_url = models.URLField(blank=True, help_text="Voice: or an audio file to play.")
    unsubscribe_digit = models.CharField(
        max_length=1, choices=DIGITS, default=default_unsubscribe_digit,
        help_text="Voice: the key that stops calls to the contact.",
    )  # fmt: skip
    send_at = models.DateTimeField(null=True, blank=True, help_text="Empty: send at launch.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    launched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    launched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # How many recipients its launch took (one a number): the Broadcasts page does not count a
    # finished broadcast's again each time it is shown.
    recipients_taken = models.IntegerField(null=True, blank=True, editable=False)
    # When the sending task queued for the recipients deferred by quiet hours runs: one task a
    # moment, however many workers found them waiting.
    wakes_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("launch_broadcast", "Can launch broadcasts"),
            ("cancel_broadcast", "Can cancel broadcasts"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.SCHEDULED)

    @property
    def keeps_quiet_hours(self) -> bool:
        """Every broadcast waits for its recipients' quiet hours to end, but an informational
        one that a manager marked urgent, with a reason."""
        return not (self.purpose == self.Purpose.INFORMATIONAL and self.urgent)

    @property
    def needs_consent(self) -> bool:
        """Whether it reaches only contacts with consent on record for its channel: chosen,
        or for every marketing broadcast (settings.MARKETING_NEEDS_CONSENT)."""
        marketing = self.purpose == self.Purpose.MARKETING and settings.MARKETING_NEEDS_CONSENT
        return self.consent_only or marketing

    def reads_as_marketing(self) -> str:
        """The words that promote in an informational broadcast that its manager did not say
        promotes nothing (`promotes_nothing`), or "": it is not launched so."""
        if self.purpose != self.Purpose.INFORMATIONAL or self.promotes_nothing:
            return ""
        return promotes(self.body if self.channel == Channel.SMS else self.script)

    def cannot_be_placed(self) -> str:
        """Why this broadcast's calls may not be placed, or "": not launched, nor sent, so.
        Calls state a telephone number of the business (messaging.twiml.calls_state_no_number),
        give a toll-free number to call back (no_toll_free_call_back), and come from a number
        of the account (no_caller_id)."""
        if self.channel != Channel.CALLS:
            return ""
        return calls_state_no_number() or no_toll_free_call_back() or no_caller_id()

    @property
    def sms_text(self) -> str:
        """The body as sent: with the opt-out line, unless the body already tells how."""
        if tells_how_to_stop(self.body):
            return self.body
        return f"{self.body.rstrip()}\n{OPT_OUT_LINE}"

    def sms_text_for(self, phone: str, contact_id: int | None = None) -> str:
        """The text as `phone` (the contact `contact_id`'s) gets it: with its own subscriptions
        link where the body asks."""
        return subscriptions.with_link(self.sms_text, phone, contact_id)

    @property
    def audience_description(self) -> str:
        """The audience in words, e.g. "Tag: VIP; SMS: Any opt-out" ("All contacts" if none)."""
        if not self.audience:
            return "All contacts"
        filters = self.audience_filter()
        if not filters.is_valid():
            return "Filters no longer valid"
        parts = []
        for name, value in filters.form.cleaned_data.items():
            if value in (None, ""):
                continue
            field = filters.form.fields[name]
            shown = dict(field.choices).get(value, value) if hasattr(field, "choices") else value
            parts.append(f"{field.label}: {shown}")
        return "; ".join(parts)

    def audience_contacts(self) -> ContactQuerySet:
        filters = self.audience_filter()
        return filters.qs if filters.is_valid() else Contact.objects.none()

    def audience_filter(self) -> ContactFilter:
        return ContactFilter(QueryDict(self.audience), queryset=Contact.objects.all())


class Recipient(models.Model):
    """One phone number of a launched broadcast: at most one message each.

    pending → sending (committed before the provider is called) → sent, failed or unknown;
    or skipped, when the number may not receive the channel at the moment it is claimed; or
    deferred, outside its quiet hours, until `retry_at`, when it is pending again.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Unknown (may have been sent)"
        SKIPPED = "skipped", "Skipped"
        DEFERRED = "deferred", "Deferred: quiet hours"
        CANCELLED = "cancelled", "Not sent: cancelled"

    # No index of their own: the unique (broadcast, phone) serves the broadcast's look-ups,
    # and nothing looks recipients up by contact. Each index costs every launch's snapshot;
    # so did the constraint's check of the broadcast for each of a million rows (bench/NOTES.md),
    # which guarded nothing: only the launch writes recipients, of the broadcast it holds locked.
    broadcast = models.ForeignKey(
        Broadcast,
        on_delete=models.CASCADE,
        related_name="recipients",
        db_index=False,
        db_constraint=False,
    )
    contact = models.ForeignKey(
        Contact,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    phone = models.CharField(max_length=16)
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    retry_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sid = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    # When the provider's status recorded here came: an earlier one, applied late, is not.
    status_received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "phone"], name="one_message_per_number")
        ]
        indexes = [
            # What a claim reads (the next pending recipients of a broadcast, in order) and
            # what the progress counts. One index for both: each costs every launch's
            # snapshot (a partial one of pending recipients: bench/NOTES.md).
            models.Index(fields=["broadcast", "status", "id"], name="recipient_status"),
            # Delivery statuses find their message by its sid; pending ones have none yet.
            models.Index(fields=["sid"], name="recipient_sid", condition=~models.Q(sid="")),
            # The messages handed over lately, which frequency limits count: by number, for a
            # batch's numbers and the states' numbers, and by broadcast and time, for the last
            # hand-over of each broadcast and every message of the day. Only those handed
            # over (with a sent_at): a launch's snapshot writes neither.
            models.Index(
                fields=["phone", "sent_at"],
                name="recipient_sent",
                condition=models.Q(sent_at__isnull=False),
            ),
            models.Index(
                fields=["broadcast", "sent_at"],
                name="recipient_handed_over",
                condition=models.Q(sent_at__isnull=False),
            ),
            # The messages being handed over (claimed, not recorded yet), which frequency
            # limits count too: by number, for another broadcast's batch.
            models.Index(
                fields=["phone"],
                name="recipient_in_flight",
                condition=models.Q(status="sending"),
            ),
            # The recipients deferred by quiet hours, by when their window opens.
            models.Index(
                fields=["broadcast", "retry_at"],
                name="recipient_deferred",
                condition=models.Q(status="deferred"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phone} ({self.status})"

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)


class SendRate(models.Model):
    """The next moment any worker may hand a message to the provider (one row)."""

    next_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Next message at {self.next_at}"


class SentTest(models.Model):
    """The broadcast's message sent to one number before launch, to see it as a recipient
    will (the manager's own phone): never a recipient, and kept to show who sent which."""

    # A test is a text sent: kept whatever becomes of its broadcast (a draft tested is not
    # deleted: broadcasts.services.why_kept).
    broadcast = models.ForeignKey(Broadcast, on_delete=models.PROTECT, related_name="tests")
    phone = models.CharField(max_length=16)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)
    sid = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"Test of {self.broadcast} to {self.phone}"

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)


class ReachCount(models.Model):
    """How many contacts were in each group of a channel's reach (insights.REACH) when last
    counted: the worker counts them every `REACH_COUNT_SECONDS` (a million contacts take
    seconds, more than a page may), and the Insights page shows them with that time."""

    channel = models.CharField(max_length=10, choices=Channel)
    group = models.CharField(max_length=20)
    contacts = models.IntegerField()
    counted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "group"], name="one_reach_count")]

    def __str__(self) -> str:
        return f"{self.channel} {self.group}: {self.contacts}"


class OptOutAfter(models.Model):
    """A number's own opt-out (a STOP, the unsubscribe digit) counted against the broadcast
    of its channel that reached the number last in the 48 hours before it: written by the
    database as the ledger records the opt-out (migration 0014), for the Insights page."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(
        ConsentEvent, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    phone = models.CharField(max_length=16)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["broadcast", "at"], name="opt_out_after_broadcast")]

    def __str__(self) -> str:
        return f"{self.phone} after broadcast {self.broadcast_id}"

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)


class OutcomeCount(models.Model):
    """How many of a launched broadcast's messages were sent, delivered and failed, when last
    counted: the worker counts them with the reach (every `REACH_COUNT_SECONDS`) while the
    broadcast sends and for two days after it finished, when late delivery statuses may still
    come (insights.count_outcomes)."""

    broadcast = models.OneToOneField(Broadcast, on_delete=models.CASCADE, related_name="+")
    sent = models.IntegerField()
    delivered = models.IntegerField()
    failed = models.IntegerField()
    counted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Broadcast {self.broadcast_id}: {self.delivered} of {self.sent} delivered"
