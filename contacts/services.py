"""Every change of a contact or of its consent goes through these functions.

Each writes the ledger (`ConsentEvent`) in the same transaction as the change. The database
triggers (migration 0002) refuse whatever would reverse a hard opt-out, so these checks are
the friendly half of the rule and the triggers the half that cannot be bypassed.
"""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from contacts.models import (
    CONTACT_ACTIONS,
    NEW_CONSENT_ACTIONS,
    Channel,
    ConsentEvent,
    Contact,
    HardOptOutError,
    OptInStatus,
    OptOut,
    PhoneOptOut,
    Source,
    Tag,
)
from contacts.phones import normalize_phone


@transaction.atomic
def create_contact(
    *,
    name: str,
    phone: str,
    email: str = "",
    status: str = Contact.Status.ACTIVE,
    tags: Iterable[str] = (),
) -> Contact:
    """Create a contact. If its number opted out (hard) before, the database makes it so."""
    contact = Contact(name=name, phone=phone, email=email, status=status)
    contact.full_clean()  # normalises the phone
    contact.save()
    if tags:
        contact.tags.set([Tag.objects.get_or_create(name=tag)[0] for tag in tags])
    return contact


def hard_opt_out_error(opt_out: OptOut) -> HardOptOutError:
    return HardOptOutError(
        f"{opt_out.describe()} It is a hard opt-out, the contact's own action: only the "
        "contact can undo it, by replying START.",
        code="hard_opt_out",
    )


@transaction.atomic
def unsubscribe(
    *, contact: Contact, channel: Channel, by_user: AbstractBaseUser, note: str = ""
) -> OptOut:
    """Opt the contact out of `channel` (soft). Already opted out: nothing changes."""
    opt_out, created = OptOut.objects.get_or_create(
        contact=contact,
        channel=channel,
        defaults={"kind": OptOut.SOFT, "source": Source.USER, "actor": by_user},
    )
    if created:
        _record(
            contact=contact, channel=channel, before=OptInStatus.SUBSCRIBED,
            after=OptInStatus.SOFT, source=Source.USER, actor=by_user, note=note,
        )  # fmt: skip
    return opt_out


@transaction.atomic
def resubscribe(
    *, contact: Contact, channel: Channel, by_user: AbstractBaseUser, note: str = ""
) -> None:
    """Lift a soft opt-out. A hard one raises HardOptOutError: only the contact can lift it."""
    deleted, _ = OptOut.objects.filter(contact=contact, channel=channel, kind=OptOut.SOFT).delete()
    if deleted:
        _record(
            contact=contact, channel=channel, before=OptInStatus.SOFT,
            after=OptInStatus.SUBSCRIBED, source=Source.USER, actor=by_user, note=note,
        )  # fmt: skip
        return
    hard = OptOut.objects.filter(contact=contact, channel=channel, kind=OptOut.HARD).first()
    if hard:
        raise hard_opt_out_error(hard)


@transaction.atomic
def record_hard_opt_out(
    *,
    phone: str,
    channel: Channel,
    source: Source,
    words: str = "",
    at: datetime | None = None,
) -> PhoneOptOut:
    """The contact behind `phone` opted out of `channel` themselves (STOP, the digit, …).

    It holds for the number: every contact with it, now or created later, is opted out (hard).
    """
    if source not in CONTACT_ACTIONS:
        raise ValueError(f"A hard opt-out is the contact's own action, not {source!r}.")
    phone = normalize_phone(phone)
    existing = PhoneOptOut.objects.filter(phone=phone, channel=channel).first()
    if existing:
        return existing
    at = at or timezone.now()
    _record(
        contact=None, phone=phone, channel=channel, before=OptInStatus.SUBSCRIBED,
        after=OptInStatus.HARD, source=source, note=words, at=at,
    )  # fmt: skip
    # The database copies it onto the number's contacts, with a ledger row for each.
    return PhoneOptOut.objects.create(
        phone=phone, channel=channel, source=source, words=words, opted_out_at=at
    )


@transaction.atomic
def record_new_consent(
    *, phone: str, channel: Channel, source: Source = Source.KEYWORD, words: str = ""
) -> int:
    """The contact behind `phone` opted in again themselves (a START reply).

    Lifts the number's hard opt-out and every opt-out, soft or hard, of its contacts on this
    channel. Returns how many contacts were resubscribed. The database lets a hard opt-out go
    only when the newest ledger row for it is this consent, so the rows come first.
    """
    if source not in NEW_CONSENT_ACTIONS:
        raise ValueError(f"New consent comes from the contact's own reply, not {source!r}.")
    phone = normalize_phone(phone)
    now = timezone.now()
    if PhoneOptOut.objects.filter(phone=phone, channel=channel).exists():
        _record(
            contact=None, phone=phone, channel=channel, before=OptInStatus.HARD,
            after=OptInStatus.SUBSCRIBED, source=source, note=words, at=now,
        )  # fmt: skip
        PhoneOptOut.objects.filter(phone=phone, channel=channel).delete()
    opt_outs = OptOut.objects.filter(contact__phone=phone, channel=channel)
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            contact_id=row.contact_id,
            phone=phone,
            channel=channel,
            before=row.kind,
            after=OptInStatus.SUBSCRIBED,
            source=source,
            note=words,
            at=now,
        )  # fmt: skip
        for row in opt_outs.only("contact_id", "kind")
    )
    deleted, _ = opt_outs.delete()
    return deleted


def _record(
    *,
    contact: Contact | None,
    channel: Channel,
    before: OptInStatus,
    after: OptInStatus,
    source: Source,
    phone: str | None = None,
    actor: AbstractBaseUser | None = None,
    note: str = "",
    at: datetime | None = None,
) -> ConsentEvent:
    return ConsentEvent.objects.create(
        contact=contact,
        phone=phone or contact.phone,
        channel=channel,
        before=before,
        after=after,
        source=source,
        actor=actor,
        note=note,
        at=at or timezone.now(),
    )
