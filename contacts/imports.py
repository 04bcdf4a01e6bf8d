"""CSV import of contacts, for files of up to a million rows.

1. `store` keeps the uploaded file in the database, in pieces, once its header row can be
   read; where the header does not say which column is which, its uploader matches them
   (`set_columns`).
2. `check` reads it as a stream, checks every row, and keeps the rows that will be applied
   (`ImportRow`) and the problems (`ImportProblem`); the pieces go.
3. Its uploader sees the result and, with no problem, what applying it will do (`preview`):
   the contacts it creates and updates, and the opt-ins a hard opt-out overrides. `apply`
   applies the rows in order, IMPORT_BATCH_SIZE rows per transaction (crm.transactions),
   each batch in a few set-based statements: a STOP that arrives meanwhile waits for one
   batch at most, and an import that stops (a worker restart) goes on from its last batch.

Columns (a header row, any order): name (or first name and last name, joined) and phone,
required; email, tags (separated by commas), status, sms, calls (and lists of opt-outs of
either or both, "Do not call": OPT_OUT_LIST_VALUES, the stronger value winning), time zone
(an IANA name,
such as America/Chicago) and state (a US state or territory, its postal code or name),
optional; others are ignored. Headers are read ignoring case, spaces and punctuation, and
other systems' names for the fields (HEADERS) are understood. A file whose header does not
name the required fields, or names one twice differently ("Phone" and "Mobile"), waits for
its uploader to match its columns to fields (`set_columns`) before it is checked. A file
exported from the Contacts table imports as it is.

A row updates the contact with the same phone number and the same name (ignoring case), or
creates one. An empty email, status, time zone or state leaves the contact's as it is. In the
sms and calls columns, empty leaves the channel as it is, `subscribed` (or `yes`) lifts a soft
opt-out, `soft` (or `opted out`, `unsubscribed`) opts out softly, and `hard` records a hard
opt-out of the number made elsewhere (another system's STOP list); another system's `no` is a
problem row that asks which of the two it means. An import never lifts a hard opt-out: such
rows are applied otherwise and reported.

Consent columns record the number's consent (`_consent`): consent to (sms, calls or both; SMS
when empty), consent method (web form, paper, verbal, import), consent date (ISO 8601
or month/day/year; a day alone is its start in TIME_ZONE) and consent disclosure ("Sign-up form
v2", or a title alone for its newest version). A row that gives any of them claims consent,
and without a method or a date is a problem row. Each channel's record is written once.
Confirm by text (yes or no) makes it await the number's YES (double opt-in), which one text
asks for once its batch is written.
"""

import codecs
import csv
import io
import re
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import batched

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.tasks import task
from django.utils import timezone

from contacts import services
from contacts.csv_export import unquote
from contacts.models import (
    ONLY_THE_CONTACT,
    Channel,
    ConsentMethod,
    ConsentRecord,
    Contact,
    ContactImport,
    Disclosure,
    ImportChunk,
    ImportProblem,
    ImportRow,
    OptInStatus,
    Source,
    StatusChange,
    Tag,
    channels_revoked,
)
from contacts.phones import format_phone, normalize_phone
from contacts.places import state_code, time_zone_name
from crm.arrays import array_text
from crm.transactions import one_transaction_each

MAX_ROWS = 1_000_000
# A million rows of an export, with room for long names and many tags.
MAX_BYTES = 256 * 1024 * 1024
PIECE = 1024 * 1024
# Rows written at a time by the check.
CHECK_BATCH = 20_000
# A file this small is checked while its upload waits (about 10,000 rows).
INLINE_BYTES = 1024 * 1024

FIRST_NAME, LAST_NAME = "first_name", "last_name"
# The fields a column can be matched to, as the column-matching page offers them.
FIELDS = {
    "name": "Name",
    FIRST_NAME: "First name",
    LAST_NAME: "Last name",
    "phone": "Phone",
    "email": "Email",
    "tags": "Tags",
    "status": "Status",
    "sms": "SMS",
    "calls": "Calls",
    "sms_opt_out": "Opted out of SMS (a list: yes = opted out)",
    "calls_opt_out": "Opted out of Calls (a list: yes = opted out)",
    "opted_out": "Opted out of both (a list: yes = opted out)",
    "time_zone": "Time zone",
    "state": "State",
    "consent": "Consent to",
    "consent_method": "Consent method",
    "consent_date": "Consent date",
    "consent_disclosure": "Consent disclosure",
    "consent_confirm": "Confirm by text",
}
# The headers read as each field, as `header_key` writes them: other systems' exports name
# them so. Not "first" or "last" alone, nor "contact": too often something else.
HEADERS = {
    "name": ("name", "full name", "contact name", "display name", "customer name"),
    FIRST_NAME: ("first name", "firstname", "given name", "forename"),
    LAST_NAME: ("last name", "lastname", "surname", "family name"),
    "phone": (
        "phone", "phone number", "phone no", "mobile", "mobile phone", "mobile number",
        "cell", "cell phone", "cellphone", "cell number", "telephone", "telephone number",
        "tel", "sms number",
    ),
    "email": ("email", "e-mail", "email address", "e-mail address", "mail"),
    "tags": ("tags", "tag", "labels", "groups"),
    "status": ("status", "contact status"),
    "sms": (
        "sms", "sms opt-in", "text messages", "texts", "text opt-in", "texting opt-in",
        "sms subscription", "sms status", "sms subscribed",
    ),
    "calls": (
        "calls", "calls opt-in", "phone calls", "voice", "voice opt-in", "voice calls",
        "call opt-in", "calls and voicemails", "calls & voicemails", "voice subscription",
        "voice status", "calls status",
    ),
    "sms_opt_out": (
        "sms opt-out", "sms opted out", "text opt-out", "texts opt-out", "opted out of sms",
        "opted out of texts", "sms unsubscribed", "do not text",
    ),
    "calls_opt_out": (
        "calls opt-out", "call opt-out", "voice opt-out", "calls opted out", "opted out of calls",
        "voice unsubscribed", "do not call",
    ),
    # Not "Opted out" or "Unsubscribed" alone: often of e-mails, which the uploader says.
    "opted_out": ("do not contact", "do not text or call", "do not call or text"),
    "time_zone": ("time zone", "tz", "iana time zone"),
    "state": ("state", "us state", "state code"),
    "consent": ("consent", "consent to", "consent channels", "consented to", "opt-in channels"),
    "consent_method": (
        "consent method", "consent source", "opt-in method", "opt in method", "opt-in source",
        "sms opt-in method", "how consented",
    ),
    "consent_date": (
        "consent date", "consented at", "consent given", "opt-in date", "opt in date",
        "opt-in timestamp", "sms opt-in date", "date consented",
    ),
    "consent_disclosure": (
        "consent disclosure", "disclosure", "disclosure version", "consent language",
        "consent text",
    ),
    "consent_confirm": ("confirm by text", "double opt-in", "double opt in", "confirm consent"),
}  # fmt: skip
CHANNEL_COLUMNS = tuple(Channel.values)  # in ROW_COLUMNS' order
CHANNEL_VALUES = {
    "": "",
    "subscribed": OptInStatus.SUBSCRIBED.value,
    "soft": OptInStatus.SOFT.value,
    "opted out (soft)": OptInStatus.SOFT.value,
    "hard": OptInStatus.HARD.value,
    "opted out (hard)": OptInStatus.HARD.value,
    # Other systems' opt-in columns ("SMS Opt-In: Yes").
    **dict.fromkeys(
        ("yes", "y", "true", "1", "opted in", "opted-in", "opt in", "opt-in"),
        OptInStatus.SUBSCRIBED.value,
    ),
}
# Other systems' words for an opt-out that do not say whose it was: the contact's own (a STOP
# there: hard) or the business's (soft), which only the uploader knows. Refused, as guessing
# soft would let a user lift a contact's own STOP.
NO_VALUES = (
    "no", "n", "false", "0", "opted out", "opted-out", "opt out", "opt-out", "optout",
    "unsubscribed", "unsubscribe", "stop", "stopped", "do not call", "do not text", "dnc",
)  # fmt: skip
# The fields that say whether a contact may be texted or called: a column guessed as one of
# them, but not for certain, is never ignored unasked (speaks_of_consent).
CONSENT_FIELDS = {
    "status", "sms", "calls", "sms_opt_out", "calls_opt_out", "opted_out", "consent",
    "consent_method", "consent_date", "consent_disclosure", "consent_confirm",
}  # fmt: skip
# The lists of opt-outs, and the channels each covers.
OPT_OUT_LISTS = {
    "sms_opt_out": ("sms",),
    "calls_opt_out": ("calls",),
    "opted_out": ("sms", "calls"),
}
# The stronger of two values a row gives a channel (a column of opt-ins and a list of
# opt-outs): an opt-out over a subscription, the contact's own over the business's.
STRENGTH = {"": 0, "subscribed": 1, "soft": 2, "hard": 3}
# A list of opt-outs ("Do not call: Y"), whose yes is an opt-out, not an opt-in. Whose it was,
# the list seldom says: a yes is the contact's own (hard), which nobody here can lift, unless
# it says soft (the business's own choice); no or empty leaves the channel as it is.
OPT_OUT_LIST_VALUES = {
    **dict.fromkeys(("", "no", "n", "false", "0"), ""),
    **dict.fromkeys(
        ("yes", "y", "true", "1", "x", "hard", "opted out", "opted out (hard)", "dnc", "stop"),
        OptInStatus.HARD.value,
    ),
    **dict.fromkeys(("soft", "opted out (soft)"), OptInStatus.SOFT.value),
}
STATUS_VALUES = {
    **{value: value for value in Contact.Status.values},
    **{label.lower(): value for value, label in Contact.Status.choices},
}
EMAIL_LENGTH = Contact._meta.get_field("email").max_length
NAME_KEY_KEPT = ImportRow._meta.get_field("name_key").max_length
# Letters, digits and . _ % + - before the @, never a dot first, last or twice; a domain of
# labels of letters, digits and inner hyphens, and a top-level name of letters.
PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
KEPT_HARD = f"Hard opt-out kept: {ONLY_THE_CONTACT}."
NOT_CSV = "This is not a CSV file: save the spreadsheet as CSV (UTF-8)."
NOT_UTF8 = (
    "The file is not UTF-8 text, nor Windows-1252: save it as “CSV UTF-8” and upload it again."
)


