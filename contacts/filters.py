import re

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q

from contacts.models import Channel, ChannelFilter, Contact, ContactQuerySet, Tag
from contacts.phones import normalize_phone


class ContactFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
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
        """Name or email, or a phone number in any common format (or four of its digits)."""
        value = value.strip()
        try:
            return queryset.filter(phone=normalize_phone(value))
        except ValidationError:
            pass
        matches = Q(name__icontains=value) | Q(email__icontains=value)
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 4:
            matches |= Q(phone__contains=digits)
        return queryset.filter(matches)

    def with_tag(self, queryset: ContactQuerySet, name: str, value: Tag) -> ContactQuerySet:
        # EXISTS rather than a join: no DISTINCT, so the name index still serves the sort.
        tagged = Contact.tags.through.objects.filter(contact=OuterRef("pk"), tag=value)
        return queryset.filter(Exists(tagged))

    def channel_status(self, queryset: ContactQuerySet, name: str, value: str) -> ContactQuerySet:
        return queryset.with_status(Channel(name), value)
