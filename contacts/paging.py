"""Keyset pagination for the Contacts table.

Next and Previous carry the sort keys of the page's last or first row, and the next page is
the rows past those keys: a row-value comparison that the sort's index answers at once, so
page 10,000 costs what page 1 does. (OFFSET 500,000 took half a second at a million contacts,
and counting them all, for numbered pages, a tenth of one.)
"""

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models
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
    except ValueError as error:
        raise BadCursor("This page link is broken.") from error
    if not isinstance(values, list) or len(values) != len(fields):
        raise BadCursor("This page link was made for another sort order.")
    return [
        _key(queryset.model._meta.get_field(name), value)
        for name, value in zip(fields, values, strict=True)
    ]


def _key(field: models.Field, value) -> object:
    """One sort key from a link, checked against its column's type."""
    try:
        if isinstance(field, models.DateTimeField):
            return datetime.fromisoformat(value)
        if isinstance(field, models.IntegerField):
            if isinstance(value, int):
                return value
        elif isinstance(value, str):
            return value
    except (TypeError, ValueError):
        pass
    raise BadCursor("This page link is broken.")


def paginate(queryset: QuerySet, query: QueryDict, per_page: int) -> Page:
    """The page of `queryset` (which is ordered) that the `after` or `before` cursor in
    `query` asks for, or the first page; a broken cursor gives the first page, with the
    `problem` said."""
    try:
        return _paginate(queryset, query, per_page)
    except BadCursor as error:
        first = query.copy()
        for name in CURSOR:
            first.pop(name, None)
        page = _paginate(queryset, first, per_page)
        page.problem = str(error)
        return page


CURSOR = ("after", "before", "page")


def _paginate(queryset: QuerySet, query: QueryDict, per_page: int) -> Page:
    ordering = [str(term) for term in queryset.query.order_by or queryset.model._meta.ordering]
    descending = ordering[0].startswith("-")
    if any(term.startswith("-") != descending for term in ordering):
        raise ValueError("Keyset pagination needs every sort key in the same direction.")
    fields = [term.lstrip("-") for term in ordering]
    if "id" not in fields:  # the keys must tell every two rows apart
        fields.append("id")
        ordering.append("-id" if descending else "id")
        queryset = queryset.order_by(*ordering)
    keys = Tuple(*(F(name) for name in fields))
    after, before = query.get("after"), query.get("before")
    try:
        number = max(int(query.get("page", 1)), 1)
    except ValueError:
        number = 1

    if before:
        past = TupleGreaterThan if descending else TupleLessThan
        backwards = [term[1:] if term.startswith("-") else f"-{term}" for term in ordering]
        earlier = queryset.filter(past(keys, _decode(before, fields, queryset)))
        rows = list(earlier.order_by(*backwards)[: per_page + 1])
        more_before, rows = len(rows) > per_page, rows[:per_page][::-1]
        more_after = True
        if not more_before:  # back at the start, whatever the link said
            number = 1
    else:
        if after:
            past = TupleLessThan if descending else TupleGreaterThan
            queryset = queryset.filter(past(keys, _decode(after, fields, queryset)))
        else:
            number = 1
        rows = list(queryset[: per_page + 1])
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