class ImportFileError(Exception):
    """The file as a whole cannot be read: wrong type, encoding, size or header."""


def header_key(header: str) -> str:
    """A header as HEADERS has it: "E-Mail Address " -> "emailaddress"."""
    return re.sub(r"[\W_]+", "", header.lower())


FIELD_OF_HEADER = {header_key(h): field for field, headers in HEADERS.items() for h in headers}


def fields_of(header: list[str]) -> list[str] | None:
    """The field each column is read as ("" for one ignored), from the header alone; None
    when it does not name a name and a phone, names a field twice ("Phone, Mobile", or
    "phone, phone"), or would ignore a column that may say who agreed to texts or calls
    ("Voice Permission"): then the uploader matches the columns, rather than lose one."""
    fields = [FIELD_OF_HEADER.get(header_key(column), "") for column in header]
    named = [field for field in fields if field]
    if len(named) != len(set(named)) or columns_problem(named) or unsure_columns(header):
        return None
    return fields


# The words of a header that may speak of consent or a channel: whole words, so that "Recall
# Date", "Caller ID" or "Options" say nothing of it.
CONSENT_WORDS = re.compile(
    r"\b(?:opt|opted|optin|optout|consents?|consented|subscribed?|subscriptions?|unsubscribed?"
    r"|unsubs?|permissions?|dnc|dnd|stop|stopped|sms|texts?|texting|voice|calls|robocalls?|tcpa"
    r"|blocked|suppress(?:ed|ion)?|blacklist(?:ed)?|do not \w+|no contact"
    # "Don't Call", "Can't Call", "OK to Call", "Can Text", "Call OK", "Call (Y/N)": not "call"
    # alone, which "Recall Date" (a dental office's next check-up) has, nor "No Call No Show"
    # (an appointment missed).
    r"|(?:don t|dont|no|not|never|ok to|okay to|can|can t|cant|cannot|won t|wont|may)"
    r" (?:call|text|message|phone|contact)(?! no show)"
    r"|(?:call|phone|contact) (?:ok|okay|allowed|permitted|y n)|callable|autodial(?:er)?|txt)\b"
)


def speaks_of_consent(column: str) -> bool:
    """Whether a column's header may say whether a contact may be texted or called: a field
    of CONSENT_FIELDS reads it, or it has CONSENT_WORDS ("Voice Permission", "DNC", "Do Not
    Contact")."""
    if FIELD_OF_HEADER.get(header_key(column)) in CONSENT_FIELDS:
        return True
    # Words apart where capitals part them too: "HasOptedOutOfMobile", "isDNC", "DNCFlag".
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", column)
    return bool(CONSENT_WORDS.search(" ".join(re.findall(r"[a-z]+", spaced.lower()))))


def unsure_columns(header: list[str]) -> list[str]:
    """The columns that no field's name reads, but that may say whether a contact may be
    texted or called: not ignored unasked."""
    return [
        column for column in header
        if not FIELD_OF_HEADER.get(header_key(column)) and speaks_of_consent(column)
    ]  # fmt: skip


def columns_problem(fields: list[str]) -> str:
    """Why columns matched to these fields cannot be imported, or ""."""
    chosen = [field for field in fields if field]
    twice = sorted({FIELDS[field] for field in chosen if chosen.count(field) > 1})
    if twice:
        return f"Each field can be chosen for one column only: {', '.join(twice)}."
    if "phone" not in chosen:
        return "Choose the column that holds the phone numbers."
    if "name" in chosen and (FIRST_NAME in chosen or LAST_NAME in chosen):
        return "Choose a name column, or first and last name columns, not both."
    if not {"name", FIRST_NAME, LAST_NAME} & set(chosen):
        return "Choose the column that holds the names (or the first and last names)."
    return ""


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def store(upload: UploadedFile, *, by_user: AbstractBaseUser | None) -> ContactImport:
    """Keep an uploaded file for `check`, or raise ImportFileError if it cannot be one."""
    if upload.size > MAX_BYTES:
        raise ImportFileError(
            f"The file is {megabytes(upload.size)}; the most is {MAX_BYTES // 1024 // 1024} MB "
            f"({MAX_ROWS:,} rows). Split it into smaller files."
        )
    if b"\x00" in next(upload.chunks(PIECE), b""):
        raise ImportFileError(NOT_CSV)
    pieces = _as_utf8(upload)
    first = next(pieces, b"")
    header = _header(first)
    contact_import = ContactImport.objects.create(
        file_name=upload.name[-255:], size=upload.size, by_user=by_user,
        status=ContactImport.Status.UPLOADING,
    )  # fmt: skip
    # A piece per statement: a long write would hold the SQLite database from other writers.
    ImportChunk.objects.create(contact_import=contact_import, seq=0, data=first)
    for seq, piece in enumerate(pieces, start=1):
        ImportChunk.objects.create(contact_import=contact_import, seq=seq, data=piece)
    if fields_of(header) is None:
        contact_import.status = ContactImport.Status.MATCHING
    else:
        contact_import.status = ContactImport.Status.CHECKING
    contact_import.save(update_fields=["status"])
    return contact_import


