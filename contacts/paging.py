"""Keyset pagination for the Contacts table.

Next and Previous carry the sort keys of the page's last or first row, and the next page is
the rows past those keys: a row-value comparison that the sort's index answers at once, so
page 10,000 costs what page 1 does. (OFFSET 500,000 took half a second at a million contacts,
and counting them all, for numbered pages, a tenth of one.)
"""

import base64
import json
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.fields.tuple_lookups import (
    Tuple,
    TupleGreaterThan,
    TupleGreaterThanOrEqual,
    TupleLessThan,
    TupleLessThanOrEqual,
)
from django.http import QueryDict


class BadCursor(ValueError):
    """A Next or Previous link that was altered, or made for another sort order."""


@dataclass
class Page:
    rows: list = field(default_factory=list)
    number: int = 1
    next_query: str | None = None
    previous_query: str | None = None
    problem: str = ""  # a broken link, and so the first page instead


class Way(NamedTuple):
    """The rows that match a text search one way, and the sort keys in whose order an index
    gives them (none: they are looked up and sorted)."""

    rows: QuerySet
    index_order: tuple[str, ...] = ()


def _encode(values: list) -> str:
    text = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, fields: list[str], queryset: QuerySet) -> list:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, RecursionError) as error:  # RecursionError: "[[[[…" nested too deep
        raise BadCursor("This page link is broken.") from error
    if not isinstance(values, list) or len(values) != len(fields):
        raise BadCursor("This page link was made for another sort order.")
    return [
        _key(queryset.model._meta.get_field(name), value)
        for name, value in zip(fields, values, strict=True)
    ]


def _key(field: models.Field, value) -> object:
    """One sort key from a link, checked against its column's type and what the database
    can compare it with: a key it would refuse is a broken link, not a server error."""
    try:
        if isinstance(field, models.DateTimeField):
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                # In UTC: PostgreSQL refuses offsets past 15:59, and a moment past the year
                # 9999 in UTC raises OverflowError here rather than in the database driver.
                return moment.astimezone(UTC)
        elif isinstance(field, models.IntegerField):
            low, high = connection.ops.integer_field_range(field.get_internal_type())
            if isinstance(value, int) and low <= value <= high:
                return value
        elif isinstance(value, str) and "\x00" not in value:
            value.encode()  # a lone surrogate, which no database takes, raises ValueError
            return value
    except (TypeError, ValueError, OverflowError):
        pass
    raise BadCursor("This page link is broken.")


def paginate(
    queryset: QuerySet, query: QueryDict, per_page: int, *, ways: Sequence[Way] = ()
) -> Page:
    """The page of `queryset` (which is ordered) that the `after` or `before` cursor in
    `query` asks for, or the first page; a broken cursor gives the first page, with the
    `problem` said. `ways`: when `queryset` is narrowed by a text search, its rows split by
    the way they match, whose union is `queryset` (see _rows)."""
    try:
        return _paginate(queryset, query, per_page, ways)
    except BadCursor as error:
        first = query.copy()
        for name in CURSOR:
            first.pop(name, None)
        page = _paginate(queryset, first, per_page, ways)
        page.problem = str(error)
        return page


CURSOR = ("after", "before", "page")
# Far past any real page, and short enough to write: Python writes no integer of more than
# 4,300 digits.
MAX_PAGE_NUMBER = 10**18


