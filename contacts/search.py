"""How the Contacts table's search finds its matches, and in what order.

A search is for a whole phone number, part of one, or words of names and emails
(contacts.filters.ContactFilter.search tells which). On PostgreSQL each way a contact can
match has an index of its own (migrations 0004, 0011 and 0016), and an index serves a query
only if the query writes the index's expression exactly: the functions below write each
one, and tests/contacts/test_search_indexes.py checks, by its plan, that each is used. On
SQLite one text index (migration 0025) serves them all (in_text_index).

A search for words finds its matches in the table's order, for Next and Previous
(contacts.paging), as WalkThenLookUp.first_past says; so do filters whose matches no index of
the table gives in its order (contacts.filters.ContactFilter.fetch).
"""

import re
from collections.abc import Callable
from copy import copy
from functools import reduce
from itertools import permutations
from operator import or_
from typing import NamedTuple, Self

import phonenumbers
from django.conf import settings
from django.db import connection
from django.db.models import Func, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Left, Substr, Upper
from django.db.models.lookups import Contains, Exact, IContains

from contacts.paging import ordered_past
from contacts.places import number_range

# Names and emails are indexed by their first three letters in capitals, then the name
# (contact_name_key, contact_email_key): the contacts whose name or email starts with "Sofia"
# are among those under "SOF", in name order.
KEY_LENGTH = 3


def first_letters(field: str) -> Func:
    """The first letters of `field` in capitals, as contact_name_key and contact_email_key
    have them: UPPER(LEFT(name, 3))."""
    return Upper(Left(field, KEY_LENGTH))


def after_first_character(field: str) -> Func:
    """`field` after its first character, as the trigram indexes have it: SUBSTRING(name, 2)
    (contact_name_rest_trgm, contact_email_rest_trgm) and SUBSTRING(phone, 2), the digits
    after the "+" (contact_phone_digits_trgm)."""
    return Substr(field, 2)


def starts_with(field: str, value: str, text_index: bool = True) -> Q:
    """`field` starts with `value`, case aside: UPPER(name) LIKE 'SOFIA%', which
    contact_name_start and contact_email_start serve; and so, from three letters, its first
    letters are those of `value`, which contact_name_key and contact_email_key serve in name
    order."""
    starts = Q(**{f"{field}__istartswith": value})
    if len(value) < KEY_LENGTH:
        return starts
    return first_letters_are(field, value) & in_text_index(field, value, text_index) & starts


def first_letters_are(field: str, value: str) -> Q:
    """The first letters of `field` are those of `value`, in capitals."""
    return Q(Exact(first_letters(field), Upper(Left(Value(value), KEY_LENGTH))))


def holds_further_in(field: str, value: str, text_index: bool = True) -> Q:
    """`field` holds `value` after its first character, case aside (a trigram index)."""
    holds = Q(IContains(after_first_character(field), value))
    return in_text_index(field, value, text_index) & holds


def holds_digits(digits: str, text_index: bool = True) -> Q:
    """Numbers with `digits` in them after their "+" (a trigram index)."""
    holds = Q(Contains(after_first_character("phone"), digits))
    return in_text_index("phone", digits, text_index) & holds


# FTS5's trigram tokenizer indexes every three characters in a row of a text.
TRIGRAM = 3


def in_text_index(field: str, value: str, wanted: bool = True) -> Q:
    """On SQLite, where no index serves the conditions above: the contacts whose `field`
    holds `value` anywhere, case aside, as the search's text index finds them (contacts
    migration 0025), to stand beside the condition itself. The index finds more than the
    condition (`value` anywhere, and letters beyond ASCII in either case, as SQLite's LIKE
    does not), never fewer. Nothing on PostgreSQL, or where `value` is too short for it, or
    not `wanted` (WalkThenLookUp's walk tests rows without it)."""
    if not wanted or connection.vendor != "sqlite" or len(value) < TRIGRAM:
        return Q()
    phrase = '"' + value.replace('"', '""') + '"'
    return Q(
        pk__in=RawSQL(
            "SELECT rowid FROM search_text WHERE search_text MATCH %s", [f"{field}: {phrase}"]
        )
    )