def set_columns(contact_import: ContactImport, fields: list[str]) -> bool:
    """Keep the fields the uploader matched the columns to, and let the file be checked with
    them; False if they were matched already (another tab). `columns_problem` first."""
    matched = ContactImport.objects.filter(
        pk=contact_import.pk, status=ContactImport.Status.MATCHING
    ).update(column_fields=fields, status=ContactImport.Status.CHECKING)
    contact_import.refresh_from_db()
    return bool(matched)


def sample(contact_import: ContactImport, rows: int = 3) -> list[tuple[str, list[str]]]:
    """Each column's header and its values in the file's first rows, for matching them."""
    first = ImportChunk.objects.filter(contact_import=contact_import, seq=0)
    data = bytes(first.values_list("data", flat=True).get())
    text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace").decode(data)
    lines = csv.reader(io.StringIO(text), delimiter=separator(data))
    try:
        header = [column.strip() for column in next(lines)]
        values = [next(lines, []) for _ in range(rows)]
    except csv.Error:
        values = []
    return [
        (column, [_cell(row[place]) for row in values if place < len(row) and row[place].strip()])
        for place, column in enumerate(header)
    ]


def _as_utf8(upload: UploadedFile) -> Iterator[bytes]:
    """The file's pieces as UTF-8 text: as they are, or from Windows-1252, which Excel's plain
    "CSV" is on Windows ("José" as one byte, 0xE9); ImportFileError if it is neither."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    try:
        for piece in upload.chunks(PIECE):
            utf8.decode(piece)
        utf8.decode(b"", final=True)
        return upload.chunks(PIECE)
    except UnicodeDecodeError:
        pass
    try:
        for piece in upload.chunks(PIECE):
            piece.decode("cp1252")
    except UnicodeDecodeError:
        raise ImportFileError(NOT_UTF8) from None
    return (piece.decode("cp1252").encode() for piece in upload.chunks(PIECE))


def separator(first_piece: bytes) -> str:
    """What separates the file's columns: a comma, or the semicolon that spreadsheets use where
    the comma is the decimal mark, or a tab; whichever its header line holds most of."""
    header_line = first_piece.split(b"\n", 1)[0]
    return max(",;\t", key=lambda mark: header_line.count(mark.encode()))


def _header(first_piece: bytes) -> list[str]:
    """The header row, from the file's first piece; ImportFileError if it is wrong."""
    if b"\x00" in first_piece:
        raise ImportFileError(NOT_CSV)
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(first_piece, final=False)
    except UnicodeDecodeError:
        raise ImportFileError(NOT_UTF8) from None
    lines = csv.reader(io.StringIO(text), delimiter=separator(first_piece))
    try:
        header = [column.strip() for column in next(lines)]
    except StopIteration:
        raise ImportFileError("The file is empty.") from None
    except csv.Error as error:
        raise ImportFileError(f"This is not a readable CSV file: {error}.") from None
    if not any(header):
        raise ImportFileError("The first row names no column: it should be the header row.")
    return header


class _StoredFile(io.RawIOBase):
    """An import's stored file, read a piece at a time."""

    def __init__(self, contact_import: ContactImport):
        self.pieces = ImportChunk.objects.filter(contact_import=contact_import)
        self.seq = 0
        self.piece = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.piece:
            data = self.pieces.filter(seq=self.seq).values_list("data", flat=True).first()
            if data is None:
                return 0
            data = bytes(data)
            if b"\x00" in data:
                raise ImportFileError(NOT_CSV)
            self.piece, self.seq = memoryview(data), self.seq + 1
        size = min(len(buffer), len(self.piece))
        buffer[:size], self.piece = self.piece[:size], self.piece[size:]
        return size


class _TakenOver(Exception):
    """Another run of the check took the import over (a worker restarted)."""


def check(contact_import: ContactImport) -> None:
    """Read and check every row of a stored file, and keep the result on the import. A check
    run again (by `resume`) takes over from one that may still run: that one stops."""
    with transaction.atomic():
        contact_import.checker = uuid.uuid4()
        claimed = ContactImport.objects.filter(
            pk=contact_import.pk, status=ContactImport.Status.CHECKING
        ).update(checker=contact_import.checker, rows_read=0)
        if not claimed:
            return
        ImportRow.objects.filter(contact_import=contact_import).delete()
        ImportProblem.objects.filter(contact_import=contact_import).delete()
    contact_import.rows_read = 0
    try:
        _check_rows(contact_import)
    except _TakenOver:
        return
    except ImportFileError as error:
        _finish_check(contact_import, error=str(error))
    else:
        _finish_check(contact_import)


@transaction.atomic
def _finish_check(contact_import: ContactImport, *, error: str = "") -> None:
    this_check = ContactImport.objects.filter(pk=contact_import.pk, checker=contact_import.checker)
    if not this_check.select_for_update().exists():
        return
    rows = ImportRow.objects.filter(contact_import=contact_import)
    problems = ImportProblem.objects.filter(contact_import=contact_import)
    if error:
        rows.delete()
        problems.delete()
        status = ContactImport.Status.UNREADABLE
    else:
        if connection.vendor == "postgresql":
            # Statistics of the rows just written, so that applying them is planned as
            # index lookups of a few rows rather than scans (bench/NOTES.md).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE contacts_importrow")
        duplicates = _refuse_duplicates(contact_import)
        contact_import.rows_ready = rows.count() - duplicates
        contact_import.problem_count = problems.count()
        if contact_import.problem_count:
            status = ContactImport.Status.PROBLEMS
            rows.delete()  # never applied
        else:
            status = ContactImport.Status.READY
    ImportChunk.objects.filter(contact_import=contact_import).delete()
    contact_import.status, contact_import.error = status, error
    contact_import.save()


def _check_rows(contact_import: ContactImport) -> None:
    text = io.TextIOWrapper(
        io.BufferedReader(_StoredFile(contact_import), PIECE), encoding="utf-8-sig", newline=""
    )
    first = ImportChunk.objects.filter(contact_import=contact_import, seq=0)
    reader = csv.reader(
        text, delimiter=separator(bytes(first.values_list("data", flat=True).get()))
    )
    try:
        header = [column.strip() for column in next(reader)]
        fields = contact_import.column_fields or fields_of(header)
        if fields is None or len(fields) != len(header):
            raise ImportFileError("The file's columns are not matched to fields.")
        contact_import.ignored_columns = [
            column.lower() for column, field in zip(header, fields, strict=True) if not field
        ]
        # Where each column read is (the last, where a header comes twice).
        places = {field: place for place, field in enumerate(fields) if field}
        names = [places.pop(field) for field in (FIRST_NAME, LAST_NAME) if field in places]
        disclosures = disclosures_by_name()
        # A batch of lines is read from the stored file, then checked while the database
        # takes in the rows as they come (bench/NOTES.md).
        for lines in batched(enumerate(reader, start=2), CHECK_BATCH):
            _keep(contact_import, _checked(contact_import, lines, places, names, disclosures))
    except UnicodeDecodeError:
        raise ImportFileError(NOT_UTF8) from None
    except csv.Error as error:
        raise ImportFileError(f"Row {reader.line_num} cannot be read: {error}.") from None
    if not contact_import.rows_read:
        raise ImportFileError("The file has a header row but no contacts.")


