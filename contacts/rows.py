"""The Contacts table's rows: the `row` partial of templates/contacts/contact_table.html,
drawn in Python.

django-tables2 decides the columns, their order, ordering and visibility (contacts.tables);
the cells are drawn here, one small function per column, each escaping what it puts in.
Drawn by the template, a page's rows cost it more than its SQL (bench/NOTES.md);
tests/contacts/test_rows.py checks that the two draw the same.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString

from contacts.display import opt_in_cell, url_pattern
from contacts.models import Contact, short_date


@dataclass(frozen=True)
class PageContext:
    """What every row of one page shares."""

    can_change: bool
    next_url: str
    csrf_token: str


def _selection(contact: Contact, page: PageContext) -> str:
    return (
        f'<td class="selection"><input type="checkbox" name="contacts" value="{contact.pk}"'
        f' form="bulk-form" aria-label="Select {escape(contact.name)}"></td>'
    )


def _name(contact: Contact, page: PageContext) -> str:
    # The pattern reversed once, not once per row (as contact.get_absolute_url() would).
    url = url_pattern("contacts:detail").format(contact.pk)
    return f'<td><a href="{url}">{escape(contact.name)}</a></td>'


def _phone(contact: Contact, page: PageContext) -> str:
    return f'<td class="nowrap">{escape(contact.phone_display)}</td>'


def _email(contact: Contact, page: PageContext) -> str:
    return f"<td>{escape(contact.email)}</td>"


def _tags(contact: Contact, page: PageContext) -> str:
    tags = "".join(f'<span class="tag">{escape(tag.name)}</span>' for tag in contact.tag_list)
    return f"<td>{tags}</td>"


STATUS_LABELS = {status: escape(label) for status, label in Contact.Status.choices}


def _status(contact: Contact, page: PageContext) -> str:
    label = STATUS_LABELS.get(contact.status) or escape(contact.status)
    return f'<td class="status-{escape(contact.status)}">{label}</td>'


def _opt_in(contact: Contact, page: PageContext) -> str:
    cell = opt_in_cell(
        contact, can_change=page.can_change, next_url=page.next_url, csrf_token=page.csrf_token
    )
    return f'<td class="opt-in-cell">{cell}</td>'


def _created_at(contact: Contact, page: PageContext) -> str:
    return f'<td class="nowrap">{short_date(contact.created_at)}</td>'  # as the date filter


CELLS: dict[str, Callable[[Contact, PageContext], str]] = {
    "selection": _selection,
    "name": _name,
    "phone": _phone,
    "email": _email,
    "tags": _tags,
    "status": _status,
    "opt_in": _opt_in,
    "created_at": _created_at,
}


def draw(contacts: Iterable[Contact], columns: list[str], page: PageContext) -> SafeString:
    """The <tr> of each contact, with the cells of `columns` in that order."""
    cells = [CELLS[name] for name in columns]
    return SafeString(
        "\n".join(
            "<tr>" + "".join([cell(contact, page) for cell in cells]) + "</tr>"
            for contact in contacts
        )
    )