def number_starting(prefix: str) -> Q:
    """Numbers that start with `prefix`, as a range of the phone index (contact_phone), which
    LIKE 'prefix%' cannot use unless the database collates as C: "+1201200" ≤ phone <
    "+1201201"."""
    low, high = number_range(prefix)
    return Q(phone__gte=low) if high is None else Q(phone__gte=low, phone__lt=high)


PHONE_CHARACTERS = re.compile(r"[\d\s().+-]+")


def phone_fragment(value: str, text_index: bool = True) -> Q | None:
    """Part of a phone number, written as people write numbers: from its start when it begins
    with the country code ("+44 20") or the area code ("(212)"), else three or more of its
    digits anywhere ("212", "555-0101"). None when `value` is not written like a number. On
    SQLite, digits anywhere with the text index (in_text_index) if `text_index`."""
    digits = re.sub(r"\D", "", value)
    if not PHONE_CHARACTERS.fullmatch(value) or len(digits) < 3:
        return None
    if value.startswith("+"):
        return number_starting(f"+{digits}")
    if value.startswith("("):
        country = phonenumbers.country_code_for_region(settings.PHONE_REGION)
        return number_starting(f"+{country}{digits}")
    return holds_digits(digits, text_index)


def digits_anywhere(value: str) -> bool:
    """Whether `value` is part of a number whose digits may be anywhere in it ("555-01"), not
    at its start: their matches lie anywhere along the numbers' order too."""
    return phone_fragment(value) is not None and not value.startswith(("+", "("))


class WayToMatch(NamedTuple):
    """One way a contact matches a search for words (say, its name starts with them), and
    the sort keys in whose order an index gives the matches (none: they are looked up, then
    sorted)."""

    condition: Q
    index_order: tuple[str, ...] = ()


WORD_SEPARATORS = re.compile(r"[\s,]+")
# "Davis Aisha" finds Aisha Davis: a name that starts with the words in another order, each
# order looked up in the index of names' first letters as the words in their own order are.
# Up to three words, six orders.
MAX_REORDERED_WORDS = 3


def ways_to_match(words: str, text_index: bool = True) -> list[WayToMatch]:
    """The ways a contact matches a search for `words`: its name or its email starts with
    them (case aside), or one of them holds them further in, or its number holds the digits
    in them; or its name starts with the words in another order. On SQLite, with the text
    index (in_text_index) if `text_index`."""
    further_in = holds_further_in("name", words, text_index) | holds_further_in(
        "email", words, text_index
    )
    digits = re.sub(r"\D", "", words)
    if len(digits) >= 4:
        further_in |= holds_digits(digits, text_index)
    in_name_order = ("name", "id") if len(words) >= KEY_LENGTH else ()
    ways = [
        WayToMatch(starts_with("name", words, text_index), in_name_order),
        WayToMatch(starts_with("email", words, text_index), in_name_order),
        WayToMatch(further_in),
    ]
    split = WORD_SEPARATORS.split(words.strip(" ,"))
    if 1 < len(split) <= MAX_REORDERED_WORDS:
        for reordered in list(permutations(split))[1:]:
            reordered_words = " ".join(reordered)
            ways.append(WayToMatch(starts_with("name", reordered_words, text_index), in_name_order))
    return ways


def matches_words(words: str, text_index: bool = True) -> Q:
    """A contact matches a search for `words` in one of the ways_to_match."""
    return reduce(or_, (way.condition for way in ways_to_match(words, text_index)))


# How many rows along the table's order WalkThenLookUp tests before it looks its matches up:
# FIRST_WALK, then as many more as its `further_walk` says, at most WALK_AT_MOST (about what
# looking up a common word's matches would cost). A walk is quick per row, and finds at once
# matches common along the order (a common word, a large tag), whose look-up would be long.
FIRST_WALK, WALK_AT_MOST = 250, 10_000


