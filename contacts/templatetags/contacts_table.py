"""Tags of the Contacts page and of a contact's Opt-In Status cell."""

from django import template
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString

from contacts import display, models, rows

register = template.Library()


@register.filter
def channel_icons(contact: models.Contact) -> list[display.ChannelIcon]:
    """Both channels' icons of `contact` (see contacts.display.channel_icons)."""
    return display.channel_icons(contact)


@register.filter
def short_date(moment) -> str:
    """E.g. "26 Nov 2026" (see contacts.models.short_date)."""
    return models.short_date(moment)


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
