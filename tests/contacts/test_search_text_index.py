"""The search's text index on SQLite (contacts migration 0025): it follows every way a contact
is written, it serves the search, and it never changes what a search finds."""

import pytest
from django.db import connection
from django.db.models import Q
from django.db.models.functions import Substr
from django.db.models.lookups import Contains, IContains
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from contacts import search
from contacts.models import Contact
from crm import planner
from tests.factories import ContactFactory

URL = reverse("contacts:list")


def found(client, words: str) -> list[str]:
    return [contact.name for contact in client.get(URL, {"q": words}).context["page"].rows]


@pytest.mark.sqlite
def test_a_search_finds_contacts_however_they_were_written(client, staff_user):
    client.force_login(staff_user)
    ann = ContactFactory(name="Annika Quist", email="annika@example.com", phone="+14155550181")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contacts_contact (name, phone, email, status, time_zone, state,"
            " created_at, updated_at) VALUES ('Bertil Raske', '+14155550182', '', 'active',"
            " '', '', '2026-01-01', '2026-01-01')"
        )
    assert found(client, "Quist") == ["Annika Quist"]
    assert found(client, "Raske") == ["Bertil Raske"]

    Contact.objects.filter(pk=ann.pk).update(name="Annika Lindqvist")
    assert found(client, "Quist") == []
    assert found(client, "Lindqvist") == ["Annika Lindqvist"]

    ann.refresh_from_db()
    ann.email, ann.phone = "lindqvist@example.org", "+14155550999"
    ann.save()
    assert found(client, "annika@exa") == []
    assert found(client, "example.org") == ["Annika Lindqvist"]
    assert found(client, "0181") == []
    assert found(client, "50999") == ["Annika Lindqvist"]

    with connection.cursor() as cursor:
        cursor.execute("UPDATE contacts_contact SET name = 'Bertil Sand' WHERE name LIKE 'Bert%'")
    assert found(client, "Raske") == []
    assert found(client, "Sand") == ["Bertil Sand"]

    Contact.objects.filter(name="Bertil Sand").delete()
    assert found(client, "Sand") == []
    assert found(client, "Lindqvist") == ["Annika Lindqvist"]


@pytest.mark.sqlite
@pytest.mark.django_db
@pytest.mark.parametrize(
    "condition",
    [
        search.starts_with("name", "Sofia"),
        search.starts_with("email", "sofia"),
        search.holds_further_in("name", "ofia"),
        search.holds_further_in("email", "ofia"),
        search.holds_digits("5550"),
    ],
    ids=["name starts", "email starts", "name further in", "email further in", "digits"],
)
def test_each_way_of_matching_is_looked_up_in_the_text_index(condition):
    sql, params = Contact.objects.filter(condition).order_by("name").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = [row[-1] for row in cursor.fetchall()]
    assert any("search_text VIRTUAL TABLE" in step for step in plan), plan
    assert not any(step.startswith("SCAN contacts_contact") for step in plan), plan


# Letters SQLite's LIKE matches in either case and letters it does not, LIKE's wildcards, the
# text index's quote, and digits.
LETTERS = st.text(alphabet='aAbBéÉßẞ%_"\\ 05.@', max_size=8)


@pytest.mark.django_db
@hypothesis_settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(LETTERS, LETTERS), min_size=1, max_size=5), LETTERS)
def test_the_index_changes_nothing_that_a_search_finds(names_and_emails, value):
    Contact.objects.all().delete()
    for n, (name, email) in enumerate(names_and_emails):
        ContactFactory(name=name or "N", email=email, phone=f"+1415555{n:04d}")
    digits = "".join(filter(str.isdigit, value))
    pairs = [
        (search.starts_with("name", value), Q(name__istartswith=value)),
        (search.starts_with("email", value), Q(email__istartswith=value)),
        (search.holds_further_in("name", value), Q(IContains(Substr("name", 2), value))),
        (search.holds_further_in("email", value), Q(IContains(Substr("email", 2), value))),
        (search.holds_digits(digits), Q(Contains(Substr("phone", 2), digits))),
    ]
    for condition, plain in pairs:
        with_index = set(Contact.objects.filter(condition).values_list("pk", flat=True))
        assert with_index == set(Contact.objects.filter(plain).values_list("pk", flat=True))


@pytest.mark.sqlite
@pytest.mark.parametrize("words", ["example.com", "555-01"], ids=["words", "digits anywhere"])
def test_a_walk_tests_each_row_by_its_text_and_the_look_up_reads_the_index(
    client, staff_user, words
):
    """For text most contacts hold ("example.com", the digits of an area code), SQLite would
    read every match from the index for each walk along the order; a walk stops at a full
    page instead."""
    for n in range(3):
        ContactFactory(name=f"Person {n}", email=f"p{n}@example.com", phone=f"+1415555010{n}")
    client.force_login(staff_user)
    with CaptureQueriesContext(connection) as captured:
        assert len(found(client, words)) == 3
    statements = [q["sql"] for q in captured if 'FROM "contacts_contact"' in q["sql"]]
    walks = [sql for sql in statements if 'FROM (SELECT "contacts_contact"."id"' in sql]
    look_ups = [sql for sql in statements if sql not in walks and "LIMIT" in sql]
    assert walks and not any("search_text" in sql for sql in walks)
    assert look_ups and all("search_text" in sql for sql in look_ups)


@pytest.mark.sqlite
@pytest.mark.django_db
def test_renewing_the_statistics_tells_the_planner_how_many_contacts_there_are():
    def counted() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE idx = 'contact_name'")
            return [stat.split()[0] for (stat,) in cursor.fetchall()]  # rows, then per key

    ContactFactory.create_batch(30)
    planner.renew_statistics()
    assert counted() == ["30"]
    ContactFactory.create_batch(12)
    planner.renew_statistics()
    assert counted() == ["42"]
