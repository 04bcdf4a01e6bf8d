"""How a contact's Opt-In Status reads to people: icons, accessible names and tooltips."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from contacts.models import Channel, Contact, OptInStatus, OptOut

ICONS = {Channel.SMS: "📩", Channel.CALLS: "📞"}


def tooltip(opt_out: OptOut | None, channel: Channel) -> str:
    """E.g. "Opted out of SMS: replied STOP on 20 Nov 2026. Permanent: only the contact can
    undo it."."""
    if opt_out is None:
        return f"Subscribed to {channel.label}"
    if opt_out.is_hard:
        return f"{opt_out.describe()} Permanent: only the contact can undo it."
    return opt_out.describe()


def accessible_name(status: OptInStatus, channel: Channel) -> str:
    """What a screen reader says, e.g. "SMS: opted out (hard)"."""
    return f"{channel.label}: {status.label.lower()}"


def opt_in_icons(contact: Contact) -> SafeString:
    """The two Opt-In Status icons of one contact (uses prefetched opt_outs)."""
    cells = []
    for channel in Channel:
        opt_out = contact.opt_out_for(channel)
        status = OptInStatus(opt_out.kind) if opt_out else OptInStatus.SUBSCRIBED
        cells.append(
            (status, ICONS[channel], accessible_name(status, channel), tooltip(opt_out, channel))
        )
    return format_html(
        '<span class="opt-in">{}</span>',
        format_html_join(
            "",
            '<span class="opt-in-icon is-{}" role="img" aria-label="{}" title="{}">'
            '<span class="glyph" aria-hidden="true">{}</span></span>',
            ((status, name, tip, icon) for status, icon, name, tip in cells),
        ),
    )
