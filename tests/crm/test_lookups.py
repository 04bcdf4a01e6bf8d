"""`any`: `in` for long lists, sent as one array on PostgreSQL. It must find exactly what
`in` finds, on both engines, for every kind of value a send's batch gives it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts():
    return ContactFactory.create_batch(5)


def test_any_finds_what_in_finds(contacts):
    ids = [c.pk for c in contacts[:3]] + [10**12]  # one id no contact has
    phones = [c.phone for c in contacts[1:4]] + ["+14155550000"]
    for lookup, values in (("pk", ids), ("phone", phones)):
        found = set(Contact.objects.filter(**{f"{lookup}__any": values}).values_list("pk"))
        expected = set(Contact.objects.filter(**{f"{lookup}__in": values}).values_list("pk"))
        assert found == expected
        assert len(found) == 3


def test_any_of_nothing_matches_nothing(contacts):
    assert not Contact.objects.filter(pk__any=[]).exists()
    assert not Contact.objects.filter(phone__any=[None]).exists()


def test_a_number_no_id_can_be_matches_nothing_rather_than_failing(contacts):
    assert list(Contact.objects.filter(pk__any=[2**70, contacts[0].pk])) == [contacts[0]]
    assert not Contact.objects.filter(pk__any=[-(2**70)]).exists()


def test_a_value_that_looks_like_sql_is_a_value(contacts):
    tricky = ["') OR 1=1 --", '{"+1415"}', "a,b", 'x"y', "\\"]
    assert not Contact.objects.filter(phone__any=tricky).exists()
    assert Contact.objects.count() == 5


def test_a_long_value_is_not_cut_to_the_column_s_length(contacts):
    # A cast to varchar(16) would cut it, and find the contact whose number is its start.
    assert not Contact.objects.filter(phone__any=[contacts[0].phone + "99999"]).exists()


@pytest.mark.postgres
def test_on_postgresql_the_values_go_as_one_array(contacts):
    phones = [c.phone for c in contacts]
    with CaptureQueriesContext(connection) as queries:
        assert Contact.objects.filter(phone__any=phones).count() == 5
    assert "= ANY(" in queries[0]["sql"]
    assert queries[0]["sql"].count(contacts[0].phone) == 1


def test_any_of_a_query_is_in_of_it(contacts):
    first = Contact.objects.filter(pk=contacts[0].pk)
    assert list(Contact.objects.filter(pk__any=first)) == [contacts[0]]
    assert list(Contact.objects.filter(phone__any=first.values("phone"))) == [contacts[0]]


def test_values_written_as_another_type_than_the_column_s_still_match(contacts):
    assert list(Contact.objects.filter(pk__any=[str(contacts[0].pk)])) == [contacts[0]]


@pytest.mark.sqlite
def test_on_sqlite_the_values_go_as_one_parameter(contacts):
    """SQLite allows 32,766 parameters a statement (Debian's build more); a preview may list
    100,000 numbers (broadcasts.policy.LISTED)."""
    import sqlite3

    phones = [f"+1900{5550000 + n}" for n in range(40_000)] + [contacts[0].phone]
    connection.ensure_connection()
    limit = connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32_766)
    try:
        with CaptureQueriesContext(connection) as queries:
            assert list(Contact.objects.filter(phone__any=phones)) == [contacts[0]]
    finally:
        connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    assert "json_each" in queries[0]["sql"]


def test_any_of_dates_decimals_and_odd_strings_finds_what_in_finds(contacts):
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from broadcasts.models import Broadcast, Recipient

    sent_at = timezone.now() - timedelta(hours=1)
    b = Broadcast.objects.create(name="x", channel="sms", body="hi")
    Recipient.objects.create(broadcast=b, phone=contacts[0].phone, sent_at=sent_at)
    assert Recipient.objects.filter(sent_at__any=[sent_at]).count() == 1
    assert list(Contact.objects.filter(pk__any=[Decimal(contacts[0].pk)])) == [contacts[0]]
    odd = ["é", "😀", "\u2028", contacts[1].phone]
    if connection.vendor == "sqlite":
        odd.append("a\x00b")  # PostgreSQL's text holds no NUL
    assert list(Contact.objects.filter(phone__any=odd)) == [contacts[1]]
