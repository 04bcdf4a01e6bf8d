from datetime import date, datetime, time
from typing import NamedTuple

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from contacts import imports, signals
from contacts.filters import ContactFilter
from contacts.models import (
    BulkJob,
    Channel,
    ChannelFilter,
    ConsentMethod,
    ConsentRecord,
    Contact,
    Disclosure,
    PhoneOptOut,
    Tag,
    short_date,
)
from contacts.phones import format_phone, normalize_phone
from contacts.places import time_zone_name


class SubscriptionForm(forms.Form):
    channel = forms.TypedChoiceField(choices=Channel.choices, coerce=Channel)
    action = forms.ChoiceField(
        choices=[("unsubscribe", "Unsubscribe"), ("resubscribe", "Resubscribe")]
    )
    # Sent from the contact page, whose Opt-In card says each status in words too.
    words = forms.BooleanField(required=False)


def replies_to_read_first(contact: Contact, old_phone: str) -> str | None:
    """Why `contact` may not leave `old_phone` yet, if it may not: a reply of the number not
    read yet may be the contact's own request to stop, which follows the contact to a new
    number only once it is recorded while the contact has this one."""
    said = [
        phrase
        for _, phrases in signals.replies_to_read.send(sender=Contact, phone=old_phone)
        for phrase in phrases
    ]
    if not said:
        return None
    return (
        f"Not saved: {format_phone(old_phone)} has a reply not read yet: {'; '.join(said)}. "
        f"If it asks to stop, the opt-out must follow {contact.name} to the new number: "
        "change the number once it is read."
    )


# Of the contacts who share a number, a warning names this many.
SHARERS_NAMED = 3


class ContactForm(forms.ModelForm):
    """A contact's details. A new number that has opted out (hard), or one that leaves the
    contact's consent on record behind, is saved only on a second click, after a warning that
    says what the number did, or what consent will be made void."""

    class Meta:
        model = Contact
        fields = ["name", "phone", "email", "status", "tags", "time_zone", "state"]
        widgets = {"tags": forms.CheckboxSelectMultiple}
        help_texts = {
            "phone": "Any common format; stored as +14155550123.",
            "time_zone": "Eastern, Central, Pacific, Alaska, Hawaii, or an IANA zone such as "
            "America/Denver (Mountain) or America/Phoenix (Arizona); empty: the number's.",
        }
        error_messages = {
            "state": {"invalid_choice": "“%(value)s” is not a US state or territory."}
        }

    number_to_confirm = ""

    def clean_time_zone(self) -> str:
        return time_zone_name(self.cleaned_data["time_zone"])

    def clean(self):
        data = super().clean()
        try:
            phone = normalize_phone(data.get("phone", ""))
        except ValidationError:
            return data  # the phone field says what is wrong
        if phone == self.initial.get("phone"):
            return data
        if self.instance.pk and (
            refusal := replies_to_read_first(self.instance, self.initial["phone"])
        ):
            self.add_error(None, refusal)
            return data
        opt_outs = sorted(
            PhoneOptOut.objects.filter(phone=phone), key=lambda o: Channel.values.index(o.channel)
        )
        warnings = [
            f"{o.cause} on "
            f"{short_date(o.opted_out_at)}: this contact will not receive "
            f"{Channel(o.channel).label} while it has this number."
            for o in opt_outs
        ]
        if self.instance.pk:
            # Consent stays with the number it was given for (contacts/guard: made void).
            left = ConsentRecord.objects.filter(
                contact=self.instance, phone=self.initial.get("phone"),
                status__in=[ConsentRecord.Status.CONFIRMED, ConsentRecord.Status.AWAITING],
            ).order_by("given_at")  # fmt: skip
            warnings += [
                f"Its consent to {Channel(r.channel).label} ({r.describe()}) was given for "
                f"{format_phone(r.phone)}: it will be made void, and kept. Record consent "
                "again for the new number if the contact gave it."
                for r in sorted(left, key=lambda r: Channel.values.index(r.channel))
            ]
            warnings += self._sharers_left_without(list(left))
        warnings += self._sharers_of(phone)
        if warnings and self.data.get("confirmed_phone") != phone:
            self.number_to_confirm = phone
            for warning in warnings:
                self.add_error(None, warning)
            self.add_error(None, "Save again to give the contact this number.")
        return data

    def _sharers_of(self, phone: str) -> list[str]:
        """The contacts who have the number already, which it would share with them: its
        consent on record and its opt-outs with it (a mistyped number joins strangers')."""
        others = Contact.objects.filter(phone=phone).exclude(pk=self.instance.pk)
        names = list(others.order_by("name").values_list("name", flat=True)[: SHARERS_NAMED + 1])
        if not names:
            return []
        if len(names) > SHARERS_NAMED:
            names = [*names[:SHARERS_NAMED], "others"]
        who = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        return [
            f"{who} {'has' if len(names) == 1 else 'have'} this number too: its consent on "
            "record and its opt-outs are the number's, for every contact with it. Check that "
            "they are the same person or household."
        ]

    def _sharers_left_without(self, voided: list[ConsentRecord]) -> list[str]:
        """The other contacts of the old number whose consent to a channel rests on the
        records the move makes void: they are left with none on record."""
        if not voided:
            return []
        old = voided[0].phone
        sharers = list(
            Contact.objects.filter(phone=old).exclude(pk=self.instance.pk).order_by("name")
        )
        if not sharers:
            return []
        names = ", ".join(contact.name for contact in sharers)
        warnings = []
        for channel in sorted({r.channel for r in voided}, key=Channel.values.index):
            others = ConsentRecord.objects.filter(
                phone=old, channel=channel,
                status__in=[ConsentRecord.Status.CONFIRMED, ConsentRecord.Status.AWAITING],
            ).exclude(pk__in=[r.pk for r in voided])  # fmt: skip
            if not others.exists():
                warnings.append(
                    f"{names}, who {'shares' if len(sharers) == 1 else 'share'} "
                    f"{format_phone(old)}, will have no consent to {Channel(channel).label} "
                    "on record then."
                )
        return warnings


