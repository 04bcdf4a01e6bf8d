import re
from functools import reduce
from itertools import permutations
from operator import or_

import django_filters
import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.functions import Left, Substr, Upper
from django.db.models.lookups import Contains, Exact, IContains

from contacts.models import Channel, ChannelFilter, Contact, ContactQuerySet, Tag
from contacts.paging import Way
from contacts.phones import normalize_phone

PHONE_CHARACTERS = re.compile(r"[\d\s().+-]+")


def phone_fragment(value: str) -> Q | None:
    """Part of a phone number, written as people write numbers: from its start when it begins
    with the country code ("+44 20") or the area code ("(212)"), else three or more of its
    digits anywhere ("212", "555-0101"). None when `value` is not written like a number."""
    digits = re.sub(r"\D", "", value)
    if not PHONE_CHARACTERS.fullmatch(value) or len(digits) < 3:
        return None
    if value.startswith("+"):
        return _starting(f"+{digits}")
    if value.startswith("("):
        country = phonenumbers.country_code_for_region(settings.PHONE_REGION)
        return _starting(f"+{country}{digits}")
    return _holds_digits(digits)


def _holds_digits(digits: str) -> Q:
    """Numbers with `digits` in them: after their "+", as the trigram index has them
    (migration 0016)."""
    return Q(Contains(Substr("phone", 2), digits))


def _is_phone_number(value: str) -> bool:
    try:
        normalize_phone(value)
    except ValidationError:
        return False
    return True


def _starting(prefix: str) -> Q:
    """Numbers that start with `prefix`, as a range of the phone index (which LIKE 'prefix%'
    cannot use unless the database collates as C): "+1201200" ≤ phone < "+1201201"."""
    kept = prefix.rstrip("9")
    if kept == "+":
        return Q(phone__gte=prefix)
    return Q(phone__gte=prefix, phone__lt=kept[:-1] + str(int(kept[-1]) + 1))


# Names and emails are indexed by their first three letters in capitals, then the name
# (migration 0011): the contacts whose name or email starts with "Sofia" are among those under
# "SOF", in name order.
KEY_LENGTH = 3


def text_matches(value: str) -> list[tuple[Q, tuple[str, ...]]]:
    """The ways a contact matches a search for words, each with the sort keys in whose order
    an index gives its matches (if any): its name or its email starts with `value` (case
    aside), or one of them holds it further in, or its number holds the digits in `value`;
    or its name starts with its words in another order.

    Each way has indexes of its own on PostgreSQL (migration 0011), so contacts.paging looks
    a search's matches up way by way."""
    further_in = Q(IContains(Substr("name", 2), value)) | Q(IContains(Substr("email", 2), value))
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 4:
        further_in |= _holds_digits(digits)
    keyed = ("name", "id") if len(value) >= KEY_LENGTH else ()
    ways = [
        (_starts_with("name", value), keyed),
        (_starts_with("email", value), keyed),
        (further_in, ()),
    ]
    words = WORD_SEPARATORS.split(value.strip(" ,"))
    if 1 < len(words) <= MAX_REORDERED_WORDS:
        for reordered in list(permutations(words))[1:]:
            ways.append((_starts_with("name", " ".join(reordered)), keyed))
    return ways


WORD_SEPARATORS = re.compile(r"[\s,]+")
# "Davis Aisha" finds Aisha Davis: a name that starts with the words in another order, each
# order looked up in the index of names' first letters as the words in their own order are.
# Up to three words, six orders.
MAX_REORDERED_WORDS = 3


def _starts_with(field: str, value: str) -> Q:
    """`field` starts with `value`, case aside; and so its first letters, as its index keys
    them, are those of `value`."""
    starts = Q(**{f"{field}__istartswith": value})
    if len(value) < KEY_LENGTH:
        return starts
    key = Upper(Left(field, KEY_LENGTH))
    return Q(Exact(key, Upper(Left(Value(value), KEY_LENGTH)))) & starts


# No name or email is longer than an email may be, so a longer search could find nothing;
# and SQLite refuses a LIKE pattern of more than 50,000 bytes (a 500, before this limit).
SEARCH_MAX_LENGTH = Contact._meta.get_field("email").max_length


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
    tag = django_filters.ModelChoiceFilter(
        label="Tag", queryset=Tag.objects.all(), empty_label="Any", method="with_tag"
    )

    class Meta:
        model = Contact
        fields = ["q", "sms", "calls", "status", "tag"]

    def search(self, queryset: ContactQuerySet, name: str, value: str) -> ContactQuerySet:
        """Name or email, or a phone number in any common format, or part of one."""
        value = value.strip()
        try:
            return queryset.filter(phone=normalize_phone(value))
        except ValidationError:
            pass
        number = phone_fragment(value)
        if number is not None:
            return queryset.filter(number)
        return queryset.filter(reduce(or_, (matches for matches, _ in text_matches(value))))

    @property
    def searches_phones(self) -> bool:
        """Whether the search is for part of a phone number (its results read best in the
        numbers' order)."""
        return phone_fragment(self._search) is not None

    @property
    def searches_text(self) -> bool:
        """Whether the search is for words of names or emails, whose matches may lie anywhere
        in the table's order (see contacts.paging._rows)."""
        value = self._search
        return bool(value) and not self.searches_phones and not _is_phone_number(value)

    def text_search_ways(self) -> list[Way]:
        """The filtered contacts split by the way they match a search for words (text_matches;
        their union is `qs`); none when the search is not for words."""
        if not self.searches_text:
            return []
        others = self.queryset.all()
        for name, value in self.form.cleaned_data.items():
            if name != "q":
                others = self.filters[name].filter(others, value)
        return [Way(others.filter(matches), order) for matches, order in text_matches(self._search)]

    @property
    def _search(self) -> str:
        return (self.form.cleaned_data.get("q") or "").strip() if self.form.is_valid() else ""

    def with_tag(self, queryset: ContactQuerySet, name: str, value: Tag) -> ContactQuerySet:
        # EXISTS rather than a join: no DISTINCT, so the name index still serves the sort.
        tagged = Contact.tags.through.objects.filter(contact=OuterRef("pk"), tag=value)
        return queryset.filter(Exists(tagged))

    def channel_status(self, queryset: ContactQuerySet, name: str, value: str) -> ContactQuerySet:
        return queryset.with_status(Channel(name), value)
