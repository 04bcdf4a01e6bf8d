import re
from datetime import date, timedelta
from urllib.parse import urlencode, urlsplit

from django import forms
from django.conf import settings
from django.http import QueryDict
from django.utils import timezone
from django.utils.formats import date_format

from broadcasts.models import (
    NEGATION,
    SENTENCE_END,
    TELLS_HOW_TO_STOP,
    Broadcast,
    default_unsubscribe_digit,
    promotes,
)
from contacts import subscriptions
from contacts.filters import ContactFilter
from contacts.models import Channel, Contact
from contacts.phones import normalize_phone
from messaging.twiml import (
    NOT_IN_XML,
    calls_state_no_number,
    no_caller_id,
    no_toll_free_call_back,
    voice_message,
)

AUDIENCE = "audience"


def _query(cleaned: dict) -> str:
    # As the filters read them: a tag by its id, the search without the spaces around it.
    return urlencode(
        {name: getattr(value, "pk", value) for name, value in cleaned.items()
         if value not in (None, "")}
    )  # fmt: skip


class AudienceForm(forms.Form):
    """The audience's filters, which must fit the broadcast's column as a query string."""

    def clean(self):
        data = super().clean()
        # Only a search can be long; PostgreSQL refused an audience past the column (a 500).
        if len(_query(data)) > Broadcast._meta.get_field("audience").max_length:
            self.add_error("q", "Too long to keep with the broadcast: shorten the search.")
        return data


class AudienceFilter(ContactFilter):
    class Meta(ContactFilter.Meta):
        form = AudienceForm


def audience_filter(data=None, *, stored: str = "") -> ContactFilter:
    """The Contacts table's filters, as the broadcast form's audience (prefixed fields)."""
    if data is None and stored:
        data = QueryDict(mutable=True)
        for name, value in QueryDict(stored).lists():
            data.setlist(f"{AUDIENCE}-{name}", value)
    return AudienceFilter(data, queryset=Contact.objects.all(), prefix=AUDIENCE)


def audience_query(filters: ContactFilter) -> str:
    """The chosen filters (which are valid) as the query string the Contacts table uses
    (empty: everybody)."""
    return _query(filters.form.cleaned_data)


NOT_URGENT_MARKETING = (
    "Only an informational broadcast can be urgent: marketing always waits for quiet hours to end."
)
URGENT_NEEDS_REASON = "Say why it cannot wait: the reason is kept with the broadcast and shown."


# How far ahead a broadcast may be scheduled.
SCHEDULED_AT_MOST = timedelta(days=5 * 365)