class BulkAction(NamedTuple):
    label: str
    permission: str


BULK_ACTIONS = {
    "unsubscribe_sms": BulkAction("Unsubscribe from SMS (soft)", "contacts.change_subscription"),
    "unsubscribe_calls": BulkAction(
        "Unsubscribe from Calls & Voicemails (soft)", "contacts.change_subscription"
    ),
    "resubscribe_sms": BulkAction("Resubscribe to SMS", "contacts.change_subscription"),
    "resubscribe_calls": BulkAction(
        "Resubscribe to Calls & Voicemails", "contacts.change_subscription"
    ),
    "add_tag": BulkAction("Add a tag", "contacts.change_contact"),
    "remove_tag": BulkAction("Remove a tag", "contacts.change_contact"),
    "export": BulkAction("Export CSV", "contacts.export_contact"),
    "check_reassigned": BulkAction("Check for reassigned numbers", "contacts.add_reassignednumber"),
}


# The actions that need a tag, chosen beside the action.
TAG_ACTIONS = {"add_tag", "remove_tag"}


def bulk_actions_for(user) -> list[tuple[str, str]]:
    return [(name, a.label) for name, a in BULK_ACTIONS.items() if user.has_perm(a.permission)]


def action_in_words(action: str, tag: Tag | None) -> str:
    """What a bulk action does, as its confirmation asks: "Add the tag “VIP”"."""
    if action == "add_tag":
        return f"Add the tag “{tag}”"
    if action == "remove_tag":
        return f"Remove the tag “{tag}”"
    return BULK_ACTIONS[action].label


# How the table's filter of a channel reads after "contacts": "opted out of SMS (soft)".
CHANNEL_FILTER_WORDS = {
    ChannelFilter.SUBSCRIBED: "subscribed to {}",
    ChannelFilter.OPTED_OUT: "opted out of {}",
    ChannelFilter.SOFT: "opted out of {} (soft)",
    ChannelFilter.HARD: "opted out of {} (hard)",
}


def filters_in_words(filters: ContactFilter) -> str:
    """The table's filters as they read after "contacts": "tagged Leads and matching
    “smith”"; "" when nothing is filtered (or the filters are not valid)."""
    if not filters.is_valid():
        return ""
    chosen = filters.form.cleaned_data
    words = []
    if filters.chosen_tag:
        words.append(f"tagged {filters.chosen_tag}")
    if (chosen.get("q") or "").strip():
        words.append(f"matching “{chosen['q'].strip()}”")
    for channel in Channel:
        if chosen.get(channel.value):
            words.append(CHANNEL_FILTER_WORDS[chosen[channel.value]].format(channel.label))
    if chosen.get("status"):
        words.append(f"whose status is {Contact.Status(chosen['status']).label}")
    if len(words) < 2:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


