"""Keyset pagination: Next and Previous over any ordered queryset.

Next and Previous carry the sort keys of the page's last or first row, and the next page is
the rows past those keys: a row-value comparison that the sort's index answers at once, so
page 10,000 costs what page 1 does. (OFFSET 500,000 took half a second at a million contacts,
and counting them all, for numbered pages, a tenth of one.)

Which rows come next is asked of a `fetch` function, by default `first_past`: the queryset's
rows past the keys, in its order. A search for words fetches its own way (contacts.search).
"""

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, models
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
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


# How a page's rows are fetched: the first `count` rows of a queryset in an ordering (such as
# ["-name", "-id"]), past the sort keys given, if any.
Fetch = Callable[[QuerySet, list[str], list | None, int], list]


def ordered_past(rows: QuerySet, ordering: list[str], keys: list | None) -> QuerySet:
    """`rows` in `ordering`, past the sort keys `keys` if there are some."""
    if keys is not None:
        columns = Tuple(*(F(term.lstrip("-")) for term in ordering))
        past = TupleLessThan if ordering[0].startswith("-") else TupleGreaterThan
        rows = rows.filter(past(columns, keys))
    return rows.order_by(*ordering)


def first_past(queryset: QuerySet, ordering: list[str], keys: list | None, count: int) -> list:
    """The first `count` rows of `queryset` in `ordering`, past `keys`: the order's index
    gives them at once."""
    return list(ordered_past(queryset, ordering, keys)[:count])


def paginate(
    queryset: QuerySet, query: QueryDict, per_page: int, *, fetch: Fetch = first_past
) -> Page:
    """The page of `queryset` (which is ordered) that the `after` or `before` cursor in
    `query` asks for, or the first page; a broken cursor gives the first page, with the
    `problem` said. `fetch` reads the page's rows (see Fetch)."""
    try:
        return _paginate(queryset, query, per_page, fetch)
    except BadCursor as error:
        first = query.copy()
        for name in CURSOR:
            first.pop(name, None)
        page = _paginate(queryset, first, per_page, fetch)
        page.problem = str(error)
        return page


CURSOR = ("after", "before", "page")
# Far past any real page, and short enough to write: Python writes no integer of more than
# 4,300 digits.
MAX_PAGE_NUMBER = 10**18


def _paginate(queryset: QuerySet, query: QueryDict, per_page: int, fetch: Fetch) -> Page:
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
        keys = _decode(before, fields, queryset)
        rows = fetch(queryset, backwards, keys, per_page + 1)
        more_before, rows = len(rows) > per_page, rows[:per_page][::-1]
        more_after = True
        if not more_before:  # back at the start, whatever the link said
            number = 1
    else:
        keys = _decode(after, fields, queryset) if after else None
        if not after:
            number = 1
        rows = fetch(queryset, ordering, keys, per_page + 1)
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