def _checked(
    contact_import: ContactImport,
    lines: tuple[tuple[int, list[str]], ...],
    places: dict[str, int],
    names: list[int],
    disclosures: dict[str, list[Disclosure]],
) -> Iterator[tuple[tuple | None, list[ImportProblem]]]:
    """Each numbered line that is not blank, checked: its row in ROW_COLUMNS' order, or
    None; and its problems. Counts them in `rows_read`."""
    for number, values in lines:
        if not "".join(values).strip():
            continue
        contact_import.rows_read += 1
        if contact_import.rows_read > MAX_ROWS:
            raise ImportFileError(f"The file has more than {MAX_ROWS:,} rows: split it.")
        cells = {
            column: _cell(values[place]) for column, place in places.items() if place < len(values)
        }
        if names:
            cells["name"] = " ".join(
                filter(None, (_cell(values[place]) for place in names if place < len(values)))
            )
        problems: list[ImportProblem] = []
        yield _check(number, cells, problems, disclosures), problems


def _cell(value: str) -> str:
    return unquote(value.strip())


ROW_COLUMNS = (
    "number", "name", "name_key", "phone", "email", "time_zone", "state", "tags", "status",
    "sms", "calls", "consent_channels", "consent_method", "consent_given_at",
    "consent_disclosure_id", "consent_awaiting",
)  # fmt: skip