class BulkActionForm(forms.Form):
    """An action on the selected contacts, or on all contacts matching the table's filters."""

    action = forms.ChoiceField(
        choices=[(name, a.label) for name, a in BULK_ACTIONS.items()],
        error_messages={"required": "Choose an action in the Action list."},
    )
    scope = forms.ChoiceField(
        choices=[
            ("selected", "the selected contacts"),
            ("all", "all contacts matching the filters"),
        ]
    )
    contacts = forms.ModelMultipleChoiceField(queryset=Contact.objects.all(), required=False)
    tag = forms.ModelChoiceField(queryset=Tag.objects.all(), required=False)
    query = forms.CharField(
        required=False,
        help_text="The table's filters, as a query string.",
        # As long as a bulk job keeps them.
        max_length=BulkJob._meta.get_field("query").max_length,
        error_messages={"max_length": "The filters are too long: filter the table again."},
    )
    confirmed = forms.BooleanField(required=False)

    def __init__(self, data=None, *args, **kwargs):
        # Without JavaScript the Tag chooser shows beside every action: only tag actions read it.
        if data is not None and data.get("action") not in TAG_ACTIONS:
            data = data.copy()
            data.pop("tag", None)
        super().__init__(data, *args, **kwargs)

    def clean(self):
        data = super().clean()
        if data.get("action") in TAG_ACTIONS and not data.get("tag") and "tag" not in self.errors:
            verb = "add" if data["action"] == "add_tag" else "remove"
            self.add_error("tag", f"Choose the tag to {verb}, in the Tag list beside the action.")
        if data.get("scope") == "selected" and not data.get("contacts"):
            self.add_error(
                "contacts",
                "Select at least one contact, or choose all contacts matching the filters.",
            )
        if data.get("scope") == "all":
            filters = ContactFilter(
                QueryDict(data.get("query", "")), queryset=Contact.objects.all()
            )
            if not filters.is_valid():
                self.add_error(
                    "query", "The filters are not valid any more: filter the table again."
                )
            self.filters, self.matching = filters, filters.qs
        return data

    def chosen_contacts(self) -> QuerySet[Contact]:
        if self.cleaned_data["scope"] == "all":
            return self.matching
        return self.cleaned_data["contacts"]


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns name (or first and last name) and phone, and optionally email, "
        "tags, status, sms, calls, time zone, state, and the consent columns (consent to, "
        "consent method, consent date, consent disclosure); you match other columns to them "
        "next. Up to 1,000,000 rows.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError(
                f"“{upload.name}” is not a CSV file: save the spreadsheet as CSV (UTF-8)."
            )
        return upload


class ImportColumnsForm(forms.Form):
    """The field each column of an import's file is read as: one select per column, named
    by its header and shown with its first values. A column that may say whether a contact
    may be texted or called (imports.unsure_columns) is ignored only when its uploader says
    so: a "DNC" column of Ys read as nothing, or as opt-ins, would reach those who asked not
    to be."""

    IGNORE = "ignore"

    def __init__(self, *args, columns: list[tuple[str, list[str]]], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "Ignore"), *imports.FIELDS.items()]
        guesses = [imports.FIELD_OF_HEADER.get(imports.header_key(h), "") for h, _ in columns]
        for place, ((header, values), guess) in enumerate(zip(columns, guesses, strict=True)):
            # Unknown, or guessed twice ("Do not call" and "Do not call"): chosen, or Ignored.
            certain = guess and guesses.count(guess) == 1
            to_choose = imports.speaks_of_consent(header) and not certain
            self.fields[f"column_{place}"] = forms.ChoiceField(
                label=header or f"Column {place + 1}",
                choices=[("", "Choose…"), (self.IGNORE, "Ignore"), *choices[1:]]
                if to_choose
                else choices,
                required=to_choose,
                error_messages={"required": "Choose what this column holds, or Ignore."},
                initial=guess if guesses.count(guess) == 1 else "",
                help_text=", ".join(value[:40] for value in values) or "(empty)",
            )

    def clean(self):
        fields = [self.cleaned_data.get(name, "") for name in self.fields]
        fields = ["" if field == self.IGNORE else field for field in fields]
        if problem := imports.columns_problem(fields):
            raise ValidationError(problem)
        self.cleaned_data["column_fields"] = fields
        return self.cleaned_data