def _paginate(queryset: QuerySet, query: QueryDict, per_page: int, ways: Sequence[Way]) -> Page:
    ordering = [str(term) for term in queryset.query.order_by or queryset.model._meta.ordering]
    descending = ordering[0].startswith("-")
    if any(term.startswith("-") != descending for term in ordering):
        raise ValueError("Keyset pagination needs every sort key in the same direction.")
    fields = [term.lstrip("-") for term in ordering]
    if "id" not in fields:  # the keys must tell every two rows apart
        fields.append("id")
        ordering.append("-id" if descending else "id")
    after, before = query.get("after"), query.get("before")
    try:
        number = max(int(query.get("page", 1)), 1)
    except ValueError:
        number = 1
    if number > MAX_PAGE_NUMBER:  # no table has that many pages: the link was altered
        raise BadCursor("This page link is broken.")

    if before:
        backwards = [term[1:] if term.startswith("-") else f"-{term}" for term in ordering]
        cursor = _decode(before, fields, queryset)
        rows = _rows(queryset, backwards, fields, cursor, per_page + 1, ways)
        more_before, rows = len(rows) > per_page, rows[:per_page][::-1]
        more_after = True
        if not more_before:  # back at the start, whatever the link said
            number = 1
    else:
        cursor = _decode(after, fields, queryset) if after else None
        if not after:
            number = 1
        rows = _rows(queryset, ordering, fields, cursor, per_page + 1, ways)
        more_after, rows = len(rows) > per_page, rows[:per_page]
        more_before = bool(after)

    def link(direction: str, row, page_number: int) -> str:
        linked = query.copy()
        for name in CURSOR:
            linked.pop(name, None)
        if page_number > 1:
            linked[direction] = _encode([getattr(row, name) for name in fields])
            linked["page"] = str(page_number)
        return linked.urlencode()

    return Page(
        rows=rows,
        number=number,
        next_query=link("after", rows[-1], number + 1) if more_after and rows else None,
        previous_query=(
            link("before", rows[0], number - 1) if more_before and rows and number > 1 else None
        ),
    )


# How far along the order a text search tests rows before it looks its matches up. First the
# next WALK rows: a walk tests about 300 rows a millisecond, and finds the matches of a word
# common along the order, whose look-up would be long (about 2 ms for each thousand matches,
# past the first ones by the name's or the email's start, which their indexes give at once).
# If some of them matched, as many more as their share says the page needs, twice over, up to
# FURTHEST: about 30 ms, what a look-up of 15,000 matches costs.
WALK, FURTHEST = 250, 10_000