@transaction.atomic
def _keep(
    contact_import: ContactImport, lines: Iterator[tuple[tuple | None, list[ImportProblem]]]
) -> None:
    """Write checked lines (rows and problems) and how far the check came, unless another
    check took the import over."""
    this_check = ContactImport.objects.filter(pk=contact_import.pk, checker=contact_import.checker)
    if not this_check.select_for_update().exists():
        raise _TakenOver
    problems = []

    given_at = ROW_COLUMNS.index("consent_given_at")
    adapt = connection.ops.adapt_datetimefield_value

    def rows() -> Iterator[tuple]:
        for row, found in lines:
            problems.extend(found)
            if row:
                yield (contact_import.pk, *row[:given_at], adapt(row[given_at]),
                       *row[given_at + 1 :])  # fmt: skip

    columns = ", ".join(("contact_import_id", *ROW_COLUMNS))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: bench/NOTES.md has what bulk_create took for a big file.
            with cursor.cursor.copy(f"COPY contacts_importrow ({columns}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
        else:
            values = ", ".join(["%s"] * len(columns.split(", ")))
            cursor.executemany(
                f"INSERT INTO contacts_importrow ({columns}) VALUES ({values})", list(rows())
            )
    for problem in problems:
        problem.contact_import = contact_import
    ImportProblem.objects.bulk_create(problems)
    this_check.update(rows_read=contact_import.rows_read)


def _check(
    number: int,
    cells: dict[str, str],
    problems: list[ImportProblem],
    disclosures: dict[str, list[Disclosure]],
) -> tuple | None:
    """The row's values in ROW_COLUMNS' order, or None with its problems added."""

    def problem(column: str, reason: str) -> None:
        problems.append(ImportProblem.found(number, column, reason))

    found = len(problems)
    name = cells.get("name", "")
    if not name:
        problem("name", "A name is required.")
    elif len(name) > 200:
        problem("name", "At most 200 characters.")
    phone = ""
    try:
        phone = normalize_phone(cells.get("phone", ""))
    except ValidationError as error:
        problem("phone", error.messages[0])
    email = cells.get("email", "")
    if email:
        if len(email) > EMAIL_LENGTH:
            problem("email", f"“{email[:20]}…”: at most {EMAIL_LENGTH} characters.")
        elif not _is_email(email):
            problem("email", f"“{email}” is not an email address.")
    places = []
    for column, read in (("time_zone", time_zone_name), ("state", state_code)):
        try:
            places.append(read(cells.get(column, "")))
        except ValidationError as error:
            problem(column, error.messages[0])
    tags = cells.get("tags", "")
    if tags:
        tags = [tag.strip() for tag in tags.split(",") if tag.strip()]
        for tag in tags:
            if len(tag) > 60:
                problem("tags", f"“{tag[:20]}…”: at most 60 characters.")
        tags = "\n".join(dict.fromkeys(tags))
    status = cells.get("status", "")
    if status:
        status = STATUS_VALUES.get(status.lower(), "")
        if not status:
            problem("status", f"“{cells['status']}”: use active, do not contact or archived.")
    listed = {
        name: _listed_opt_out(cells[name], name, problem) for name in OPT_OUT_LISTS if name in cells
    }
    channels = []
    for column in CHANNEL_COLUMNS:
        written = cells.get(column, "")
        value = " ".join(written.lower().split())
        if value in NO_VALUES:
            own = "a STOP" if column == Channel.SMS else "the unsubscribe key on a call"
            problem(column, f"“{written}”: write hard where the contact opted out themselves "
                            f"({own} in another system: nobody here can ever lift it), soft "
                            "where your business stopped it.")  # fmt: skip
        elif value not in CHANNEL_VALUES:
            problem(column, f"“{written}”: use subscribed (or yes), soft or hard, or leave it "
                            "empty.")  # fmt: skip
        values = [CHANNEL_VALUES.get(value, "")] + [
            on_list for name, on_list in listed.items() if column in OPT_OUT_LISTS[name]
        ]
        channels.append(max(values, key=lambda value: STRENGTH.get(value, 0)))
    consent = _consent(cells, problem, disclosures)
    if len(problems) > found:
        return None
    # Lower case may be longer than the name ("İ" is two characters): as much as is kept.
    name_key = name.lower()[:NAME_KEY_KEPT]
    return (number, name, name_key, phone, email, *places, tags, status, *channels, *consent)


def _listed_opt_out(written: str, column: str, problem) -> str | None:
    """A cell of a list of opt-outs (OPT_OUT_LIST_VALUES), as a channel's value."""
    value = " ".join(written.lower().split())
    if value not in OPT_OUT_LIST_VALUES:
        problem(column, f"“{written}”: in a list of opt-outs, write yes (or hard) where the "
                        "contact opted out themselves, soft where your business stopped it, "
                        "no or nothing where neither.")  # fmt: skip
    return OPT_OUT_LIST_VALUES.get(value)


# How the consent columns may name what they hold.
CONSENT_CHANNELS = {
    "sms": ("sms",), "text": ("sms",), "texts": ("sms",), "text messages": ("sms",),
    "calls": ("calls",), "call": ("calls",), "voice": ("calls",), "phone calls": ("calls",),
    "calls & voicemails": ("calls",), "both": ("sms", "calls"), "all": ("sms", "calls"),
}  # fmt: skip
# Not a keyword's: that consent comes only from the number's own message, kept as its proof
# (another system's "texted JOIN" is imported as an import from another system).
CONSENT_METHODS = {
    **{value: value for value in ConsentMethod.values if value != ConsentMethod.KEYWORD},
    **{label.lower(): value for value, label in ConsentMethod.choices
       if value != ConsentMethod.KEYWORD},  # fmt: skip
    "web form": ConsentMethod.WEB_FORM, "web": ConsentMethod.WEB_FORM,
    "website": ConsentMethod.WEB_FORM, "online": ConsentMethod.WEB_FORM,
    "form": ConsentMethod.WEB_FORM, "paper": ConsentMethod.PAPER,
    "in person": ConsentMethod.PAPER, "phone": ConsentMethod.VERBAL,
    "phone call": ConsentMethod.VERBAL, "other system": ConsentMethod.IMPORT,
}  # fmt: skip
YES_OR_NO = {"": False, "yes": True, "y": True, "true": True, "1": True, "no": False, "n": False,
             "false": False, "0": False}  # fmt: skip
DATE_FORMATS = ("%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%y")


def disclosures_by_name() -> dict[str, list[Disclosure]]:
    """The disclosures by the names an import may give them, in lower case: "sign-up form
    v2", "sign-up form (version 2)", "sign-up form version 2" each its version, and the title
    alone each of its versions, oldest first (a consent was given to the newest of them on
    its day)."""
    names: dict[str, list[Disclosure]] = {}
    for disclosure in Disclosure.objects.order_by("title", "version").only(
        "pk", "title", "version", "created_at"
    ):
        key = " ".join(disclosure.title.lower().split())
        version = disclosure.version
        for name in (f"{key} v{version}", f"{key} (version {version})",
                     f"{key} version {version}"):  # fmt: skip
            names[name] = [disclosure]
        names.setdefault(key, []).append(disclosure)
    return names


def _consent(cells: dict[str, str], problem, disclosures: dict[str, list[Disclosure]]) -> tuple:
    """The row's consent (channels, method, when, disclosure id), or empty values: a row that
    gives any of the consent columns claims consent, and needs a method and a date (SMS only
    unless the Consent to column says)."""
    given = {field: cells.get(field, "") for field in
             ("consent", "consent_method", "consent_date", "consent_disclosure")}  # fmt: skip
    confirm = cells.get("consent_confirm", "").lower()
    if confirm not in YES_OR_NO:
        problem("consent_confirm", f"“{cells['consent_confirm']}”: use yes or no.")
    if not any(given.values()):
        return ("", "", None, None, False)
    channels: set[str] = set()
    for part in re.split(r"\s*(?:[,;/+]|&(?! voicemails)|\band\b)\s*", given["consent"].lower()):
        if part and part not in CONSENT_CHANNELS:
            problem("consent", f"“{part}”: use sms, calls or both.")
        channels.update(CONSENT_CHANNELS.get(part, ()))
    method = CONSENT_METHODS.get(given["consent_method"].lower(), "")
    if not given["consent_method"]:
        problem("consent_method", "A consent needs its method: web form, paper, verbal or "
                "import.")  # fmt: skip
    elif not method:
        problem("consent_method", f"“{given['consent_method']}”: use web form, paper, "
                "verbal or import (a keyword's consent comes only from the number's own "
                "message).")  # fmt: skip
    given_at = None
    if not given["consent_date"]:
        problem("consent_date", "A consent needs the date it was given.")
    else:
        given_at = _consent_date(given["consent_date"])
        if given_at is None:
            problem("consent_date", f"“{given['consent_date']}” is not a date: write it as "
                    "2026-03-01 or 3/1/2026.")  # fmt: skip
        elif given_at > timezone.now():
            problem("consent_date", f"“{given['consent_date']}” is to come: consent is "
                    "recorded once it is given.")  # fmt: skip
        elif given_at.year < 1970:
            problem("consent_date", f"“{given['consent_date']}”: a day since 1970, please.")
    disclosure = None
    if named := given["consent_disclosure"]:
        versions = disclosures.get(" ".join(named.lower().split()), [])
        if not versions:
            problem("consent_disclosure", f"No disclosure “{named}”: name one of the "
                    "Disclosures page, as “Sign-up form v2”.")  # fmt: skip
        elif given_at is not None:
            # The words of the consent's day: the newest version written by then.
            seen = [version for version in versions if not version.written_after(given_at)]
            if seen:
                disclosure = seen[-1].pk
            else:
                why = versions[0].written_after(given_at)
                problem("consent_disclosure", f"“{named}”: {why}")
    ordered = " ".join(channel for channel in CHANNEL_COLUMNS if channel in channels)
    return (ordered or Channel.SMS.value, method, given_at, disclosure, YES_OR_NO.get(confirm))


def _consent_date(value: str) -> datetime | None:
    """A consent's date and time as a file may write it (ISO 8601, or US month/day/year); a
    day alone is its start, and a time without a zone is the site's time zone's."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        for format in DATE_FORMATS:
            try:
                moment = datetime.strptime(value, format)
                break
            except ValueError:
                continue
        else:
            return None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _is_email(value: str) -> bool:
    """Whether `value` is an email address as Django's validate_email finds: most addresses
    match a plain expression that accepts only what it accepts (tests/contacts/test_imports.py
    holds the two to each other), and an import checks a million (bench/NOTES.md)."""
    if PLAIN_EMAIL.fullmatch(value):
        return True
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _refuse_duplicates(contact_import: ContactImport) -> int:
    """A row of the same contact (number and name, ignoring case) as an earlier row is a
    problem: which of the two should win is the user's call."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contacts_importproblem
                (contact_import_id, "row", "column", reason, kept_hard)
            SELECT r.contact_import_id, r.number, 'phone',
                   'The same contact as row ' || CAST(MIN(o.number) AS TEXT) || '.', FALSE
            FROM contacts_importrow r JOIN contacts_importrow o
              ON o.contact_import_id = r.contact_import_id AND o.phone = r.phone
             AND o.name_key = r.name_key AND o.number < r.number
            WHERE r.contact_import_id = %s
            GROUP BY r.contact_import_id, r.number
            """,
            [contact_import.pk],
        )
        return cursor.rowcount


# The contact a staged row `r` updates, as `_same_contact` finds it: the oldest with its
# number and its name in capitals.
SAME_CONTACT = (
    "SELECT MIN(c.id) FROM contacts_contact c"
    " WHERE c.phone = r.phone AND UPPER(c.name) = UPPER(r.name)"
)


@dataclass(frozen=True)
class Overridden:
    """A row's sms or calls value that a hard opt-out will override (KEPT_HARD at apply)."""

    row: int
    name: str
    phone: str
    column: str

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)


@dataclass(frozen=True)
class Released:
    """A row that lets broadcasts reach a number that a contact not active holds back now:
    it makes that contact active again, or adds a new contact with its number."""

    row: int
    name: str
    phone: str
    held_by: str  # the contact not active
    held_status: str
    updates: bool

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)

    @property
    def change(self) -> str:
        # A value written in SQL outside the choices is shown as it is, not a 500.
        status = dict(Contact.Status.choices).get(self.held_status, self.held_status)
        if self.updates:
            return f"{status} → Active"
        return f"A new contact with the number of {self.held_by} ({status})"


@dataclass
class Preview:
    """What applying a checked import will do, as its page shows before it is applied."""

    creates: int
    updates: int
    # The first OVERRIDES_SHOWN values a hard opt-out will override, and how many in all.
    overrides: list[Overridden]
    override_count: int
    # The first OVERRIDES_SHOWN rows that release a number held back, and how many in all.
    released: list[Released]
    released_count: int
    # By channel, the rows that subscribe their number with no consent to it on record, nor
    # given in the row: marketing leaves them out while MARKETING_NEEDS_CONSENT.
    subscribed_without_consent: dict[str, int] = field(default_factory=dict)
    # The tags the file creates, each with a tag of the app's it may mean ("Lead", "Leads").
    new_tags: list["NewTag"] = field(default_factory=list)


