"""Reads that several messaging pages share."""

from collections import defaultdict
from collections.abc import Iterable

from contacts.models import Contact


def contacts_by_phone(phones: Iterable[str]) -> dict[str, list[Contact]]:
    """The contacts that have each of `phones` (E.164), in name order, with their names only."""
    found: dict[str, list[Contact]] = defaultdict(list)
    for contact in Contact.objects.filter(phone__in=set(phones)).only("name", "phone"):
        found[contact.phone].append(contact)
    return found
