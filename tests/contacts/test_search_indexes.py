"""Each index the Contacts table's search and pages rely on serves the query written for it.

An index on an expression serves only a query that writes the same expression: were
contacts.search to write UPPER(LEFT(name, 4)) where contact_name_key has UPPER(LEFT(name, 3)),
every search would still find the same contacts, reading the whole table to do it. So each
query runs here on a small table with sequential scans off (and sorts, or walks through
other indexes: see each test), where PostgreSQL takes the index whenever it can serve, and
its plan must read the index by a condition on it. (What the search finds is tested in
test_views_contact_list.py.)
"""

import re

import pytest
from django.db import connection

from contacts import paging, search
from contacts.models import Contact
from tests.factories import ContactFactory

pytestmark = pytest.mark.postgres

NAME_ORDER = ["name", "id"]


def keyed_in_name_order(field: str, value: str):
    """The contacts whose name or email has the first letters of `value`, past a page's keys,
    in name order: how TextSearch._first_of_each_way reads a way of matching by the name's or
    the email's start (with the rest of the start checked too, which contact_name_start and
    contact_email_start may serve instead, where PostgreSQL thinks them cheaper)."""
    matches = Contact.objects.filter(search.first_letters_are(field, value))
    return paging.ordered_past(matches, NAME_ORDER, ["Ana", 1]).values_list(*NAME_ORDER)[:51]


def looked_up(condition):
    """A way's matches looked up, to be sorted after: the OFFSET 0 part of
    TextSearch._first_of_each_way."""
    return Contact.objects.filter(condition).values_list(*NAME_ORDER)


def numbers(fragment: str):
    """The first page of a search for part of a number, in the numbers' order."""
    return Contact.objects.filter(search.phone_fragment(fragment)).order_by("phone", "id")[:51]


def page_after(ordering: list[str], keys: list):
    """A deep page: the rows past a page's keys, in the table's order."""
    return paging.ordered_past(Contact.objects.all(), ordering, keys)[:51]


# The index, and the query that reads its rows in their order.
IN_ORDER = {
    # Migration 0011: a name or an email that starts with the words, in name order.
    "contact_name_key": lambda: keyed_in_name_order("name", "Sofia"),
    "contact_email_key": lambda: keyed_in_name_order("email", "Sofia"),
    # The model's indexes: a number from its start, and Next in each sort order.
    "contact_phone": lambda: numbers("(415) 200"),
    "contact_name": lambda: page_after(["name", "id"], ["Ana", 1]),
    "contact_email": lambda: page_after(["-email", "-id"], ["zoe@example.com", 1]),
    "contact_status": lambda: page_after(["status", "name", "id"], ["active", "Ana", 1]),
}

# The index, and the query that looks its matches up there, to be sorted after.
LOOKED_UP = {
    # Migration 0011: a name or an email that starts with fewer letters than the keys have,
    # or that holds the words further in.
    "contact_name_start": lambda: looked_up(search.starts_with("name", "Ai")),
    "contact_email_start": lambda: looked_up(search.starts_with("email", "Ai")),
    "contact_name_rest_trgm": lambda: looked_up(search.holds_further_in("name", "sofia")),
    "contact_email_rest_trgm": lambda: looked_up(search.holds_further_in("email", "sofia")),
    # Migration 0016: digits anywhere in a number after its "+".
    "contact_phone_digits_trgm": lambda: looked_up(search.holds_digits("555")),
}


FIRST_NAMES = ["Sofia", "Aisha", "Ana", "Ben", "Emma", "Liam", "Noah", "Zoe"]
LAST_NAMES = ["Ray", "Davis", "Lee", "Sofiane", "Quinn"]


@pytest.fixture
def contacts(db):
    """Forty contacts, the same each time, so the planner weighs the same statistics."""
    for first in FIRST_NAMES:
        for last in LAST_NAMES:
            email = f"{first}.{last}@example.com".lower()
            ContactFactory(name=f"{first} {last}", email=email)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")


def planned_without(*kinds: str) -> None:
    """For this test's transaction, the planner takes no such scan where any other serves."""
    with connection.cursor() as cursor:
        cursor.execute("; ".join(f"SET LOCAL enable_{kind} = off" for kind in kinds))


def uses(plan: str, index: str) -> bool:
    """Whether `plan` reads `index` by a condition on it, not through every entry."""
    return re.search(rf"\b{index}\b.*\n *Index Cond:", plan) is not None


@pytest.mark.parametrize("index", IN_ORDER)
def test_a_query_in_an_index_s_order_reads_that_index(contacts, index):
    # Nor a look-up then a sort: the rows must come in order from an index.
    planned_without("seqscan", "bitmapscan", "sort")
    plan = IN_ORDER[index]().explain()
    assert uses(plan, index), f"{index} is not used:\n{plan}"


@pytest.mark.parametrize("index", LOOKED_UP)
def test_a_look_up_reads_its_own_index(contacts, index):
    # Nor a walk through another index, testing every row: a small table's is cheap.
    planned_without("seqscan", "indexscan", "indexonlyscan")
    plan = LOOKED_UP[index]().explain()
    assert uses(plan, index), f"{index} is not used:\n{plan}"
