"""The Contacts table's rows, drawn in Python.

django-tables2 decides the columns, their order, ordering and visibility (contacts.tables);
the cells are drawn here, one small function per column. Drawn through django-tables2, or
even through a template loop, a page's cells cost several times its SQL.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.safestring import SafeString

from contacts.display import fill, opt_in_cell
from contacts.models import Contact, short_date


@dataclass(frozen=True)
class PageContext:
    """What every row of one page shares."""

    can_change: bool
    next_url: str
    csrf_token: str


def _selection(contact: Contact, page: PageContext) -> SafeString:
    return fill(
        '<td class="selection"><input type="checkbox" name="contacts" value="{}"'
        ' form="bulk-form" aria-label="Select {}"></td>',
        contact.pk,
        contact.name,
    )


def _name(contact: Contact, page: PageContext) -> SafeString:
    return fill('<td><a href="{}">{}</a></td>', contact.get_absolute_url(), contact.name)


def _phone(contact: Contact, page: PageContext) -> SafeString:
    return fill('<td class="nowrap">{}</td>', contact.phone_display)


def _email(contact: Contact, page: PageContext) -> SafeString:
    return fill("<td>{}</td>", contact.email)


def _tags(contact: Contact, page: PageContext) -> SafeString:
    tags = "".join(fill('<span class="tag">{}</span>', tag.name) for tag in contact.tag_list)
    return fill("<td>{}</td>", SafeString(tags))


STATUS_LABELS = dict(Contact.Status.choices)


def _status(contact: Contact, page: PageContext) -> SafeString:
    label = STATUS_LABELS.get(contact.status, contact.status)
    return fill('<td class="status-{}">{}</td>', contact.status, label)


def _opt_in(contact: Contact, page: PageContext) -> SafeString:
    cell = opt_in_cell(
        contact, can_change=page.can_change, next_url=page.next_url, csrf_token=page.csrf_token
    )
    return fill('<td class="opt-in-cell">{}</td>', cell)


def _created_at(contact: Contact, page: PageContext) -> SafeString:
    return fill('<td class="nowrap">{}</td>', short_date(contact.created_at))  # as the date filter


CELLS: dict[str, Callable[[Contact, PageContext], SafeString]] = {
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
            "<tr>" + "".join(cell(contact, page) for cell in cells) + "</tr>"
            for contact in contacts
        )
    )
