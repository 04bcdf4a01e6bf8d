"""Contacts as CSV, with cells a spreadsheet could run as formulas neutralised: streamed to
the browser, or, for many contacts, written by a task into pieces that its page offers for
download (contacts.bulk)."""

import csv
import io
import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.utils import timezone

from contacts.models import VALID_PHONE, Channel, Contact, OptInStatus, OptOut, Tag

COLUMNS = [
    "name", "phone", "email", "tags", "status", "sms", "calls", "time_zone", "state",
    "created_at",
]  # fmt: skip

# OWASP CSV injection: a cell starting with one of these may be read as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """Prefix a would-be formula with a quote; phone numbers, as the app stores them, stay as
    they are. A value that would read as one neutralised gets a quote too, so that `unquote`
    gives every value back as it was."""
    if value.startswith(_FORMULA_START) and not re.fullmatch(VALID_PHONE, value) or _quoted(value):
        return "'" + value
    return value


def unquote(cell: str) -> str:
    """The value that `neutralise` wrote as `cell`: an import reads an export as it was."""
    return cell[1:] if _quoted(cell) else cell


def _quoted(value: str) -> bool:
    return value.startswith("'") and value.lstrip("'").startswith(_FORMULA_START)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _writer():
    """Lines end in LF, as PostgreSQL's COPY ends them."""
    return csv.writer(_Echo(), lineterminator="\n")


# A piece of the file: the contacts a query reads at a time (on PostgreSQL, about 6 MB).
PIECE_ROWS = 50_000


@dataclass(frozen=True)
class Ids:
    """A piece's contacts: ids after `after`, up to `last` (None: to the end)."""

    after: int = 0
    last: int | None = None

    def of(self, field: str) -> Q:
        """The condition that `field`, a contact's id, is in the piece."""
        within = Q(**{f"{field}__gt": self.after})
        return within if self.last is None else within & Q(**{f"{field}__lte": self.last})


def pieces(contacts: QuerySet[Contact], workers: int = 1) -> Iterator[tuple[bytes, int]]:
    """The CSV file of `contacts`, a piece at a time (the header first), each with how many
    contacts it holds. On PostgreSQL a piece is a COPY of cells the database works out
    (`_cells`); elsewhere they are written here from the contacts' values.

    In the order the contacts were added: a piece is a range of ids, out of which no change
    of a contact moves it (in name order, a contact renamed during an export was written
    twice or not at all). With `workers` over 1, that many pieces are read at once, each on
    a connection of its own (it sees what is committed), and given in order."""
    yield _writer().writerow(COLUMNS).encode(), 0
    piece = _copied if connection.vendor == "postgresql" else _written
    if workers == 1:
        read = (piece(contacts, ids) for ids in _ranges(contacts))
    else:
        read = _at_once(workers, lambda ids: _on_own_connection(piece, contacts, ids),
                        _ranges(contacts))  # fmt: skip
    for data, count in read:
        if count:
            yield data, count


def _ranges(contacts: QuerySet[Contact]) -> Iterator[Ids]:
    """The pieces' ranges of ids, in order: PIECE_ROWS contacts each, the last one fewer."""
    after = 0
    while True:
        rest = contacts.filter(pk__gt=after).order_by("pk")
        # The piece's last id, PIECE_ROWS along; none: the rest is shorter.
        last = next(iter(rest.values_list("pk", flat=True)[PIECE_ROWS - 1 : PIECE_ROWS]), None)
        yield Ids(after, last)
        if last is None:
            return
        after = last


def _at_once(
    workers: int, read: Callable[[Ids], tuple[bytes, int]], ranges: Iterator[Ids]
) -> Iterator[tuple[bytes, int]]:
    """`read` of each range, `workers` at a time, in the ranges' order: no more than that
    many pieces are held at once."""
    with ThreadPoolExecutor(workers) as pool:
        reading: deque[Future] = deque()
        for ids in ranges:
            reading.append(pool.submit(read, ids))
            if len(reading) == workers:
                yield reading.popleft().result()
        while reading:
            yield reading.popleft().result()


def _on_own_connection(piece, contacts: QuerySet[Contact], ids: Ids) -> tuple[bytes, int]:
    try:
        return piece(contacts, ids)
    finally:
        connection.close()  # the thread's own


def csv_lines(contacts: QuerySet[Contact]) -> Iterator[bytes]:
    """The CSV file of `contacts`, for a response to stream."""
    for data, _ in pieces(contacts):
        yield data


def _copied(contacts: QuerySet[Contact], ids: Ids = Ids()) -> tuple[bytes, int]:
    """The piece's rows as CSV, by PostgreSQL's COPY, and how many there are."""
    try:
        sql, params = _cells(contacts, ids)
    except EmptyResultSet:  # contacts that Django knows match nothing: `pk__in=[]`
        return b"", 0
    data = io.BytesIO()
    with transaction.atomic(), connection.cursor() as cursor:
        # Times in the site's zone, as `_written` gives them; then the connection's again,
        # in which Django reads times (inside a longer transaction, it would last).
        zone = timezone.get_current_timezone_name()
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [zone])
        # Compiling the query (for the many rows PostgreSQL expects) took longer than running it.
        cursor.execute("SET LOCAL jit = off")
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
            for block in copy:
                data.write(block)
        count = cursor.cursor.rowcount
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [connection.timezone_name])
    return data.getvalue(), count


