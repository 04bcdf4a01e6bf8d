from django import template
from django.utils.safestring import SafeString

from contacts import display, rows

register = template.Library()


@register.simple_tag(takes_context=True)
def opt_in_cell(context, contact) -> SafeString:
    """The Opt-In Status cell of `contact` (see contacts.display.opt_in_cell)."""
    return display.opt_in_cell(
        contact,
        can_change=context.get("can_change", False),
        next_url=context.get("next", ""),
        csrf_token=str(context.get("csrf_token", "")),
        message=context.get("message", ""),
    )


@register.simple_tag(takes_context=True)
def contact_rows(context, table, contacts) -> SafeString:
    """The rows of `contacts` in the Contacts table's visible columns (see contacts.rows)."""
    page = rows.Page(
        can_change=context.get("can_change", False),
        next_url=context.get("next", ""),
        csrf_token=str(context.get("csrf_token", "")),
    )
    columns = [column.name for column in table.columns]
    return rows.draw(contacts, columns, page)