class WalkThenLookUp:
    """Matches that may lie anywhere along the table's order, and how they are found in that
    order, page by page.

    Asked for the first rows in an order, PostgreSQL walks that order's index and tests each
    row, expecting the matches to be spread along it. They may not be: in name order, the
    demo's contacts that match "Sofia" start 825,000 rows along, and those with the tag Leads
    and a soft opt-out of SMS are none, which PostgreSQL, expecting thousands, learns at the
    end of the table. So first_past walks along the order for a while (FIRST_WALK rows), which
    finds common matches at once, and rarer ones spread along the order soon; if they do not
    fill the page, it looks the rest up, way by way, each by its own indexes
    (_first_of_each_way). Each step is one statement.
    """

    def __init__(
        self, ways: list[tuple[QuerySet, tuple[str, ...]]], walked: QuerySet | None = None
    ):
        """`ways`: the matches, as the union of querysets, each with the sort keys in whose
        order an index gives its rows (none: they are looked up, then sorted). `walked`: the
        matches as a walk tests them, where that is written otherwise (TextSearch)."""
        self.ways = ways
        self.walked = walked

    def first_past(
        self, matches: QuerySet, ordering: list[str], keys: list | None, count: int
    ) -> list:
        """The first `count` rows of `matches` (the union of the ways) in `ordering`, past
        `keys`: a paging.Fetch."""
        fields = [term.lstrip("-") for term in ordering]
        everyone = matches.model._default_manager.all()
        walked = matches if self.walked is None else self.walked
        first = ordered_past(everyone, ordering, keys)[:FIRST_WALK]
        rows = _matches_along(first, walked, ordering, count)
        # Each step goes on past the last row found, by its keys: a step is a statement of its
        # own, which may see rows added or deleted since the one before, so a position along
        # the order ("past the 250th row") could skip a match or repeat one.
        more = self.further_walk(len(rows), count) if len(rows) < count else 0
        if more:
            past = [getattr(rows[-1], name) for name in fields] if rows else keys
            stretch = ordered_past(everyone, ordering, past)[:more]
            rows += _matches_along(stretch, walked, ordering, count - len(rows))
        if len(rows) < count:  # the rest are looked up
            past = [getattr(rows[-1], name) for name in fields] if rows else keys
            rows += self._first_of_each_way(matches, ordering, past, count - len(rows))
        return rows

    def narrowed(self, narrow: Callable[[QuerySet], QuerySet]) -> Self:
        """The same search for the matches that `narrow` leaves of these (a filter more)."""
        narrowed = copy(self)
        narrowed.ways = [(narrow(rows), index_order) for rows, index_order in self.ways]
        narrowed.walked = None if self.walked is None else narrow(self.walked)
        return narrowed

    def further_walk(self, found: int, wanted: int) -> int:
        """How many rows more to walk when the first FIRST_WALK rows held `found` of the
        `wanted`. As far as WALK_AT_MOST: the ways here are looked up all together, which
        reads all their matches (a channel's opt-outs: tens of thousands), while the walk stops
        at a full page. In the order they were added, the demo's opt-outs come in runs: a
        look-up after a first walk without one took 360 ms, walking on 14 ms (bench/NOTES.md).
        None on SQLite, whose look-up starts from the lists of ids the filters name
        (contacts.models.contacts_in), and which reads those lists whole for each walk too.
        """
        return 0 if connection.vendor == "sqlite" else WALK_AT_MOST

    def _first_of_each_way(
        self, matches: QuerySet, ordering: list[str], start: list | None, count: int
    ) -> list:
        """The first `count` rows of `matches` in `ordering` past the keys `start` (if any),
        which are the union of the ways past them: the first `count` rows of each way, by
        their keys alone (a UNION), then the first of those.

        A way whose index gives its rows in order yields its first ones at once: in name
        order, thousands of contacts named Sofia come a page at a time from the index of the
        names' first letters. Another way's rows are looked up by its own indexes and sorted.
        (Looking every match up and sorting them read the table's every page.) On SQLite
        the rows come in one statement, which starts from the lists of ids its conditions
        name (in_text_index, contacts.models.contacts_in) and sorts them.
        """
        if connection.vendor != "postgresql":
            return list(ordered_past(matches, ordering, start)[:count])
        fields = [term.lstrip("-") for term in ordering]
        descending = ordering[0].startswith("-")
        columns = [connection.ops.quote_name(name) for name in fields]
        order = ", ".join(f"{column} DESC" if descending else column for column in columns)
        past_start = ""
        if start is not None:
            comparison = "<" if descending else ">"
            placeholders = ", ".join(["%s"] * len(start))
            past_start = f"WHERE ({', '.join(columns)}) {comparison} ({placeholders})"
        firsts, params = [], []
        for rows, index_order in self.ways:
            if index_order == tuple(fields):
                first = ordered_past(rows, ordering, start).values_list(*fields)[:count]
                sql, way_params = first.query.sql_with_params()
            else:
                sql, way_params = rows.order_by().values_list(*fields).query.sql_with_params()
                # OFFSET 0 plans the look-up by itself: asked for its first rows in order,
                # PostgreSQL would walk the order's index instead, testing every row. The keys
                # are compared after it: guessing that a comparison of keys leaves a third of
                # the rows, PostgreSQL took their index rather than the way's own (sorted by
                # status, the look-up for "Sofia" read the status index through).
                sql = (
                    f"SELECT * FROM ({sql} OFFSET 0) way {past_start} "
                    f"ORDER BY {order} LIMIT {count}"
                )
                way_params = (*way_params, *(start or ()))
            firsts.append(f"({sql})")
            params += way_params
        union = f"SELECT id FROM ({' UNION '.join(firsts)}) firsts ORDER BY {order} LIMIT {count}"
        return list(matches.filter(pk__in=RawSQL(union, params)).order_by(*ordering))


