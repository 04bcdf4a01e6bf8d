"""Contacts as CSV, streamed, with cells a spreadsheet could run as formulas neutralised."""

import csv
import re
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils import timezone

from contacts.models import VALID_PHONE, Channel, Contact

COLUMNS = [
    "name", "phone", "email", "tags", "status", "sms", "calls", "time_zone", "state",
    "created_at",
]  # fmt: skip

# OWASP CSV injection: a cell starting with one of these may be read as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """Prefix a would-be formula with a quote; phone numbers, as the app stores them, stay as
    they are. A value that would read as one neutralised gets a quote too, so that `unquote`
    gives every value back as it was."""
    if value.startswith(_FORMULA_START) and not re.fullmatch(VALID_PHONE, value) or _quoted(value):
        return "'" + value
    return value


def unquote(cell: str) -> str:
    """The value that `neutralise` wrote as `cell`: an import reads an export as it was."""
    return cell[1:] if _quoted(cell) else cell


def _quoted(value: str) -> bool:
    return value.startswith("'") and value.lstrip("'").startswith(_FORMULA_START)


def _row(contact: Contact) -> list[str]:
    return [
        contact.name,
        contact.phone,
        contact.email,
        ", ".join(tag.name for tag in contact.tag_list),
        contact.status,
        contact.opt_in_status(Channel.SMS),
        contact.opt_in_status(Channel.CALLS),
        contact.time_zone,
        contact.state,
        timezone.localtime(contact.created_at).isoformat(timespec="seconds"),
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(contacts: QuerySet[Contact]) -> Iterator[str]:
    """The header, then one line per contact, fetched in chunks rather than all at once."""
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    rows = contacts.with_consent().iterator(chunk_size=2000)
    for contact in rows:
        yield writer.writerow([neutralise(str(value)) for value in _row(contact)])
