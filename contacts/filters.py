from functools import cached_property

import django_filters
from django.core.exceptions import ValidationError

from contacts import paging
from contacts.models import (
    Channel,
    ChannelFilter,
    Contact,
    ContactQuerySet,
    Tag,
    consent_on_record,
    contacts_in,
    no_consent_on_record,
)
from contacts.phones import normalize_phone, without_extension
from contacts.search import (
    TextSearch,
    WalkThenLookUp,
    digits_anywhere,
    matches_words,
    phone_fragment,
)


def _searched_number(value: str) -> str | None:
    """The whole number a search names, in E.164, an extension aside; None if it names none."""
    try:
        return normalize_phone(value)
    except ValidationError:
        return without_extension(value)


# No name or email is longer than an email may be, so a longer search could find nothing;
# and SQLite refuses a LIKE pattern of more than 50,000 bytes (a 500, before this limit).
SEARCH_MAX_LENGTH = Contact._meta.get_field("email").max_length


class TagIdField(django_filters.fields.ChoiceField):
    """A tag's id among the choices, as a number reads: "007" is tag 7."""

    def to_python(self, value) -> str:
        value = super().to_python(value)
        try:
            return str(int(value)) if value else value
        except ValueError:  # not a number: not a choice either
            return value


class TagFilter(django_filters.ChoiceFilter):
    field_class = TagIdField


CONSENT_CHOICES = [("on_record", "On record"), ("none", "None on record")]


class ContactFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        max_length=SEARCH_MAX_LENGTH,
        error_messages={
            "max_length": f"Search for at most {SEARCH_MAX_LENGTH} characters: no name or "
            "email is longer."
        },
    )
    sms = django_filters.ChoiceFilter(
        label="SMS", choices=ChannelFilter.choices, method="channel_status", empty_label="Any"
    )
    calls = django_filters.ChoiceFilter(
        label="Calls & Voicemails",
        choices=ChannelFilter.choices,
        method="channel_status",
        empty_label="Any",
    )
    status = django_filters.ChoiceFilter(
        label="Status", choices=Contact.Status.choices, empty_label="Any"
    )
    # A tag by its id, among every tag (`tags`).
    tag = TagFilter(label="Tag", empty_label="Any", method="with_tag")
    sms_consent = django_filters.ChoiceFilter(
        label="SMS consent", choices=CONSENT_CHOICES, method="consent", empty_label="Any"
    )
    calls_consent = django_filters.ChoiceFilter(
        label="Calls consent", choices=CONSENT_CHOICES, method="consent", empty_label="Any"
    )

    class Meta:
        model = Contact
        fields = ["q", "sms", "calls", "status", "tag", "sms_consent", "calls_consent"]

    def __init__(self, *args, tags: list[Tag] | None = None, **kwargs):
        """`tags`: every tag, in name order, when the caller has read them (the Contacts page,
        which shows them beside its rows); else they are read if a tag is chosen or shown."""
        super().__init__(*args, **kwargs)
        if tags is not None:
            self.tags = tags
        self.filters["tag"].extra["choices"] = lambda: [
            (str(tag.pk), tag.name) for tag in self.tags
        ]

    @cached_property
    def tags(self) -> list[Tag]:
        return list(Tag.objects.order_by("name"))

    @property
    def chosen_tag(self) -> Tag | None:
        """The tag the filters choose, if any (the filters are valid)."""
        chosen = self.form.cleaned_data.get("tag")
        return next((tag for tag in self.tags if str(tag.pk) == chosen), None)

    def search(self, queryset: ContactQuerySet, name: str, value: str) -> ContactQuerySet:
        """Name or email, or a phone number in any common format, or part of one."""
        value = value.strip()
        if whole := _searched_number(value):
            return queryset.filter(phone=whole)
        number = phone_fragment(value)
        if number is not None:
            return queryset.filter(number)
        return queryset.filter(matches_words(value))

    @property
    def searches_phones(self) -> bool:
        """Whether the search is for part of a phone number (its results read best in the
        numbers' order)."""
        return phone_fragment(self._search) is not None

    @property
    def searches_text(self) -> bool:
        """Whether the search is for words of names or emails, whose matches may lie anywhere
        in the table's order (see contacts.search.WalkThenLookUp)."""
        value = self._search
        return bool(value) and not self.searches_phones and not _searched_number(value)

    def fetch(self) -> paging.Fetch:
        """How the table's rows are read, page by page (contacts.paging). The matches of a
        search for words, and of filters that no index of the table gives in its order (a
        tag, a channel's status, digits anywhere in a number), are found by walking the order,
        then looked up (contacts.search.WalkThenLookUp); other rows come by the order's index.
        """
        if text_search := self.text_search():
            return text_search.first_past
        chosen = self.form.cleaned_data if self.form.is_valid() else {}
        digits = digits_anywhere(self._search)
        walked_filters = ("tag", "sms", "calls", "sms_consent", "calls_consent")
        if any(chosen.get(name) for name in walked_filters) or digits:
            # A walk tests the digits of each row's number, not the text index, as a search
            # for words does (contacts.search.TextSearch).
            walked = None
            if digits:
                fragment = phone_fragment(self._search, text_index=False)
                walked = self._filtered_but_search().filter(fragment)
            return WalkThenLookUp([(self.qs, ())], walked=walked).first_past
        return paging.first_past

    def text_search(self) -> TextSearch | None:
        """How the matches of a search for words are found, among the contacts that the other
        filters leave (contacts.search.TextSearch); None if the filters search no words."""
        if not self.searches_text:
            return None
        return TextSearch(self._filtered_but_search(), self._search)

    def _filtered_but_search(self) -> ContactQuerySet:
        """The contacts that the filters other than the search leave."""
        others = self.queryset.all()
        for name, value in self.form.cleaned_data.items():
            if name != "q":
                others = self.filters[name].filter(others, value)
        return others

    @property
    def _search(self) -> str:
        return (self.form.cleaned_data.get("q") or "").strip() if self.form.is_valid() else ""

    def with_tag(self, queryset: ContactQuerySet, name: str, value: str) -> ContactQuerySet:
        # Not a join: no DISTINCT, so the name index still serves the sort.
        return queryset.filter(contacts_in(Contact.tags.through.objects.filter(tag_id=int(value))))

    def channel_status(self, queryset: ContactQuerySet, name: str, value: str) -> ContactQuerySet:
        return queryset.with_status(Channel(name), value)

    def consent(self, queryset: ContactQuerySet, name: str, value: str) -> ContactQuerySet:
        """Contacts whose number has consent on record for the channel, or none."""
        channel = Channel(name.removesuffix("_consent"))
        if value == "on_record":
            return queryset.filter(consent_on_record(channel))
        return queryset.filter(no_consent_on_record(channel))