class TextSearch(WalkThenLookUp):
    """A search for words in names and emails: each way of matching them (ways_to_match) is a
    way of WalkThenLookUp."""

    def further_walk(self, found: int, wanted: int) -> int:
        """As many rows more as the share found says the page needs (walk_for_the_rest). None
        when the first walk found nothing: a word that matches nothing near is most often
        rare, and its look-up quick, each way's first rows coming from its own index."""
        return walk_for_the_rest(found, wanted)

    def __init__(self, contacts: QuerySet, words: str):
        """`contacts`: those the table's other filters leave. A walk tests its rows without
        the text index: SQLite would read all the index's matches for each walk, every
        contact's for "example.com" (bench/NOTES.md)."""
        super().__init__(
            [(contacts.filter(way.condition), way.index_order) for way in ways_to_match(words)],
            walked=contacts.filter(matches_words(words, text_index=False)),
        )


def walk_for_the_rest(found: int, wanted: int) -> int:
    """How many rows more to walk when the first FIRST_WALK rows held `found` of the `wanted`:
    as many as that share says the rest need, twice over, up to WALK_AT_MOST; none when it
    found nothing."""
    if not found:
        return 0
    return min(2 * FIRST_WALK * (wanted - found) // found + 1, WALK_AT_MOST)


def _matches_along(stretch: QuerySet, matches: QuerySet, ordering: list[str], count: int) -> list:
    """The first `count` rows of `stretch` (a stretch of the whole table along `ordering`)
    that are rows of `matches`: the stretch is read row by row along the order, and each row
    is tested, until `count` of them match.

    Written as the query of `matches` that reads the stretch where it read the table. Asked
    for the matches whose ids are among the stretch's, PostgreSQL looked every match up and
    sorted them, which a walk is there to avoid (bench/NOTES.md).
    """
    sql, params = matches.order_by(*ordering)[:count].query.sql_with_params()
    table = connection.ops.quote_name(matches.model._meta.db_table)
    columns, found, rest = sql.partition(f" FROM {table} ")
    if not found or "%s" in columns:
        raise ValueError(f"A query that does not read {table} first: {sql}")
    stretch_sql, stretch_params = stretch.query.sql_with_params()
    sql = f"{columns} FROM ({stretch_sql}) {table} {rest}"
    return list(matches.model._default_manager.raw(sql, (*stretch_params, *params)))