@dataclass
class NewTag:
    name: str
    like: str = ""  # a tag the app has whose name differs from it in case, accents or an s


def _tag_key(name: str) -> str:
    """A tag's name without case, accents, punctuation or a plural's s: "Leads" and "lead",
    "Café VIP" and "cafe-vip" have one."""
    letters = unicodedata.normalize("NFKD", name.casefold())
    key = "".join(c for c in letters if c.isalnum())
    return key.removesuffix("s")


def new_tags(contact_import: ContactImport) -> list[NewTag]:
    """The tags the file's rows name that the app does not have, in name order, each with the
    tag it has that it may mean."""
    rows = ImportRow.objects.filter(contact_import=contact_import).exclude(tags="")
    named = {name for tags in rows.values_list("tags", flat=True).distinct()
             for name in tags.split("\n")}  # fmt: skip
    have = set(Tag.objects.values_list("name", flat=True))
    by_key = {_tag_key(name): name for name in sorted(have, reverse=True)}
    return [NewTag(name, by_key.get(_tag_key(name), "")) for name in sorted(named - have)]


OVERRIDES_SHOWN = 100


def first_rows(contact_import: ContactImport, count: int = 20) -> list[ImportRow]:
    """The import's first rows, each with `updates`: whether it updates a contact (or
    creates one), as the preview counts them."""
    return list(
        ImportRow.objects.raw(
            f"SELECT r.*, ({SAME_CONTACT}) IS NOT NULL AS updates FROM contacts_importrow r"
            " WHERE r.contact_import_id = %s ORDER BY r.number LIMIT %s",
            [contact_import.pk, count],
        )
    )


@transaction.atomic
def preview(contact_import: ContactImport) -> Preview:
    """Counted by the database over the staged rows when the page is shown, in one statement
    that finds each row's contact once: the check stays as fast as it was, and a contact or
    an opt-out added meanwhile is counted."""

    def hard_in_file(channel: str) -> str:  # as `_hard_in_file`
        return "SELECT phone FROM staged WHERE " + " OR ".join(
            f"{covering} = 'hard'" for covering in _covering(channel)
        )

    # A row that lifts or softens an opt-out (subscribed, soft) of a number with a hard one,
    # or of a contact with one, or of a number the file itself opts out (hard, of the channel
    # or of one whose revocation covers it: `_hard_in_file`), as `_channel` finds it while
    # applying; "hard" again changes nothing. A new contact takes on its number's hard
    # opt-outs (migration 0013).
    overridden = " UNION ALL ".join(
        f"""
        SELECT number, name, phone, '{channel}' AS channel FROM staged
        WHERE {channel} IN ('subscribed', 'soft') AND (
            EXISTS (SELECT 1 FROM contacts_phoneoptout p
                    WHERE p.phone = staged.phone AND p.channel = '{channel}')
            OR EXISTS (SELECT 1 FROM contacts_optout o
                       WHERE o.contact_id = staged.contact_id
                         AND o.channel = '{channel}' AND o.kind = 'hard')
            OR staged.phone IN ({hard_in_file(channel)}))
        """
        for channel in CHANNEL_COLUMNS
    )
    # A row that subscribes its number (it says so, or it creates a contact and says nothing,
    # on a number that has not opted out, nor does the file), gives no consent to the channel,
    # and whose number has none on record (the contacts' columns that the broadcasts' rule
    # reads).
    without_consent = ", ".join(
        f"""
        COUNT(*) FILTER (WHERE ({channel} = 'subscribed'
                OR {channel} = '' AND contact_id IS NULL
                   AND NOT EXISTS (SELECT 1 FROM contacts_phoneoptout p
                                   WHERE p.phone = staged.phone AND p.channel = '{channel}'))
            AND staged.phone NOT IN ({hard_in_file(channel)})
            AND consent_channels NOT LIKE '%%{channel}%%'
            AND NOT EXISTS (SELECT 1 FROM contacts_contact c
                            WHERE c.phone = staged.phone AND c.{channel}_consent_on_record))
        """
        for channel in CHANNEL_COLUMNS
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Compiling the plan took longer than running it.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            f"""
            WITH staged AS (
                SELECT r.number, r.name, r.phone, r.sms, r.calls, r.consent_channels,
                       ({SAME_CONTACT}) AS contact_id
                FROM contacts_importrow r WHERE r.contact_import_id = %s
            ), overridden AS ({overridden})
            SELECT totals.*, shown.number, shown.name, shown.phone, shown.channel
            FROM (SELECT COUNT(*), COUNT(contact_id), (SELECT COUNT(*) FROM overridden),
                         {without_consent}
                  FROM staged) totals
            LEFT JOIN (SELECT number, name, phone, channel FROM overridden
                       ORDER BY number, channel LIMIT %s) shown ON 1 = 1
            ORDER BY shown.number, shown.channel
            """,
            [contact_import.pk, OVERRIDES_SHOWN],
        )
        found = cursor.fetchall()
    rows, updates, override_count, *without_consent = found[0][: 3 + len(CHANNEL_COLUMNS)]
    released_count, released = _released(contact_import)
    shown = 3 + len(CHANNEL_COLUMNS)
    return Preview(
        creates=rows - updates,
        updates=updates,
        overrides=[Overridden(*row[shown:]) for row in found if row[shown] is not None],
        override_count=override_count,
        released=released,
        released_count=released_count,
        subscribed_without_consent={
            Channel(channel).label: count
            for channel, count in zip(CHANNEL_COLUMNS, without_consent, strict=True)
            if count and settings.MARKETING_NEEDS_CONSENT
        },
        new_tags=new_tags(contact_import),
    )


def _released(contact_import: ContactImport) -> tuple[int, list[Released]]:
    """The rows that let broadcasts reach a number held back now (Released), and how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH held AS (
                SELECT r.number, r.name, r.phone, r.status, ({SAME_CONTACT}) AS contact_id
                FROM contacts_importrow r
                WHERE r.contact_import_id = %s AND r.status IN ('', 'active') AND EXISTS (
                    SELECT 1 FROM contacts_contact c
                    WHERE c.phone = r.phone AND c.status <> 'active')
            ), released AS (
                SELECT h.number, h.name, h.phone, c.name AS held_by, c.status, TRUE AS updates
                FROM held h JOIN contacts_contact c ON c.id = h.contact_id
                WHERE h.status = 'active' AND c.status <> 'active'
                UNION ALL
                SELECT h.number, h.name, h.phone, MIN(c.name), MIN(c.status), FALSE
                FROM held h JOIN contacts_contact c ON c.phone = h.phone
                WHERE h.contact_id IS NULL AND c.status <> 'active'
                GROUP BY h.number, h.name, h.phone
            )
            SELECT (SELECT COUNT(*) FROM released), shown.*
            FROM (SELECT 1) one
            LEFT JOIN (SELECT * FROM released ORDER BY number LIMIT %s) shown ON 1 = 1
            ORDER BY shown.number
            """,
            [contact_import.pk, OVERRIDES_SHOWN],
        )
        found = cursor.fetchall()
    return found[0][0], [Released(*row[1:]) for row in found if row[1] is not None]


def start_applying(contact_import: ContactImport) -> bool:
    """Claim a checked import, or one that stopped half-way, for applying; False if it cannot
    be (another click claimed it first, or the file has problems)."""
    claimed = ContactImport.objects.filter(
        pk=contact_import.pk, status__in=[ContactImport.Status.READY, ContactImport.Status.FAILED]
    ).update(status=ContactImport.Status.APPLYING, error="")
    contact_import.refresh_from_db()
    return bool(claimed)


