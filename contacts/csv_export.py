"""Contacts as CSV, with cells a spreadsheet could run as formulas neutralised: streamed to
the browser, or, for many contacts, written by a task into pieces that its page offers for
download (contacts.bulk)."""

import csv
import io
import re
from collections.abc import Iterator

from django.db import connection, transaction
from django.db.models import (
    F,
    Func,
    OuterRef,
    QuerySet,
    StringAgg,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Coalesce
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


def pieces(contacts: QuerySet[Contact]) -> Iterator[tuple[bytes, int]]:
    """The CSV file of `contacts`, a piece at a time (the header first), each with how many
    contacts it holds. On PostgreSQL a piece is a COPY of cells the database works out
    (`_cells`); elsewhere they are written here from the contacts' values.

    In the order the contacts were added: a piece is a range of ids, out of which no change
    of a contact moves it (in name order, a contact renamed during an export was written
    twice or not at all)."""
    yield _writer().writerow(COLUMNS).encode(), 0
    piece = _copied if connection.vendor == "postgresql" else _written
    after = 0
    while True:
        rest = contacts.filter(pk__gt=after).order_by("pk")
        # The piece's last id, PIECE_ROWS along; none: the rest is shorter.
        last = next(iter(rest.values_list("pk", flat=True)[PIECE_ROWS - 1 : PIECE_ROWS]), None)
        data, count = piece(rest if last is None else rest.filter(pk__lte=last))
        if count:
            yield data, count
        if last is None:
            return
        after = last


def csv_lines(contacts: QuerySet[Contact]) -> Iterator[bytes]:
    """The CSV file of `contacts`, for a response to stream."""
    for data, _ in pieces(contacts):
        yield data


def _copied(rows: QuerySet[Contact]) -> tuple[bytes, int]:
    """The rows as CSV, by PostgreSQL's COPY, and how many there are."""
    sql, params = _cells(rows)
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


def _cells(rows: QuerySet[Contact]) -> tuple[str, list]:
    """SQL of each row's cells in COLUMNS' order, as `_written` writes them, worked out by the
    database (tests/contacts/test_csv_export.py holds the two to each other), and its
    parameters. The cells are neutralised around the query that reads them: inside it, each
    cell's expression (its tags' look-up, say) would be worked out again each time the rule
    names the cell (bench/NOTES.md)."""
    tags = (
        Contact.tags.through.objects.filter(contact=OuterRef("pk"))
        .order_by()
        .values("contact")
        .annotate(names=StringAgg("tag__name", Value(", "), order_by="tag__name"))
        .values("names")
    )
    cells = {
        "name": F("name"),
        "phone": F("phone"),
        "email": F("email"),
        "tags": Coalesce(Subquery(tags), Value(""), output_field=TextField()),
        "status": F("status"),
        "sms": _status_of(Channel.SMS),
        "calls": _status_of(Channel.CALLS),
        "time_zone": F("time_zone"),
        "state": F("state"),
        "created_at": Func(
            F("created_at"),
            Value('YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'),
            function="to_char",
            output_field=TextField(),
        ),
    }
    read = rows.annotate(**{f"cell_{name}": cell for name, cell in cells.items()})
    sql, params = read.values_list(*(f"cell_{name}" for name in cells)).query.sql_with_params()
    outer, outer_params = [], []
    for name in cells:
        cell_sql, cell_params = _neutralised(f"cell.cell_{name}")
        outer.append(f"NULLIF({cell_sql}, '')")  # empty as the csv module writes it, not ""
        outer_params += cell_params
    # OFFSET 0: PostgreSQL would otherwise merge the two queries, and the rule's expressions
    # with them.
    return f"SELECT {', '.join(outer)} FROM ({sql} OFFSET 0) cell", [*outer_params, *params]


def _status_of(channel: Channel) -> Coalesce:
    """A contact's status of `channel`, as Contact.opt_in_status says it: its opt-out's kind,
    else subscribed."""
    kind = OptOut.objects.filter(contact=OuterRef("pk"), channel=channel).values("kind")[:1]
    return Coalesce(Subquery(kind), Value(OptInStatus.SUBSCRIBED.value), output_field=TextField())


FORMULA_START = f"[{re.escape(''.join(_FORMULA_START))}]"
RISKY_FIRST = [*_FORMULA_START, "'"]


def _neutralised(column: str) -> tuple[str, list[str]]:
    """`neutralise` of `column`, in SQL, and its parameters: its patterns tried only on a
    cell whose first character may start one."""
    firsts = ", ".join(["%s"] * len(RISKY_FIRST))
    sql = (
        f"CASE WHEN left({column}, 1) IN ({firsts}) THEN"
        f" CASE WHEN {column} ~ %s AND {column} !~ %s OR {column} ~ %s"
        f" THEN '''' || {column} ELSE {column} END"
        f" ELSE {column} END"
    )
    return sql, [*RISKY_FIRST, f"^{FORMULA_START}", VALID_PHONE, f"^'+{FORMULA_START}"]


def _written(rows: QuerySet[Contact]) -> tuple[bytes, int]:
    """The rows as CSV, written here from their values, and how many there are."""
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
