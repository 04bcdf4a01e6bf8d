"""CSV import of contacts: read and check every row first, then apply all of them or none.

Columns (a header row, any order, case-insensitive): name and phone, required; email, tags
(separated by commas), status, sms and calls, optional; others are ignored. A file exported
from the Contacts table imports as it is.

A row updates the contact with the same phone number and the same name (ignoring case), or
creates one. In the sms and calls columns, empty leaves the channel as it is, `subscribed`
lifts a soft opt-out, `soft` (or `opted out`, `unsubscribed`) opts out softly, and `hard`
records a hard opt-out of the number made elsewhere (another system's STOP list). An import
never lifts a hard opt-out: such rows are applied otherwise and reported.
"""

import csv
import io
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from contacts import services
from contacts.models import Channel, Contact, OptInStatus, Source, Tag
from contacts.phones import normalize_phone

MAX_BYTES = 5 * 1024 * 1024
REQUIRED = ("name", "phone")
OPTIONAL = ("email", "tags", "status", "sms", "calls")
CHANNEL_VALUES = {
    "": None,
    "subscribed": OptInStatus.SUBSCRIBED,
    "soft": OptInStatus.SOFT,
    "opted out": OptInStatus.SOFT,
    "opted out (soft)": OptInStatus.SOFT,
    "unsubscribed": OptInStatus.SOFT,
    "hard": OptInStatus.HARD,
    "opted out (hard)": OptInStatus.HARD,
}
STATUS_VALUES = {
    **{value: value for value in Contact.Status.values},
    **{label.lower(): value for value, label in Contact.Status.choices},
}


class ImportFileError(Exception):
    """The file as a whole cannot be read: wrong type, encoding, size or header."""


@dataclass
class Problem:
    row: int
    column: str
    reason: str


@dataclass
class Row:
    number: int
    name: str
    phone: str
    email: str
    tags: list[str]
    status: str | None
    channels: dict[Channel, OptInStatus]


@dataclass
class Plan:
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.problems


@dataclass
class Result:
    created: int = 0
    updated: int = 0
    opted_out: int = 0
    resubscribed: int = 0
    kept_hard: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.created} created, {self.updated} updated, {self.opted_out} opt-outs "
            f"recorded, {self.resubscribed} resubscribed"
        )
        if self.kept_hard:
            text += f"; {len(self.kept_hard)} hard opt-outs kept (only the contact can undo them)"
        return text + "."


def read(data: bytes) -> Plan:
    """Read and check a whole file. Raises ImportFileError if it cannot be read at all."""
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; the most is "
            f"{MAX_BYTES // 1024 // 1024} MB. Split it, or use `manage.py import_contacts`."
        )
    if b"\x00" in data:
        raise ImportFileError("This is not a CSV file: save the spreadsheet as CSV (UTF-8).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            "The file is not UTF-8 text: save it as “CSV UTF-8” and upload it again."
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip().lower() for column in next(reader)]
    except StopIteration:
        raise ImportFileError("The file is empty.") from None
    except csv.Error as error:
        raise ImportFileError(f"This is not a readable CSV file: {error}.") from None
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise ImportFileError(
            f"The header row has no {' or '.join(missing)} column. It has: "
            f"{', '.join(header) or 'nothing'}."
        )
    plan = Plan(ignored_columns=[c for c in header if c not in REQUIRED + OPTIONAL])
    seen: dict[tuple[str, str], int] = {}
    try:
        for number, values in enumerate(reader, start=2):
            if not any(value.strip() for value in values):
                continue
            cells = dict(zip(header, (value.strip() for value in values), strict=False))
            row = _check(number, cells, plan.problems)
            if row is None:
                continue
            key = (row.phone, row.name.lower())
            if key in seen:
                plan.problems.append(
                    Problem(number, "phone", f"The same contact as row {seen[key]}.")
                )
                continue
            seen[key] = number
            plan.rows.append(row)
    except csv.Error as error:
        raise ImportFileError(f"Row {reader.line_num} cannot be read: {error}.") from None
    if not plan.rows and not plan.problems:
        raise ImportFileError("The file has a header row but no contacts.")
    return plan


def _check(number: int, cells: dict[str, str], problems: list[Problem]) -> Row | None:
    found = len(problems)
    name = cells.get("name", "")
    if not name:
        problems.append(Problem(number, "name", "A name is required."))
    elif len(name) > 200:
        problems.append(Problem(number, "name", "At most 200 characters."))
    phone = ""
    try:
        phone = normalize_phone(cells.get("phone", ""))
    except ValidationError as error:
        problems.append(Problem(number, "phone", error.messages[0]))
    email = cells.get("email", "")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(Problem(number, "email", f"“{email}” is not an email address."))
    tags = [tag.strip() for tag in cells.get("tags", "").split(",") if tag.strip()]
    for tag in tags:
        if len(tag) > 60:
            problems.append(Problem(number, "tags", f"“{tag[:20]}…”: at most 60 characters."))
    status = None
    if cells.get("status"):
        status = STATUS_VALUES.get(cells["status"].lower())
        if status is None:
            problems.append(
                Problem(
                    number,
                    "status",
                    f"“{cells['status']}”: use active, do not contact or archived.",
                )  # fmt: skip
            )
    channels = {}
    for channel in Channel:
        value = cells.get(channel.value, "").lower()
        if value not in CHANNEL_VALUES:
            problems.append(
                Problem(
                    number,
                    channel.value,
                    f"“{value}”: use subscribed, soft or hard, or leave it empty.",
                )  # fmt: skip
            )
        elif CHANNEL_VALUES[value]:
            channels[channel] = CHANNEL_VALUES[value]
    if len(problems) > found:
        return None
    return Row(number, name, phone, email, tags, status, channels)


@transaction.atomic
def apply(plan: Plan, *, by_user: AbstractBaseUser | None, file_name: str) -> Result:
    """Apply every row of a checked plan, in one transaction."""
    if not plan.ok:
        raise ValueError("Only a plan without problems can be applied.")
    result = Result()
    note = f"Import of {file_name}"
    for row in plan.rows:
        contact = Contact.objects.filter(phone=row.phone, name__iexact=row.name).first()
        if contact is None:
            contact = services.create_contact(
                name=row.name, phone=row.phone, email=row.email,
                status=row.status or Contact.Status.ACTIVE,
            )  # fmt: skip
            result.created += 1
        else:
            contact.email = row.email or contact.email
            contact.status = row.status or contact.status
            contact.save(update_fields=["email", "status", "updated_at"])
            result.updated += 1
        if row.tags:
            contact.tags.add(*(Tag.objects.get_or_create(name=tag)[0] for tag in row.tags))
        for channel, wanted in row.channels.items():
            _apply_channel(contact, channel, wanted, row, note, by_user, result)
    return result


def _apply_channel(contact, channel, wanted, row, note, by_user, result) -> None:
    current = contact.opt_in_status(channel)
    if wanted == current:
        return
    if wanted == OptInStatus.HARD:
        services.record_hard_opt_out(
            phone=contact.phone, channel=channel, source=Source.IMPORT, words=note
        )
        result.opted_out += 1
    elif current == OptInStatus.HARD:
        result.kept_hard.append(
            Problem(row.number, channel.value, "Hard opt-out kept: only the contact can undo it.")
        )
    elif wanted == OptInStatus.SOFT:
        services.unsubscribe(
            contact=contact, channel=channel, by_user=by_user, note=note, source=Source.IMPORT
        )
        result.opted_out += 1
    else:
        services.resubscribe(
            contact=contact, channel=channel, by_user=by_user, note=note, source=Source.IMPORT
        )
        result.resubscribed += 1
