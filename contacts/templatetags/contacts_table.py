"""Tags of the Contacts page: its rows, its Opt-In cells and its filters, drawn in Python."""

from django import template
from django.utils.html import conditional_escape, format_html, format_html_join
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
        words=context.get("words", False),
    )


@register.simple_tag(takes_context=True)
def contact_rows(context, table, contacts) -> SafeString:
    """The rows of `contacts` in the Contacts table's visible columns (see contacts.rows)."""
    page = rows.PageContext(  # escaped once for the page, not once a row
        can_change=context.get("can_change", False),
        next_url=conditional_escape(context.get("next", "")),
        csrf_token=conditional_escape(str(context.get("csrf_token", ""))),
    )
    columns = [column.name for column in table.columns]
    return rows.draw(contacts, columns, page)


@register.simple_tag
def filter_select(field) -> SafeString:
    """A filter's <select>, drawn here: Django's widget templates include a template for each
    option, which cost the Contacts page about a millisecond."""
    chosen = str(field.value() or "")
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, SafeString(" selected" if str(value) == chosen else ""), label)
            for value, label in field.field.widget.choices
        ),
    )
    invalid = SafeString(' aria-invalid="true"' if field.errors else "")
    return format_html(
        '<select name="{}" id="{}"{}>{}</select>',
        field.html_name,
        field.id_for_label,
        invalid,
        options,
    )
