"""The database keeps how many contacts have each phone number (PhoneCount), whatever path
changes the contacts: a broadcast's preview reads its duplicates from these counts."""

import threading

import psycopg
import pytest
from django.db import connection
from django.db.models import Count

from contacts.models import Contact, PhoneCount
from tests.factories import ContactFactory

A, B, C = "+14155550101", "+14155550102", "+14155550103"


def counted() -> dict[str, int]:
    """The kept counts, without the numbers no contact has any more."""
    return dict(PhoneCount.objects.filter(contacts__gt=0).values_list("phone", "contacts"))


def actual() -> dict[str, int]:
    return dict(Contact.objects.order_by().values_list("phone").annotate(n=Count("*")))


def test_the_counts_follow_every_way_contacts_change(db):
    first = ContactFactory(phone=A)
    assert counted() == actual() == {A: 1}

    Contact.objects.bulk_create([Contact(name="Bulk", phone=p) for p in (A, A, B)])
    assert counted() == actual() == {A: 3, B: 1}

    first.phone = C
    first.save()
    assert counted() == actual() == {A: 2, B: 1, C: 1}

    first.name = "Renamed"  # a change that keeps the number
    first.save()
    assert counted() == actual() == {A: 2, B: 1, C: 1}

    Contact.objects.filter(phone=A).update(phone=B)
    assert counted() == actual() == {B: 3, C: 1}

    Contact.objects.filter(phone=B).first().delete()
    assert counted() == actual() == {B: 2, C: 1}

    Contact.objects.all().delete()
    assert counted() == actual() == {}


def test_the_shared_numbers_are_those_of_more_than_one_contact(db):
    ContactFactory(phone=A)
    ContactFactory(phone=B)
    ContactFactory(phone=B)
    shared = PhoneCount.objects.filter(contacts__gt=1).values_list("phone", flat=True)
    assert list(shared) == [B]


@pytest.mark.postgres
def test_the_counts_stay_exact_when_many_connections_add_and_remove_the_same_numbers(db):
    """Eight connections insert and delete contacts with the same ten numbers at once, each
    in its own transaction, in any order of numbers; none deadlocks and no change is lost."""
    phones = [f"+1415555{n:04d}" for n in range(10)]
    params = connection.get_connection_params()
    start = threading.Barrier(8)
    failures = []

    def writer(n: int) -> None:
        mine = phones[n % 10 :] + phones[: n % 10]  # each starts at a different number
        try:
            with psycopg.connect(**params) as conn:
                start.wait()
                for turn in range(5):
                    with conn.transaction():
                        conn.execute(
                            "INSERT INTO contacts_contact (name, phone, email, status, "
                            "created_at, updated_at) "
                            "SELECT 'Writer', unnest(%s::text[]), '', 'active', now(), now()",
                            [mine * 2],
                        )
                        conn.execute(
                            "DELETE FROM contacts_contact WHERE id IN (SELECT id FROM "
                            "contacts_contact WHERE name = 'Writer' AND phone = %s LIMIT 1)",
                            [mine[turn]],
                        )
        except Exception as error:  # a deadlock, say: the main thread reports it
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        assert {p: counted()[p] for p in phones} == {p: actual()[p] for p in phones}
        assert sum(actual()[p] for p in phones) == 8 * 5 * (20 - 1)
    finally:
        # The writers committed outside the test's transaction.
        with psycopg.connect(**params, autocommit=True) as conn:
            conn.execute("DELETE FROM contacts_contact WHERE name = 'Writer'")
