"""How a contact's Opt-In Status reads to people: icons, accessible names, tooltips, and the
one action a user may take on each channel."""

from dataclasses import dataclass
from functools import cache

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from contacts.models import Channel, Contact, OptInStatus, OptOut

ICONS = {Channel.SMS: "📩", Channel.CALLS: "📞"}


@cache
def url_pattern(name: str) -> str:
    """A URL with one id, as a format string: reversed once, not once per row."""
    return reverse(name, args=[0]).replace("/0/", "/{}/", 1)


def tooltip(opt_out: OptOut | None, channel: Channel) -> str:
    """E.g. "Opted out of SMS: replied STOP on 20 Nov 2026. Permanent: only the contact can
    undo it."."""
    if opt_out is None:
        return f"Subscribed to {channel.label}"
    if opt_out.is_hard:
        return f"{opt_out.describe()} Permanent: only the contact can undo it."
    return opt_out.describe()


@dataclass(frozen=True)
class ChannelIcon:
    """One channel's icon in the Opt-In Status column."""

    channel: Channel
    status: OptInStatus
    tooltip: str
    contact_id: int

    @property
    def url(self) -> str:
        """Where its action posts."""
        return url_pattern("contacts:subscription").format(self.contact_id)

    @property
    def icon(self) -> str:
        return ICONS[self.channel]

    @property
    def accessible_name(self) -> str:
        """What a screen reader says, e.g. "SMS: opted out (hard)"."""
        return f"{self.channel.label}: {self.status.label.lower()}"

    @property
    def action(self) -> str | None:
        """The one valid change: none for a hard opt-out."""
        return {OptInStatus.SUBSCRIBED: "unsubscribe", OptInStatus.SOFT: "resubscribe"}.get(
            self.status
        )

    @property
    def action_label(self) -> str:
        if self.action == "unsubscribe":
            return f"Unsubscribe from {self.channel.label}"
        return f"Resubscribe to {self.channel.label}"


def channel_icons(contact: Contact) -> list[ChannelIcon]:
    """Both channels' icons for one contact (uses prefetched opt_outs)."""
    icons = []
    for channel in Channel:
        opt_out = contact.opt_out_for(channel)
        status = OptInStatus(opt_out.kind) if opt_out else OptInStatus.SUBSCRIBED
        icons.append(ChannelIcon(channel, status, tooltip(opt_out, channel), contact.pk))
    return icons


def opt_in_icons(contact: Contact) -> SafeString:
    """The icons as HTML with native tooltips, for the Django admin's changelist."""
    return format_html(
        '<span class="opt-in">{}</span>',
        format_html_join(
            "",
            '<span class="opt-in-icon is-{}" role="img" aria-label="{}" title="{}">'
            '<span class="glyph" aria-hidden="true">{}</span></span>',
            ((i.status, i.accessible_name, i.tooltip, i.icon) for i in channel_icons(contact)),
        ),
    )