@task
def check_import(import_id: int) -> None:
    check(ContactImport.objects.get(pk=import_id))


@task
def apply_import(import_id: int) -> None:
    apply(ContactImport.objects.get(pk=import_id))


def resume() -> int:
    """Queue again the imports that were being checked or applied when the workers stopped:
    a check starts again, applying goes on from its last batch. Returns how many."""
    working = ContactImport.objects.filter(
        status__in=[ContactImport.Status.CHECKING, ContactImport.Status.APPLYING]
    )
    pending = list(working.values_list("pk", "status"))
    for pk, status in pending:
        task = check_import if status == ContactImport.Status.CHECKING else apply_import
        task.enqueue(pk)
    return len(pending)


def why_not_applied(contact_import: ContactImport) -> str:
    Status = ContactImport.Status
    return {
        Status.UPLOADING: "The upload did not finish: upload the file again.",
        Status.CHECKING: "The file is still being checked.",
        Status.APPLYING: "This file is being imported already.",
        Status.DONE: "This file was imported already.",
    }.get(contact_import.status, "The file has problems: fix them and upload it again.")


def apply(contact_import: ContactImport) -> None:
    """Apply an import being applied, batch after batch, from where it stopped."""
    finished = False

    def batches() -> Iterator[None]:
        while not finished:
            yield

    def apply_batch(_) -> None:
        nonlocal finished
        finished = not _apply_batch(contact_import.pk)

    try:
        one_transaction_each(batches(), apply_batch)
    except Exception as error:
        ContactImport.objects.filter(pk=contact_import.pk).update(
            status=ContactImport.Status.FAILED, error=str(error), finished_at=timezone.now()
        )
        raise
    ContactImport.objects.filter(pk=contact_import.pk, status=ContactImport.Status.APPLYING).update(
        status=ContactImport.Status.DONE, finished_at=timezone.now()
    )


def _apply_batch(import_id: int) -> bool:
    """Apply the next IMPORT_BATCH_SIZE rows, in the caller's transaction; False when there
    are none left.

    The batch's rows, their contacts and their opt-outs are read into memory, and every
    statement names the contacts it writes by their ids or numbers. (Joined with the staged
    rows instead, a statement was planned as a scan of one table for each row of the other
    in a full test run, and did not end.)
    """
    contact_import = (
        ContactImport.objects.select_for_update(of=("self",))
        .select_related("by_user")
        .get(pk=import_id)
    )
    if contact_import.status != ContactImport.Status.APPLYING:
        return False
    rows = list(
        ImportRow.objects.filter(
            contact_import=contact_import, number__gt=contact_import.applied_through
        )
        .order_by("number")
        .annotate(key=Upper("name"))
        .values_list(*ROW_COLUMNS, "key", named=True)[: settings.IMPORT_BATCH_SIZE]
    )
    if not rows:
        return False
    existing = _same_contact({row.phone for row in rows})
    new = [row.number for row in rows if (row.phone, row.key) not in existing]
    new_ids = dict(zip(new, _new_contact_ids(len(new)), strict=True))
    contact_of = {
        row.number: new_ids.get(row.number) or existing[row.phone, row.key][0] for row in rows
    }
    # The consent before the contacts: a new contact is then written once, its consent on
    # record worked out as it is. Recorded after it, each was written again (bench/NOTES.md).
    # The numbers first, as the contacts' trigger would hold them: a consent record changes
    # its number's contacts, which a STOP or a START changes after the number's lock.
    services.hold_numbers(
        new=[row.phone for row in rows if row.number in new_ids],
        others=[row.phone for row in rows if row.consent_method],
        hard=[row.phone for row in rows if OptInStatus.HARD in (row.sms, row.calls)],
    )
    consents, to_ask = _consents(contact_import, rows, contact_of)
    _create(contact_import, new_ids)
    _update(rows, existing, contact_import)
    _tags(rows, contact_of)
    counts = {"consents": consents, "opted_out": 0, "resubscribed": 0, "kept_hard": 0}
    for channel in Channel:
        _channel(contact_import, channel, rows, contact_of, counts)
    # Last, as a send takes a number's lock before its turn to change its prompts.
    services.queue_prompts(to_ask)  # with the batch: the worker sends them
    ContactImport.objects.filter(pk=import_id).update(
        applied_through=rows[-1].number,
        rows_applied=F("rows_applied") + len(rows),
        created=F("created") + len(new),
        updated=F("updated") + len(rows) - len(new),
        **{name: F(name) + value for name, value in counts.items()},
    )
    return True


# The fields of a contact that a row sets where it gives them (an empty cell keeps them).
SET_BY_ROWS = ("email", "status", "time_zone", "state")


def _same_contact(phones: set[str]) -> dict[tuple[str, str], tuple]:
    """The id and SET_BY_ROWS of the contacts with these numbers, by number and name in
    capitals (as name__iexact compares them): the oldest, where several have the same."""
    among, params = services.among("phone", sorted(phones))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT phone, UPPER(name), id, {', '.join(SET_BY_ROWS)} FROM contacts_contact"
            f" WHERE {among} ORDER BY id DESC",
            params,
        )
        rows = cursor.fetchall()
    return _by_number_and_name(rows)


def _by_number_and_name(rows: list[tuple]) -> dict[tuple[str, str], tuple]:
    return {(phone, key): tuple(values) for phone, key, *values in rows}


def _new_contact_ids(count: int) -> list[int]:
    """Ids for `count` contacts to be created, taken now from those the table gives, in
    ascending order."""
    if not count:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('contacts_contact', 'id'))"
                " FROM generate_series(1, %s)",
                [count],
            )
            return sorted(pk for (pk,) in cursor.fetchall())
        # SQLite gives the next id after the greatest it gave (AUTOINCREMENT: never one of a
        # deleted contact), kept in sqlite_sequence; the writing transaction holds the database.
        cursor.execute(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'contacts_contact'),"
            " 0), COALESCE((SELECT MAX(id) FROM contacts_contact), 0))"
        )
        (last,) = cursor.fetchone()
        cursor.execute("DELETE FROM sqlite_sequence WHERE name = 'contacts_contact'")
        cursor.execute(
            "INSERT INTO sqlite_sequence (name, seq) VALUES ('contacts_contact', %s)",
            [last + count],
        )
        return list(range(last + 1, last + count + 1))