class RequestToStopForm(forms.Form):
    """A contact's own request to stop, told to a staff member: by a call, in person or in
    writing. Recorded as the contact's revocation (hard)."""

    channels = forms.TypedMultipleChoiceField(
        choices=Channel.choices, coerce=Channel, widget=forms.CheckboxSelectMultiple,
        label="They asked to stop",
    )  # fmt: skip
    how = forms.ChoiceField(
        choices=[("by phone", "By phone"), ("in person", "In person"), ("by email", "By email"),
                 ("in writing", "By letter or form"), ("otherwise", "Another way")],
        widget=forms.RadioSelect, label="How",
    )  # fmt: skip
    words = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 2}), label="Their words",
        help_text="As they said or wrote it, e.g. “please stop texting me”.",
    )  # fmt: skip

    def clean_channels(self) -> list[Channel]:
        return list(dict.fromkeys(self.cleaned_data["channels"]))  # each once, in order


class ConsentForm(forms.Form):
    """Consent a user records for a contact: given on paper, on a web form, by voice or in
    another system. A keyword's consent comes only from the contact's own message."""

    channels = forms.TypedMultipleChoiceField(
        choices=Channel.choices, coerce=Channel, widget=forms.CheckboxSelectMultiple,
        label="Consent to",
    )  # fmt: skip
    method = forms.ChoiceField(
        choices=[(m.value, m.label) for m in ConsentMethod if m != ConsentMethod.KEYWORD],
        widget=forms.RadioSelect, label="How",
    )  # fmt: skip
    given_on = forms.DateField(
        label="Given on", widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The day the contact agreed.",
    )  # fmt: skip
    disclosure = forms.ModelChoiceField(
        queryset=Disclosure.objects.none(), required=False, empty_label="None on record",
        label="What the contact saw or heard",
    )  # fmt: skip
    note = forms.CharField(
        required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="How it was given, e.g. “signed the paper form at the front desk”.",
    )  # fmt: skip
    confirm_by_text = forms.BooleanField(
        required=False, initial=True, label="Ask the contact to confirm by text (double opt-in)",
        help_text="The number gets one text (held until its quiet hours end) and confirms with "
        "a YES within 30 days; until then the consent awaits confirmation and marketing leaves "
        "the contact out. Always for a web form.",
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Every version, the newest of each first: a consent given before the last revision
        # was given to the words of its day.
        field = self.fields["disclosure"]
        field.queryset = Disclosure.objects.order_by("title", "-version")
        field.label_from_instance = lambda disclosure: (
            f"{disclosure}, from {short_date(disclosure.created_at)}"
        )

    def clean_channels(self) -> list[Channel]:
        return list(dict.fromkeys(self.cleaned_data["channels"]))  # each once, in order

    def clean(self):
        data = super().clean()
        if data.get("method") == ConsentMethod.WEB_FORM and not data.get("confirm_by_text"):
            self.add_error(
                "confirm_by_text",
                "Consent from a web form holds once the number confirms it: tick this.",
            )
        disclosure = data.get("disclosure")
        if (
            disclosure
            and data.get("given_on")
            and (why := disclosure.written_after(self.given_at()))
        ):
            self.add_error("disclosure", why)
        return data

    def clean_given_on(self) -> date:
        day = self.cleaned_data["given_on"]
        if day > timezone.localdate():
            raise ValidationError("A day to come: consent is recorded once it is given.")
        if day.year < 1970:
            raise ValidationError("Choose a day since 1970.")
        return day

    def given_at(self) -> datetime:
        """Now, for today (consent given as it is recorded); else the start of the day given,
        in the site's time zone."""
        day = self.cleaned_data["given_on"]
        if day == timezone.localdate():
            return timezone.now()
        return timezone.make_aware(datetime.combine(day, time.min))


class DisclosureForm(forms.ModelForm):
    class Meta:
        model = Disclosure
        fields = ["title", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 6})}

    def clean_title(self) -> str:
        title = self.cleaned_data["title"].strip()
        if Disclosure.objects.filter(title=title).exists():
            raise ValidationError("A disclosure has this title: edit it to add a version.")
        return title


class RevisionForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), label="New wording")
