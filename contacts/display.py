"""How a contact's Opt-In Status reads to people: icons, accessible names, tooltips, and the
one action a user may take on each channel."""

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from html import escape

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString

from contacts.models import (
    Channel,
    ConsentRecord,
    Contact,
    OptInStatus,
    OptOut,
    Source,
    is_pressed_key,
    short_date,
)

# The app's own drawings, not emoji: a browser without an emoji font draws those as empty boxes.
ICONS = {Channel.SMS: "icons/sms.svg", Channel.CALLS: "icons/calls.svg"}


@cache
def glyph(channel: Channel) -> SafeString:
    """A channel's icon, as an <img> of its drawing in static/."""
    # Its name is on the element around it, which a tooltip or words beside it explain.
    src = static(ICONS[channel])
    return format_html('<img class="glyph" src="{}" alt="" width="20" height="20">', src)


@cache
def url_pattern(name: str) -> str:
    """A URL with one id, as a format string: reversed once, not once per row."""
    return reverse(name, args=[0]).replace("/0/", "/{}/", 1)


# For a tooltip drawn without looking up the number's consent (the Django admin's list).
NOT_LOOKED_UP = object()


def tooltip(
    opt_out: OptOut | None,
    channel: Channel,
    phone: str = "",
    consent: ConsentRecord | None | object = NOT_LOOKED_UP,
    reassigned_at: datetime | None = None,
    contact_status: str = Contact.Status.ACTIVE,
    held: bool = False,
) -> str:
    """E.g. "Opted out of SMS: replied “STOP” on 20 Nov 2026. It ends when the number replies
    START.", "Subscribed to SMS: replied “JOIN” on 3 Dec 2026". `phone` is the contact's number
    now; `consent`, its newest consent on record for the channel (None: none); `reassigned_at`,
    when the number was last reported reassigned; `contact_status`, the contact's overall
    status, which holds back every broadcast unless active; `held`, whether a reply of the
    number waiting for review holds the channel back."""
    if opt_out is None:
        subscribed = f"Subscribed to {channel.label}"
        if consent is not NOT_LOOKED_UP:
            subscribed += f": {consent_words(consent, reassigned_at)}"
        if held:
            subscribed += (
                f". A reply from this number waits in Possible opt-outs: no {channel.label}"
                " reaches it until someone decides"
            )
        return subscribed + held_back_by(contact_status)
    if opt_out.is_hard:
        return f"{opt_out.describe(phone)} {opt_out.ends_when}"
    return f"{opt_out.describe()} {SOFT_ENDS}"


# A soft opt-out's tooltip says so, as a hard one's says how it ends: the icon looks the same.
SOFT_ENDS = "Soft: an Admin can resubscribe the contact."


def held_back_by(contact_status: str) -> str:
    """What a subscribed icon adds for a contact that is not active: the icon says the channel
    may be used, and the status, shown in another column or not at all, says it is not."""
    if contact_status == Contact.Status.ACTIVE:
        return ""
    status = STATUS_LABELS.get(contact_status, contact_status)
    return f". No broadcast reaches this contact while their status is “{status}”."


STATUS_LABELS = dict(Contact.Status.choices)


def consent_words(consent: ConsentRecord | None, reassigned_at: datetime | None = None) -> str:
    """E.g. "replied “JOIN” on 3 Dec 2026", "no consent on record", or "number reported
    reassigned on 6 Dec 2026, no consent since"."""
    if consent and not (reassigned_at and consent.given_at <= reassigned_at):
        return consent.describe()
    if reassigned_at:
        return f"number reported reassigned on {short_date(reassigned_at)}, no consent since"
    return "no consent on record"


def status_words(
    opt_out: OptOut | None,
    consent: ConsentRecord | None = None,
    reassigned_at: datetime | None = None,
) -> str:
    """A channel's status in words, for the contact page: "Subscribed — replied “JOIN” on 3
    Dec 2026", "Opted out (soft) — by admin on 20 Nov 2026", "Opted out (hard) — pressed 9 on
    29 Nov 2026"."""
    if opt_out is None:
        return f"{OptInStatus.SUBSCRIBED.label} — {consent_words(consent, reassigned_at)}"
    kind, when = OptInStatus(opt_out.kind).label, short_date(opt_out.opted_out_at)
    return f"{kind} — {_how(opt_out)} on {when}"


def _how(opt_out: OptOut) -> str:
    """Who or what opted the contact out: the tooltip's cause, but the key itself where the
    call recorded it ("pressed 9"), and the carrier as the one who reported it."""
    if opt_out.is_hard and not opt_out.inherited:
        if opt_out.source == Source.DIGIT and is_pressed_key(opt_out.words):
            return opt_out.words
        if opt_out.source == Source.CARRIER:
            return "reported by the carrier"
    return opt_out.cause


@dataclass(frozen=True)
class ChannelIcon:
    """One channel's icon in the Opt-In Status column."""

    channel: Channel
    status: OptInStatus
    tooltip: str
    contact_id: int
    opt_out: OptOut | None = None
    consent: ConsentRecord | None = None
    reassigned_at: datetime | None = None

    @property
    def url(self) -> str:
        """Where its action posts."""
        return url_pattern("contacts:subscription").format(self.contact_id)

    @property
    def icon(self) -> SafeString:
        return glyph(self.channel)

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

    @property
    def hard_reason(self) -> str:
        """Why a hard opt-out has no action."""
        return HARD_REASONS[self.channel].format(digit=settings.RESUBSCRIBE_DIGIT)

    @property
    def words(self) -> str:
        """The status in words, for the contact page (see status_words)."""
        return status_words(self.opt_out, self.consent, self.reassigned_at)