def _create(contact_import: ContactImport, new_ids: dict[int, int]) -> None:
    """Create the contacts of the rows numbered as `new_ids`' keys, each with its id."""
    if not new_ids:
        return
    numbers, ids = zip(*sorted(new_ids.items()), strict=True)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    among, params = services.among("number", list(numbers))
    # Each row's id by its place in the rows' order, as the ids are given (on SQLite, one
    # after another).
    if connection.vendor == "postgresql":
        new_id, id_params = "(%s::bigint[])[ROW_NUMBER() OVER (ORDER BY number)]", [array_text(ids)]
    else:
        new_id, id_params = "%s + ROW_NUMBER() OVER (ORDER BY number)", [ids[0] - 1]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO contacts_contact
                (id, name, phone, email, status, time_zone, state, created_at, updated_at)
            SELECT {new_id}, name, phone, email, COALESCE(NULLIF(status, ''), 'active'),
                   time_zone, state, %s, %s
            FROM contacts_importrow WHERE contact_import_id = %s AND {among}
            ORDER BY number
            """,
            [*id_params, now, now, contact_import.pk, *params],
        )


def _update(
    rows: list, existing: dict[tuple[str, str], tuple], contact_import: ContactImport
) -> None:
    """Set the SET_BY_ROWS that the rows give on the contacts they update (`existing`), and
    keep each change of a status."""
    changed, statuses = [], []
    status = SET_BY_ROWS.index("status")
    how = f"imported from {contact_import.file_name}"[
        : StatusChange._meta.get_field("how").max_length
    ]
    for row in rows:
        if (row.phone, row.key) not in existing:
            continue
        pk, *current = existing[row.phone, row.key]
        wanted = [
            getattr(row, field) or value for field, value in zip(SET_BY_ROWS, current, strict=True)
        ]
        if wanted != current:
            changed.append(Contact(pk=pk, **dict(zip(SET_BY_ROWS, wanted, strict=True)),
                                   updated_at=timezone.now()))  # fmt: skip
        if wanted[status] != current[status]:
            statuses.append(StatusChange(contact_id=pk, before=current[status],
                                         after=wanted[status], by=contact_import.by_user,
                                         how=how))  # fmt: skip
    Contact.objects.bulk_update(changed, [*SET_BY_ROWS, "updated_at"], batch_size=1000)
    StatusChange.objects.bulk_create(statuses)


def _tags(rows: list, contact_of: dict[int, int]) -> None:
    pairs = [
        (contact_of[row.number], name) for row in rows if row.tags for name in row.tags.split("\n")
    ]
    if not pairs:
        return
    names = {name for _, name in pairs}
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    tag_ids = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
    links = [(contact_id, tag_ids[name]) for contact_id, name in pairs]
    # Written as rows, not as models: bulk_create spent more on making the models than the
    # database spent on the rows (bench/NOTES.md).
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            contact_ids, tags = zip(*links, strict=True)
            cursor.execute(
                "INSERT INTO contacts_contact_tags (contact_id, tag_id)"
                " SELECT * FROM unnest(%s::bigint[], %s::bigint[]) ON CONFLICT DO NOTHING",
                [array_text(contact_ids), array_text(tags)],
            )
        else:
            cursor.executemany(
                "INSERT OR IGNORE INTO contacts_contact_tags (contact_id, tag_id) VALUES (%s, %s)",
                links,
            )


def _consents(
    contact_import: ContactImport, rows: list, contact_of: dict[int, int]
) -> tuple[int, dict[str, list[str]]]:
    """Record the rows' consent, each channel's once: a record of the same number, channel,
    method and time is not written again (the same file imported twice), unless it was made
    void (its contact was deleted, say: imported again, the consent is the new contact's).
    Returns how many were added, and the channels of each number whose consent, marked to be
    confirmed by text, awaits its YES: each such number gets its one text
    (services.queue_prompts)."""
    wanted = [(row, channel) for row in rows if row.consent_method
              for channel in row.consent_channels.split()]  # fmt: skip
    if not wanted:
        return 0, {}
    kept = set(
        ConsentRecord.objects.filter(phone__any=sorted({row.phone for row, _ in wanted}))
        .exclude(status=ConsentRecord.Status.VOID)
        .values_list("phone", "channel", "method", "given_at")
        .order_by()
    )
    new = {}
    for row, channel in wanted:
        key = (row.phone, channel, row.consent_method, row.consent_given_at)
        if key not in kept and key not in new:
            new[key] = ConsentRecord(
                phone=row.phone, channel=channel, method=row.consent_method,
                given_at=row.consent_given_at, contact_id=contact_of[row.number],
                recorded_by=contact_import.by_user, disclosure_id=row.consent_disclosure_id,
                words=f"Import of {contact_import.file_name}, row {row.number}",
                status=ConsentRecord.Status.AWAITING if row.consent_awaiting
                else ConsentRecord.Status.CONFIRMED,
            )  # fmt: skip
    ConsentRecord.objects.bulk_create(new.values())
    to_ask: dict[str, list[str]] = {}
    for record in new.values():
        if record.status == ConsentRecord.Status.AWAITING:
            to_ask.setdefault(record.phone, []).append(record.channel)
    return len(new), to_ask


def _covering(channel: str) -> list[str]:
    """The channels whose hard opt-out, a contact's own, covers `channel` now: itself, and
    every other under the revoke-all scope (`channels_revoked`)."""
    return [other for other in CHANNEL_COLUMNS if channel in channels_revoked(other)]


def _hard_in_file(contact_import, channel, rows) -> set[str]:
    """The numbers of `rows` that a row of the whole file opts out of `channel` (hard, of it
    or of a channel whose revocation covers it): a value of another row of the number, of
    the batch or not, cannot lift or soften what the file says the number asked."""
    says_hard = Q.create([(c, OptInStatus.HARD) for c in _covering(channel)], connector=Q.OR)
    phones = {row.phone for row in rows}
    return set(
        ImportRow.objects.filter(says_hard, contact_import=contact_import, phone__any=phones)
        .values_list("phone", flat=True)
        .distinct()
    )


def _channel(contact_import, channel, rows, contact_of, counts) -> None:
    column = channel.value
    wanted = {row.number: getattr(row, column) for row in rows if getattr(row, column)}
    if not wanted:
        return
    phone_of = {row.number: row.phone for row in rows}
    hard_in_file = _hard_in_file(contact_import, channel, rows)
    chosen, params = services.among("contact_id", sorted({contact_of[n] for n in wanted}))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT contact_id FROM contacts_optout WHERE channel = %s AND kind = 'hard'"
            f" AND {chosen}",
            [channel, *params],
        )
        hard = {contact_id for (contact_id,) in cursor.fetchall()}
    chosen = {OptInStatus.SOFT: [], OptInStatus.SUBSCRIBED: [], OptInStatus.HARD: []}
    said_hard, kept = [], []
    for number, status in wanted.items():
        contact_id = contact_of[number]
        if status == OptInStatus.HARD:
            said_hard.append(contact_id)
            if contact_id not in hard:
                chosen[status].append(contact_id)
        elif contact_id in hard or phone_of[number] in hard_in_file:
            kept.append(ImportProblem(contact_import=contact_import, row=number, column=column,
                                      reason=KEPT_HARD, kept_hard=True))  # fmt: skip
        else:
            chosen[status].append(contact_id)
    ImportProblem.objects.bulk_create(kept)
    counts["kept_hard"] += len(kept)
    note = f"Import of {contact_import.file_name}"
    change = {"channel": channel, "by_user": contact_import.by_user, "note": note,
              "source": Source.IMPORT}  # fmt: skip
    if chosen[OptInStatus.SOFT]:
        counts["opted_out"] += services.unsubscribe_many(
            contacts=chosen[OptInStatus.SOFT], **change
        )
    if chosen[OptInStatus.SUBSCRIBED]:
        resubscribed, _ = services.resubscribe_many(
            contacts=chosen[OptInStatus.SUBSCRIBED], **change
        )
        counts["resubscribed"] += resubscribed
    counts["opted_out"] += len(chosen[OptInStatus.HARD])
    if said_hard:
        # The contact's own revocation, made elsewhere: it covers what a STOP would, also
        # where the number had opted out of this channel already (numbers opted out of a
        # channel are left as they are).
        for covered in channels_revoked(channel):
            services.record_hard_opt_outs(
                phones=Contact.objects.filter(pk__any=said_hard).values("phone"),
                channel=covered, source=Source.IMPORT, words=note,
            )  # fmt: skip