def _cells(contacts: QuerySet[Contact], ids: Ids) -> tuple[str, list]:
    """SQL of the piece's rows, each row's cells in COLUMNS' order as `_written` writes them,
    worked out by the database (tests/contacts/test_csv_export.py holds the two to each
    other), and its parameters.

    The piece's contacts are read once; their tags and opt-outs are then read for the
    piece's range of ids and joined to them, rather than looked up contact by contact
    (bench/NOTES.md)."""
    contact_sql, params = (
        contacts.filter(ids.of("pk"))
        .order_by()
        .values("id", "name", "phone", "email", "status", "time_zone", "state")
        .annotate(created=_iso_time("created_at"))
        .query.sql_with_params()
    )
    subscribed = OptInStatus.SUBSCRIBED.value
    # Text that people wrote is neutralised; a channel's status (a kind the database holds to
    # "soft" or "hard") and the time (digits first) cannot start a formula.
    cells = [
        *map(_neutralised, ["contact.name", "contact.phone", "contact.email"]),
        _neutralised("coalesce(tags.names, '')"),
        _neutralised("contact.status"),
        (f"coalesce(sms.kind, '{subscribed}')", []),
        (f"coalesce(calls.kind, '{subscribed}')", []),
        *map(_neutralised, ["contact.time_zone", "contact.state"]),
        ("contact.created", []),
    ]
    select, select_params = [], []
    for cell_sql, cell_params in cells:
        select.append(f"NULLIF({cell_sql}, '')")  # empty as the csv module writes it, not ""
        select_params += cell_params
    return PIECE.format(contacts=contact_sql, cells=", ".join(select)), [
        *params,
        *select_params,
    ]


# The piece's contacts (MATERIALIZED: read once, though named three times), with their tags'
# names and each channel's opt-out. Its ids' range lets PostgreSQL read the tags' and
# opt-outs' indexes for that range only.
PIECE = """
WITH contact AS MATERIALIZED ({contacts}),
    piece AS (SELECT min(id) AS first, max(id) AS last FROM contact)
SELECT {cells}
FROM contact
LEFT JOIN (
    SELECT link.contact_id, string_agg(tag.name, ', ' ORDER BY tag.name) AS names
    FROM contact
    JOIN contacts_contact_tags link ON link.contact_id = contact.id
    JOIN contacts_tag tag ON tag.id = link.tag_id
    WHERE link.contact_id BETWEEN (SELECT first FROM piece) AND (SELECT last FROM piece)
    GROUP BY link.contact_id
) tags ON tags.contact_id = contact.id
LEFT JOIN contacts_optout sms ON sms.contact_id = contact.id AND sms.channel = 'sms'
    AND sms.contact_id BETWEEN (SELECT first FROM piece) AND (SELECT last FROM piece)
LEFT JOIN contacts_optout calls ON calls.contact_id = contact.id AND calls.channel = 'calls'
    AND calls.contact_id BETWEEN (SELECT first FROM piece) AND (SELECT last FROM piece)
ORDER BY contact.id
"""


def _iso_time(field: str) -> Func:
    """The time in `field` as `datetime.isoformat(timespec="seconds")` writes it, in the
    connection's zone."""
    return Func(
        F(field),
        Value('YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'),
        function="to_char",
        output_field=TextField(),
    )


FORMULA_START = f"[{re.escape(''.join(_FORMULA_START))}]"


def _neutralised(column: str) -> tuple[str, list]:
    """`neutralise` of `column`, in SQL, and its parameters: a cell starting with a quote is
    tried against one pattern, a cell starting with a formula's first character against the
    other, and no other cell against any."""
    formula = [ord(first) for first in _FORMULA_START]
    sql = (
        f"CASE WHEN ascii({column}) = ascii('''') AND {column} ~ %s"
        f" OR ascii({column}) IN ({', '.join(['%s'] * len(formula))}) AND {column} !~ %s"
        f" THEN '''' || {column} ELSE {column} END"
    )
    return sql, [f"^'+{FORMULA_START}", *formula, VALID_PHONE]


def _written(contacts: QuerySet[Contact], ids: Ids = Ids()) -> tuple[bytes, int]:
    """The piece's rows as CSV, written here from their values, and how many there are."""
    rows = contacts.filter(ids.of("pk")).order_by("pk")
    writer = _writer()
    lines = [writer.writerow([neutralise(cell) for cell in row]) for row in _values(rows)]
    return "".join(lines).encode(), len(lines)


FIELDS = ["id", "name", "phone", "email", "status", "time_zone", "state", "created_at"]


def _values(rows: QuerySet[Contact]) -> Iterator[list[str]]:
    """Each row's cells in COLUMNS' order, from its values, its tags' and its opt-outs'."""
    ids = rows.values("pk")
    tagged: dict[int, set[int]] = {}
    links = Contact.tags.through.objects.filter(contact__in=ids)
    for contact, tag in links.values_list("contact_id", "tag_id"):
        tagged.setdefault(contact, set()).add(tag)
    tags_in_order = list(Tag.objects.values_list("pk", "name"))  # by name
    # Each opted-out channel's status, as Contact.opt_in_status says it: its opt-out's kind.
    kinds = dict(
        ((contact, channel), kind)
        for contact, channel, kind in OptOut.objects.filter(contact__in=ids).values_list(
            "contact_id", "channel", "kind"
        )
    )
    zone = timezone.get_current_timezone()
    for pk, name, phone, email, status, time_zone, state, created_at in rows.values_list(*FIELDS):
        tags = [tag for tag_pk, tag in tags_in_order if tag_pk in tagged.get(pk, ())]
        yield [
            name, phone, email, ", ".join(tags), status,
            kinds.get((pk, Channel.SMS), OptInStatus.SUBSCRIBED.value),
            kinds.get((pk, Channel.CALLS), OptInStatus.SUBSCRIBED.value),
            time_zone, state, created_at.astimezone(zone).isoformat(timespec="seconds"),
        ]  # fmt: skip
