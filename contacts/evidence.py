"""The evidence file of a phone number: everything the app holds on how the number agreed to
receive texts and calls and how it opted out, for a carrier, a court or the contact.

One file per number (consent and opt-outs belong to the number): its holders (the contacts
that had it, and when the app saw them with it), every consent record with the words of the
disclosure as shown, the number's opt-outs and opt-ins, every ledger row, and every message to
and from it with its provider id. The messages are the apps above's to give (messaging,
broadcasts), which this module does not import: each answers `messages_wanted` with its own.
"""

from datetime import UTC, datetime
from itertools import chain

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from contacts.models import (
    ConsentEvent,
    ConsentRecord,
    Contact,
    OptIn,
    PhoneOptOut,
    ReassignedNumber,
)
from contacts.phones import format_phone
from contacts.signals import messages_wanted


def when(moment: datetime | None) -> str | None:
    """A moment as the file writes it: ISO 8601, in UTC."""
    return moment.astimezone(UTC).isoformat() if moment else None


def for_number(phone: str) -> dict:
    """The evidence of `phone` (in E.164), oldest first in each part."""
    ledger = list(ConsentEvent.objects.filter(phone=phone).order_by("id"))
    records = list(
        ConsentRecord.objects.filter(phone=phone).select_related("disclosure").order_by("id")
    )
    messages = sorted(
        chain.from_iterable(found for _, found in messages_wanted.send(Contact, phone=phone)),
        key=lambda message: message["at"],
    )
    reports = list(ReassignedNumber.objects.filter(phone=phone).order_by("id"))
    users = _usernames(
        [row.actor_id for row in ledger]
        + [record.recorded_by_id for record in records]
        + [report.by_user_id for report in reports]
    )
    return {
        "number": phone,
        "number_display": format_phone(phone),
        "business": settings.BUSINESS_NAME,
        "generated_at": when(timezone.now()),
        "holders": _holders(phone, ledger, records, messages),
        "consent_records": [_record(record, users) for record in records],
        "opt_outs": [
            {
                "channel": row.channel,
                "at": when(row.opted_out_at),
                "source": row.source,
                "words": row.words,
                "matched": row.matched,
            }  # fmt: skip
            for row in PhoneOptOut.objects.filter(phone=phone).order_by("id")
        ],
        "opt_ins": [
            {
                "channel": row.channel,
                "at": when(row.at),
                "source": row.source,
                "words": row.words,
                "event": row.reference,
            }  # fmt: skip
            for row in OptIn.objects.filter(phone=phone).order_by("id")
        ],
        "reported_reassigned": [
            {
                "at": when(row.reported_at),
                "how": row.how,
                "words": row.words,
                "event": row.reference,
                "by_user": _user(row.by_user_id, users),
            }  # fmt: skip
            for row in reports
        ],
        "ledger": [_ledger_row(row, users) for row in ledger],
        "messages": [message | {"at": when(message["at"])} for message in messages],
    }


def _usernames(ids: list[int | None]) -> dict[int, str]:
    user = get_user_model()
    found = user.objects.filter(pk__in={pk for pk in ids if pk}).values_list(
        "pk", user.USERNAME_FIELD
    )
    return dict(found)


def _user(pk: int | None, users: dict[int, str]) -> str | None:
    if pk is None:
        return None
    return users.get(pk, f"deleted user {pk}")


def _record(record: ConsentRecord, users: dict[int, str]) -> dict:
    disclosure = record.disclosure
    return {
        "id": record.pk,
        "channel": record.channel,
        "method": record.method,
        "how": record.how,
        "given_at": when(record.given_at),
        "recorded_at": when(record.recorded_at),
        "recorded_by": _user(record.recorded_by_id, users),
        "contact_id": record.contact_id,
        "words": record.words,
        "event": record.reference,
        "status": record.status,
        "confirmed_at": when(record.confirmed_at),
        "confirmation": record.confirmation,
        "voided_at": when(record.voided_at),
        "void_reason": record.void_reason,
        "disclosure": disclosure
        and {"title": disclosure.title, "version": disclosure.version, "text": disclosure.text},
    }


def _ledger_row(row: ConsentEvent, users: dict[int, str]) -> dict:
    return {
        "id": row.pk,
        "at": when(row.at),
        "contact_id": row.contact_id,
        "channel": row.channel,
        "before": row.before,
        "after": row.after,
        "source": row.source,
        "by": _user(row.actor_id, users),
        "note": row.note,
        "via": row.via,
        "matched": row.matched,
        "how": row.how if not row.actor_id else f"by {_user(row.actor_id, users)}",
    }


def _holders(phone: str, ledger, records, messages) -> list[dict]:
    """The contacts that had the number: those that have it now, and those the ledger, the
    consent records and the messages saw with it, each with the first and last time seen."""
    seen: dict[int, list[datetime]] = {}
    for contact_id, moment in chain(
        ((row.contact_id, row.at) for row in ledger),
        ((record.contact_id, record.recorded_at) for record in records),
        ((message.get("contact_id"), message["at"]) for message in messages),
    ):
        if contact_id is not None:
            seen.setdefault(contact_id, []).append(moment)
    now = {contact.pk: contact for contact in Contact.objects.filter(phone=phone)}
    named = {c.pk: c for c in Contact.objects.filter(pk__in=seen.keys() - now.keys())}
    holders = []
    for pk in sorted(seen.keys() | now.keys()):
        contact = now.get(pk) or named.get(pk)
        moments = sorted(seen.get(pk, []))
        holders.append({
            "contact_id": pk,
            "name": contact.name if contact else None,
            "has_it_now": pk in now,
            "number_now": contact.phone if contact else None,
            "created_at": when(contact.created_at) if contact else None,
            "first_seen_with_it": when(moments[0]) if moments else None,
            "last_seen_with_it": when(moments[-1]) if moments else None,
        })  # fmt: skip
    return holders