# Whoever has the number now, and however it came to the contact: nobody here can lift it.
HARD_REASONS = {
    Channel.SMS: "A hard opt-out: nobody here can lift it, only a START from the number.",
    Channel.CALLS: "A hard opt-out: nobody here can lift it, only a call from the number that"
    " presses {digit}.",
}


def channel_icons(contact: Contact, *, consent: bool = True) -> list[ChannelIcon]:
    """Both channels' icons for one contact (uses prefetched opt_outs), with its number's
    consent on record unless `consent` is False."""
    icons = []
    reassigned_at = contact.reported_reassigned_at() if consent else None
    for channel in Channel:
        opt_out = contact.opt_out_for(channel)
        status = OptInStatus(opt_out.kind) if opt_out else OptInStatus.SUBSCRIBED
        record = contact.consent_for(channel) if consent else None
        tip = tooltip(
            opt_out,
            channel,
            contact.phone,
            record if consent else NOT_LOOKED_UP,
            reassigned_at,
            contact.status,
            held=consent and contact.held_back(channel),
        )
        icons.append(ChannelIcon(channel, status, tip, contact.pk, opt_out, record, reassigned_at))
    return icons


def opt_in_cell(contact: Contact, *, can_change: bool, next_url: str, csrf_token: str) -> str:
    """templates/contacts/_opt_in.html (without words or a message) in Python, for the rows of
    the Contacts table: the template, run for each row, cost the page more than its SQL
    (bench/NOTES.md). tests/contacts/test_rows.py checks that the two draw the same."""
    csrf, next_url = conditional_escape(csrf_token), conditional_escape(next_url)
    items = []
    reassigned_at = contact.reported_reassigned_at()
    for channel in CHANNELS:
        opt_out = contact.opt_out_for(channel)
        status = opt_out.kind if opt_out else OptInStatus.SUBSCRIBED
        consent = None if opt_out else contact.consent_for(channel)
        held = contact.held_back(channel)
        tip = escape(
            tooltip(opt_out, channel, contact.phone, consent, reassigned_at, contact.status, held)
        )
        item = _item(channel, status, can_change)
        items.append(item.format(pk=contact.pk, tip=tip, csrf=csrf, next=next_url))
    return f'<div class="opt-in" id="opt-in-{contact.pk}">{"".join(items)}</div>'


CHANNELS = tuple(Channel)
_ITEM = '<span class="opt-in-item">{}<span class="tooltip" role="tooltip" id="{}">{}</span></span>'
_READ_ONLY_ICON = (
    '<span class="opt-in-icon is-{}" tabindex="0" role="img" aria-label="{}"'
    ' aria-describedby="{}">{}</span>'
)
_MENU = (
    '<details class="opt-in-details"><summary class="opt-in-icon is-{}" aria-label="{}"'
    ' aria-describedby="{}">{}</summary>'
    '<div class="opt-in-menu"><p>{}</p>{}</div></details>'
)
_ACTION = (
    '<form method="post" action="{url}" hx-post="{url}" hx-target="#opt-in-{pk}"'
    ' hx-swap="outerHTML">'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
    '<input type="hidden" name="channel" value="{channel}">'
    '<input type="hidden" name="action" value="{action}">'
    '<input type="hidden" name="next" value="{next}">'
    '<button type="submit" class="button">{label}</button></form>'
)


@cache
def _item(channel: Channel, status: str, can_change: bool) -> str:
    """One channel's icon, tooltip and action as a format string: all filled in but the
    contact's {pk} and {tip} and the page's {csrf} and {next}, each of which the caller
    escapes. Drawn once for each channel, status and permission, not for each contact."""
    pk, csrf, next_url = SafeString("{pk}"), SafeString("{csrf}"), SafeString("{next}")
    status = OptInStatus(status)
    tip = SafeString("{tip}")
    icon = ChannelIcon(channel, status, tooltip=tip, contact_id=pk)
    tip_id = SafeString(f"tip-{{pk}}-{channel}")
    name = icon.accessible_name
    if not can_change:
        button = format_html(_READ_ONLY_ICON, status, name, tip_id, icon.icon)
    elif icon.action:
        action = format_html(
            _ACTION,
            url=icon.url,
            pk=pk,
            csrf=csrf,
            channel=channel,
            action=icon.action,
            next=next_url,
            label=icon.action_label,
        )
        button = format_html(_MENU, status, name, tip_id, icon.icon, icon.tooltip, action)
    else:
        action = format_html('<p class="hard-reason">{}</p>', icon.hard_reason)
        button = format_html(_MENU, status, name, tip_id, icon.icon, icon.tooltip, action)
    return format_html(_ITEM, button, tip_id, icon.tooltip)


def opt_in_icons(contact: Contact) -> SafeString:
    """The icons as HTML with native tooltips, for the Django admin's changelist."""
    return format_html(
        '<span class="opt-in">{}</span>',
        format_html_join(
            "",
            '<span class="opt-in-icon is-{}" role="img" aria-label="{}" title="{}">{}</span>',
            (
                (i.status, i.accessible_name, i.tooltip, i.icon)
                # The admin's list, without a query a row: consent is on the contact's page.
                for i in channel_icons(contact, consent=False)
            ),
        ),
    )