def _rows(
    queryset: QuerySet,
    ordering: list[str],
    fields: list[str],
    cursor,
    count: int,
    ways: Sequence[Way],
) -> list:
    """The first `count` rows of `queryset` in `ordering` (by `fields`), past the keys
    `cursor` if there is one.

    Asked for the first rows in an order, PostgreSQL walks that order's index and tests each
    row, expecting the matches to be spread along it. A text search's may not be: in name
    order, the contacts that match "Sofia" start 825,000 rows along: the walk took 0.8 to 1 s.
    So a search tests rows along the order for a while (WALK), which finds the matches of a
    common word at once, and those of a rarer one spread along the order soon; if they do not
    fill the page, the rest of its matches are looked up (_looked_up).
    """
    keys = Tuple(*(F(name) for name in fields))
    if ordering[0].startswith("-"):
        up_to, first_up_to = TupleGreaterThanOrEqual, "gte"
    else:
        up_to, first_up_to = TupleLessThanOrEqual, "lte"

    def ahead(rows: QuerySet, start=cursor) -> QuerySet:
        return _ahead(rows, ordering, start)

    if not ways:
        return list(ahead(queryset)[:count])
    everyone, rows, start, walk = queryset.model._default_manager.all(), [], cursor, WALK
    for _ in range(2):
        # The keys of the row `walk` rows further along the whole table's order.
        end = list(ahead(everyone, start).values_list(*fields)[walk - 1 : walk])
        if not end:  # the order ends sooner: the rest of the walk is short anyway
            return rows + list(ahead(queryset, start)[: count - len(rows)])
        # Up to the end's keys, and its first key alone too: PostgreSQL cannot tell how many
        # rows a comparison of keys together leaves, and may take another index instead (for
        # archived contacts, the index of those not active: 57 ms against 2.9).
        walked = ahead(queryset, start).filter(
            up_to(keys, end[0]), **{f"{fields[0]}__{first_up_to}": end[0][0]}
        )
        with _planned("enable_bitmapscan = off"):  # a walk, not a look-up of every match
            rows += list(walked[: count - len(rows)])
        start = end[0]
        if len(rows) == count or not rows:  # a full page, or no match near: stop walking
            break
        walk = min(2 * WALK * (count - len(rows)) // len(rows) + 1, FURTHEST)
    if len(rows) < count:
        rows += _looked_up(ahead(queryset, start), ways, ordering, start, count - len(rows))
    return rows


def _ahead(rows: QuerySet, ordering: list[str], start) -> QuerySet:
    """`rows` in `ordering`, past the keys `start` if there are some."""
    if start is not None:
        keys = Tuple(*(F(term.lstrip("-")) for term in ordering))
        past = TupleLessThan if ordering[0].startswith("-") else TupleGreaterThan
        rows = rows.filter(past(keys, start))
    return rows.order_by(*ordering)


def _looked_up(
    queryset: QuerySet, ways: Sequence[Way], ordering: list[str], start, count: int
) -> list:
    """The first `count` rows of `queryset` (in `ordering`, past the keys `start`), which is
    the union of `ways` past them: the first rows of each way, by their keys alone, then the
    first of those.

    A way whose index gives its rows in order yields its first ones at once: in name order,
    the 25,000 contacts named Sofia come 51 at a time from the index of the names' first
    letters. Another way's rows are looked up by its own indexes and sorted. (Before, every
    match was looked up and sorted: 30 to 50 ms for "Sofia", reading the table's every page.)
    On SQLite, where a search scans anyway, the rows come at once.
    """
    if connection.vendor != "postgresql":
        return list(queryset[:count])
    fields = [term.lstrip("-") for term in ordering]
    descending = ordering[0].startswith("-")
    columns = [connection.ops.quote_name(name) for name in fields]
    order = ", ".join(f"{column} DESC" if descending else column for column in columns)
    past_start = ""
    if start is not None:
        comparison = "<" if descending else ">"
        past_start = f"WHERE ({', '.join(columns)}) {comparison} ({', '.join(['%s'] * len(start))})"
    firsts, params = [], []
    for way in ways:
        if way.index_order == tuple(fields):
            rows = _ahead(way.rows, ordering, start).values_list(*fields)[:count]
            sql, way_params = rows.query.sql_with_params()
        else:
            sql, way_params = way.rows.order_by().values_list(*fields).query.sql_with_params()
            # OFFSET 0 plans the look-up by itself: asked for its first rows in order,
            # PostgreSQL would walk the order's index instead, testing every row. The keys
            # are compared after it: guessing that a comparison of keys leaves a third of the
            # rows, PostgreSQL took their index rather than the way's own (sorted by status,
            # the look-up for "Sofia" read the status index through: 322 ms against 97).
            sql = f"SELECT * FROM ({sql} OFFSET 0) way {past_start} ORDER BY {order} LIMIT {count}"
            way_params = (*way_params, *(start or ()))
        firsts.append(f"({sql})")
        params += way_params
    union = f"SELECT id FROM ({' UNION '.join(firsts)}) firsts ORDER BY {order} LIMIT {count}"
    # Not in parallel: starting workers cost more than they save (looking up every Sofia took
    # 55 ms with them, 30 without).
    with _planned("max_parallel_workers_per_gather = 0"):
        return list(queryset.filter(pk__in=RawSQL(union, params)))


@contextmanager
def _planned(*settings: str):
    """On PostgreSQL, the queries inside are planned with these settings, in a transaction of
    their own (durable: inside another, the settings would outlive this block)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute("; ".join(f"SET LOCAL {setting}" for setting in settings))
        yield


def how_many(queryset: QuerySet) -> str:
    """How many rows `queryset` has, as the table says it: counted ("1,000,002"), unless
    PostgreSQL's planner expects counting to cost more than settings.COUNT_COST_LIMIT; then
    its estimate ("about 1.2 million")."""
    queryset = queryset.order_by().values("pk")
    if connection.vendor == "postgresql":
        plan = json.loads(queryset.explain(format="json"))[0]["Plan"]
        if plan["Total Cost"] > settings.COUNT_COST_LIMIT:
            return f"about {_roughly(plan['Plan Rows'])}"
    return f"{queryset.count():,}"


def _roughly(number: float) -> str:
    if number >= 1_000_000:
        return f"{number / 1_000_000:.1f} million"
    digits = max(len(str(int(number))) - 2, 0)  # two significant ones
    return f"{round(number, -digits):,.0f}"
