"""Lists written as PostgreSQL's array text (crm.arrays): each reads back as the same values,
whatever characters a string holds, and `any` finds with them what `in` finds."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.models import Contact
from crm.arrays import array_text
from tests.factories import ContactFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
LIKE_A_TEST = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
STRINGS = st.text(CHARACTERS)
NAMES = st.text(CHARACTERS, max_size=40)  # within the column


def read_back(values: list, cast: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{cast}", [array_text(values)])
        return cursor.fetchone()[0]


@LIKE_A_TEST
@given(st.lists(STRINGS))
def test_strings_read_back_as_the_same_strings(db, values):
    assert read_back(values, "text[]") == values


@LIKE_A_TEST
@given(st.lists(st.integers(-(2**63), 2**63 - 1)))
def test_numbers_read_back_as_the_same_numbers(db, values):
    assert read_back(values, "bigint[]") == values


@LIKE_A_TEST
@given(st.lists(st.none() | st.datetimes(timezones=st.just(UTC), min_value=datetime(1, 1, 2))))
def test_moments_and_nothing_read_back_as_the_same(db, values):
    assert read_back(values, "timestamptz[]") == values


def test_nothing_is_null_and_the_word_null_a_word(db):
    assert read_back([None, "NULL", "null"], "text[]") == [None, "NULL", "null"]


@LIKE_A_TEST
@given(st.lists(NAMES, max_size=5), st.lists(NAMES, max_size=5))
def test_any_finds_among_any_strings_what_in_finds(db, names, others):
    contacts = [ContactFactory(name=name, email="") for name in names]
    wanted = [*names[:2], *others]
    found = set(Contact.objects.filter(name__any=wanted).values_list("pk", flat=True))
    assert found == set(Contact.objects.filter(name__in=wanted).values_list("pk", flat=True))
    assert {c.pk for c in contacts[:2]} <= found
    Contact.objects.filter(pk__in=[c.pk for c in contacts]).delete()