class BroadcastForm(forms.ModelForm):
    """A broadcast to write or edit. One marked informational whose words promote asks its
    manager to say so twice (`promotes_nothing`): informational texts and calls go without
    consent on record, and "20% off" is marketing whatever the form says."""

    class Meta:
        model = Broadcast
        fields = [
            "name", "channel", "purpose", "promotes_nothing", "urgent", "urgent_reason",
            "consent_only", "body", "script", "audio_url", "unsubscribe_digit", "send_at",
        ]  # fmt: skip
        widgets = {
            "channel": forms.RadioSelect,
            "purpose": forms.RadioSelect,
            "urgent_reason": forms.Textarea(attrs={"rows": 2}),
            "body": forms.Textarea(attrs={"rows": 4, "data-sms-counter": ""}),
            "script": forms.Textarea(attrs={"rows": 4}),
            "send_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }
        labels = {
            "send_at": "Send at",
            "audio_url": "Or an audio URL",
            "urgent": "Urgent: send outside quiet hours",
            "urgent_reason": "Why it cannot wait",
            "consent_only": "Only contacts with consent on record",
            "promotes_nothing": "It is informational: it promotes nothing",
        }
        help_texts = {
            "body": "“Reply STOP to opt out” is added unless the text already tells how "
            "(“Reply STOP…”, “Text STOP to…”, “STOP to end”). "
            "Write {subscriptions_link} for each contact's own link to their subscriptions "
            "page.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The words that promote in an informational one: its tick is shown where they are.
        instance = self.instance
        informational = instance.purpose == Broadcast.Purpose.INFORMATIONAL
        words = instance.body if instance.channel == Channel.SMS else instance.script
        self.promotes = promotes(words) if instance.pk and informational else ""
        promotes_nothing = self.fields["promotes_nothing"]
        promotes_nothing.help_text = ""  # its label says it all
        # Said of the words as they are saved: asked again at each save, never pre-ticked.
        self.initial["promotes_nothing"] = False
        zone = settings.TIME_ZONE
        when = f"In the app's time zone, {zone}. Leave empty to send when you launch it."
        self.fields["send_at"].help_text = when
        digit = self.fields["unsubscribe_digit"]
        digit.required = False  # only voice needs it
        # The key that asks for calls again, on a call back, never stops them in a call.
        digit.choices = [(key, label) for key, label in digit.choices
                         if key != settings.RESUBSCRIBE_DIGIT]  # fmt: skip
        digit.help_text = (
            f"Pressed during the call. Not {settings.RESUBSCRIBE_DIGIT}: a call back to us "
            f"presses it to receive calls again."
        )
        # The counter counts a subscriptions link as long as the longest, as the limit does.
        sample = subscriptions.longest_link(subscriptions.PLACEHOLDER)
        self.fields["body"].widget.attrs["data-link-length"] = len(sample)
        self.fields["body"].widget.attrs["data-tells-how-to-stop"] = TELLS_HOW_TO_STOP
        self.fields["body"].widget.attrs["data-negation"] = NEGATION
        self.fields["body"].widget.attrs["data-sentence-end"] = SENTENCE_END
        self.fields["channel"].choices = Channel.choices  # radio buttons, no empty choice
        self.fields["channel"].initial = self.instance.channel or Channel.SMS
        self.fields["purpose"].choices = Broadcast.Purpose.choices  # no empty choice
        self.fields["purpose"].required = False  # not chosen: marketing, the stricter
        if settings.MARKETING_NEEDS_CONSENT:
            consent_only = self.fields["consent_only"]
            consent_only.help_text = "For the channel. Marketing always reaches only them."
            consent_only.widget.attrs["data-marketing-needs-consent"] = ""  # the form's script

    def clean_unsubscribe_digit(self) -> str:
        return self.cleaned_data["unsubscribe_digit"] or default_unsubscribe_digit()

    def clean_purpose(self) -> str:
        return self.cleaned_data["purpose"] or Broadcast.Purpose.MARKETING

    def clean_body(self) -> str:
        # Browsers send a line break as CR LF: two characters of an SMS where one will do,
        # and not what the counter counts.
        body = self.cleaned_data["body"].replace("\r\n", "\n")
        _refuse_unknown_placeholders(body)
        return body

    def clean_script(self) -> str:
        # A page break or a line break within a paragraph, pasted from a document, is a line
        # break; any other control character would make the call's instructions no XML.
        script = re.sub("[\x0b\x0c]", "\n", self.cleaned_data["script"])
        if found := NOT_IN_XML.search(script):
            raise forms.ValidationError(
                f"The script holds a control character (U+{ord(found[0]):04X}, after "
                f"“{script[max(found.start() - 20, 0) : found.start()]}”) that no call can say: "
                "type that part again."
            )
        _refuse_unknown_placeholders(script, spoken=True)
        return script

    def clean_send_at(self):
        send_at = self.cleaned_data["send_at"]
        if send_at is None:
            return send_at
        if send_at > timezone.now() + SCHEDULED_AT_MOST:
            # Nor is one reckoned in its recipients' zones past the year 9999.
            raise forms.ValidationError("Choose a time within the next five years.")
        # A scheduled broadcast's time is checked by services.edit, under its lock (it may
        # not be emptied either); a draft's is checked here.
        if self.instance.status == Broadcast.Status.DRAFT and send_at <= timezone.now():
            raise forms.ValidationError(
                f"{format_time(send_at)} has passed: choose a time to come, "
                "or leave it empty to send when you launch it."
            )
        return send_at

    def clean(self):
        data = super().clean()
        # A text refused as written (clean_body) is not refused again here.
        if data.get("channel") == Channel.SMS and "body" not in self.errors:
            self._check_sms_text(data.get("body", ""))
        has_script, has_audio = bool(data.get("script", "").strip()), bool(data.get("audio_url"))
        audio = data.get("audio_url", "")
        if audio and urlsplit(audio).scheme != "https":
            self.add_error("audio_url", "Give an https:// address that Twilio can fetch.")
        calls = data.get("channel") == Channel.CALLS
        if calls and has_script == has_audio:
            self.add_error("script", "Write a script to say, or give an audio URL: one of them.")
        elif calls and not {"script", "audio_url"} & set(self.errors):
            self._check_call(data)
        if calls and (why := calls_state_no_number() or no_toll_free_call_back() or no_caller_id()):
            self.add_error("channel", why)
        words = data.get("script", "") if calls else data.get("body", "")
        informational = data.get("purpose") == Broadcast.Purpose.INFORMATIONAL
        self.promotes = promotes(words or "") if informational else ""
        if not self.promotes:
            data["promotes_nothing"] = False  # said only of words that read as marketing
        elif not data.get("promotes_nothing"):
            self.add_error(
                "purpose",
                f"This reads as marketing (“{self.promotes}”): a broadcast that promotes "
                "is marketing, whose texts and calls reach only contacts with consent on "
                "record. Choose Marketing, or tick “It is informational” below if it "
                "promotes nothing.",
            )
        if data.get("urgent"):
            if data.get("purpose") != Broadcast.Purpose.INFORMATIONAL:
                self.add_error("urgent", NOT_URGENT_MARKETING)
            elif not data.get("urgent_reason", "").strip():
                self.add_error("urgent_reason", URGENT_NEEDS_REASON)
        else:
            data["urgent_reason"] = ""  # a reason kept only with the urgency it explains
        return data

    def _check_call(self, data: dict) -> None:
        """The call as placed (its opening and close around the script) within what Twilio
        takes of a call's instructions."""
        script, audio = data.get("script", "").strip(), data.get("audio_url", "")
        digit = data.get("unsubscribe_digit") or settings.UNSUBSCRIBE_DIGIT
        placed = voice_message(script=script, audio_url="" if script else audio, digit=digit)
        if len(placed) > TWIML_MOST_CHARACTERS:
            field = "script" if script else "audio_url"
            self.add_error(
                field,
                f"As placed, with its opening and close, the call's instructions have "
                f"{len(placed):,} characters: Twilio takes at most {TWIML_MOST_CHARACTERS:,}. "
                f"Shorten it by {len(placed) - TWIML_MOST_CHARACTERS:,}, or record it as audio.",
            )

    def _check_sms_text(self, body: str) -> None:
        if not body.strip():
            self.add_error("body", "Write the text of the SMS.")
            return
        sent = subscriptions.longest_link(Broadcast(channel=Channel.SMS, body=body).sms_text)
        if len(sent) > SMS_MOST_CHARACTERS:
            self.add_error(
                "body",
                f"As sent, the text has {len(sent):,} characters: Twilio takes at most "
                f"{SMS_MOST_CHARACTERS:,} (about 10 segments). Shorten it.",
            )


# A word in braces, as a merge field is written ("{name}", "{ first_name }").
PLACEHOLDER_LIKE = re.compile(r"\{\s*\w[\w .-]*\}")


def _refuse_unknown_placeholders(text: str, *, spoken: bool = False) -> None:
    """A "{name}" would be sent as written, to every recipient: refused, with what the text
    may hold instead."""
    filled_in = () if spoken else (subscriptions.PLACEHOLDER,)
    unknown = [m for m in PLACEHOLDER_LIKE.findall(text) if m not in filled_in]
    if not unknown:
        return
    known = "" if spoken else f" The one filled in for each contact is {subscriptions.PLACEHOLDER}."
    raise forms.ValidationError(
        f"{', '.join(dict.fromkeys(unknown))} would be sent as written, to everyone: nothing "
        f"fills it in.{known} Write the words themselves instead."
    )


# The longest text Twilio's Messages API accepts (its error 21617 past it).
SMS_MOST_CHARACTERS = 1600
# What Twilio takes of a call's instructions (its Twiml parameter).
TWIML_MOST_CHARACTERS = 4000


def format_time(moment) -> str:
    """A time as the broadcast pages show it, with their time zone: "5 Dec 2026, 09:00 UTC"."""
    when = date_format(timezone.localtime(moment), "DATETIME_FORMAT")
    return f"{when} {timezone.get_current_timezone_name()}"


class TestSendForm(forms.Form):
    phone = forms.CharField(
        label="Send a test to", max_length=40, help_text="Your own phone, as you write it."
    )

    def clean_phone(self) -> str:
        return normalize_phone(self.cleaned_data["phone"])


# The longest range of days the Insights page charts at once, and the earliest day.
LONGEST_RANGE = timedelta(days=3 * 366)
EARLIEST = date(2000, 1, 1)

# A date input takes its value as an ISO date, whatever the page's language.
ISO_DATE = forms.DateInput({"type": "date"}, format="%Y-%m-%d")


def last_90_days() -> tuple[date, date]:
    today = timezone.localdate()
    return today - timedelta(days=89), today


class InsightsRange(forms.Form):
    """The days the Insights page charts, the last 90 days unless chosen."""

    first = forms.DateField(label="From", required=False, widget=ISO_DATE)
    last = forms.DateField(label="To", required=False, widget=ISO_DATE)

    def __init__(self, data=None):
        first, last = last_90_days()
        super().__init__(data, initial={"first": first, "last": last})

    def clean(self):
        cleaned = super().clean()
        today = timezone.localdate()
        for field in ("first", "last"):
            chosen = cleaned.get(field)
            if chosen and not EARLIEST <= chosen <= today + timedelta(days=366):
                raise forms.ValidationError(
                    f"Choose days from {EARLIEST:%-d %b %Y} to a year from today."
                )
        last = cleaned.get("last") or today
        first = cleaned.get("first") or last - timedelta(days=89)
        if first > last:
            raise forms.ValidationError("“From” must not be after “To”.")
        if last - first > LONGEST_RANGE:
            raise forms.ValidationError("Choose at most three years at a time.")
        cleaned.update(first=first, last=last)
        return cleaned

    def days(self) -> tuple[date, date]:
        """The range chosen, or the last 90 days when none was (or it was not valid)."""
        if self.is_valid():
            return self.cleaned_data["first"], self.cleaned_data["last"]
        return last_90_days()
