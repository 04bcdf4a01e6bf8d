"""A contact's consent on record (`Contact.sms_consent_on_record`, `calls_consent_on_record`)
is the database's word: it follows its number's consent records however they and the contact
are written, and no writer can set it otherwise. A send still checks the records themselves."""

import pytest
from django.db import connection
from django.utils import timezone

from contacts import services
from contacts.models import (
    Channel,
    ConsentMethod,
    ConsentRecord,
    Contact,
    ReassignedNumber,
    consent_in_records,
    consent_on_record,
    correct_consent_on_record,
)
from tests.contacts.test_guard_concurrency import database_url, migrated, run  # noqa: F401
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def on_record(contact: Contact) -> tuple[bool, bool]:
    contact.refresh_from_db()
    return contact.sms_consent_on_record, contact.calls_consent_on_record


def give(phone: str, channel=Channel.SMS, **fields) -> ConsentRecord:
    return services.record_consent(
        phone=phone, channel=channel, method=ConsentMethod.PAPER, given_at=timezone.now(),
        **fields,
    )  # fmt: skip


def agree(contacts) -> None:
    """The columns say what the records say, for every contact and channel."""
    for channel in Channel:
        by_column = set(contacts.filter(consent_on_record(channel)).values_list("pk", flat=True))
        by_records = set(contacts.filter(consent_in_records(channel)).values_list("pk", flat=True))
        assert by_column == by_records, channel


def test_a_number_s_records_set_it_for_each_of_its_contacts_and_channels():
    ann, also_ann = ContactFactory(phone="+14155550100"), ContactFactory(phone="+14155550100")
    other = ContactFactory(phone="+14155550101")
    assert on_record(ann) == (False, False)
    give("+14155550100")
    assert on_record(ann) == on_record(also_ann) == (True, False)
    give("+14155550100", Channel.CALLS)
    assert on_record(ann) == (True, True)
    assert on_record(other) == (False, False)
    # A contact added later to the number has it from the start.
    assert on_record(ContactFactory(phone="+14155550100")) == (True, True)
    agree(Contact.objects.all())


def test_awaited_consent_counts_once_confirmed_and_void_consent_does_not():
    ann = ContactFactory(phone="+14155550100")
    awaited = give(ann.phone, awaiting=True)
    assert on_record(ann) == (False, False)
    ConsentRecord.objects.filter(pk=awaited.pk).update(
        status=ConsentRecord.Status.CONFIRMED, confirmed_at=timezone.now(), confirmation="SM1"
    )
    assert on_record(ann) == (True, False)
    second = give(ann.phone)
    ConsentRecord.objects.filter(pk=awaited.pk).update(
        status=ConsentRecord.Status.VOID, voided_at=timezone.now(), void_reason="test"
    )
    assert on_record(ann) == (True, False), "the second record still holds"
    ConsentRecord.objects.filter(pk=second.pk).update(
        status=ConsentRecord.Status.VOID, voided_at=timezone.now(), void_reason="test"
    )
    assert on_record(ann) == (False, False)


def test_a_number_reported_reassigned_has_none_on_record():
    ann = ContactFactory(phone="+14155550100")
    give(ann.phone), give(ann.phone, Channel.CALLS)
    services.record_reassigned(
        phone=ann.phone, how=ReassignedNumber.How.REPLY, words="Wrong number"
    )
    assert on_record(ann) == (False, False)


def test_a_contact_takes_the_consent_of_the_number_it_moves_to_and_leaves_its_own():
    consented = ContactFactory(phone="+14155550100")
    give(consented.phone, contact=consented)
    bare = ContactFactory(phone="+14155550101")
    moving = ContactFactory(phone="+14155550102")
    moving.phone = "+14155550100"
    moving.save()
    assert on_record(moving) == (True, False)
    # The contact who gave it moves away: its record of the old number is made void (the
    # guard), and whoever has that number now has no consent on record.
    consented.phone = bare.phone
    consented.save()
    assert on_record(consented) == (False, False)
    assert on_record(moving) == (False, False)
    agree(Contact.objects.all())


def test_no_writer_can_say_otherwise():
    ann = ContactFactory(phone="+14155550100")
    bob = ContactFactory(phone="+14155550101")
    give(bob.phone)
    stale = Contact.objects.get(pk=bob.pk)  # read before the calls consent below
    give(bob.phone, Channel.CALLS)
    # The ORM, in bulk and row by row.
    Contact.objects.filter(pk=ann.pk).update(sms_consent_on_record=True)
    Contact.objects.filter(pk=bob.pk).update(sms_consent_on_record=False)
    assert on_record(ann) == (False, False) and on_record(bob) == (True, True)
    # A copy read before the calls consent, saved: what it says of consent does not count.
    stale.name = "Bob B."
    stale.save()
    assert on_record(bob) == (True, True)
    # Raw SQL, an insert and an update.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contacts_contact (name, phone, email, status, created_at, updated_at,"
            " sms_consent_on_record, calls_consent_on_record)"
            " VALUES ('Cy', '+14155550102', '', 'active', %s, %s, %s, %s)",
            [timezone.now(), timezone.now(), True, True],
        )
        cursor.execute(
            "UPDATE contacts_contact SET calls_consent_on_record = %s WHERE id = %s", [True, ann.pk]
        )
    assert on_record(Contact.objects.get(name="Cy")) == (False, False)
    assert on_record(ann) == (False, False)
    agree(Contact.objects.all())


def test_many_contacts_and_records_at_once():
    """In bulk, as an import or the seed writes them: more numbers than the guard locks one
    by one (PostgreSQL's statement triggers see the whole statement)."""
    phones = [f"+1415555{n:04d}" for n in range(200)]
    Contact.objects.bulk_create(
        Contact(name=f"C{n}", phone=phone, sms_consent_on_record=n % 2 == 0)
        for n, phone in enumerate(phones)
    )
    agree(Contact.objects.all())
    assert not Contact.objects.filter(consent_on_record(Channel.SMS)).exists()
    ConsentRecord.objects.bulk_create(
        ConsentRecord(
            phone=phone,
            channel=Channel.SMS,
            method=ConsentMethod.IMPORT,
            given_at=timezone.now(),
        )  # fmt: skip
        for phone in phones[:150]
    )
    assert Contact.objects.filter(consent_on_record(Channel.SMS)).count() == 150
    agree(Contact.objects.all())


@pytest.mark.postgres
def test_a_column_left_wrong_is_corrected():
    """What two writes of one number at once may leave (below), made here by switching a
    trigger off as the tables' owner could: the worker's correction finds it."""
    bare, consented = ContactFactory(phone="+14155550100"), ContactFactory(phone="+14155550101")
    give(consented.phone, Channel.CALLS)
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE contacts_contact DISABLE TRIGGER contacts_contact_consent_changed"
        )
        cursor.execute(
            "UPDATE contacts_contact SET sms_consent_on_record = TRUE WHERE id = %s", [bare.pk]
        )
        cursor.execute(
            "UPDATE contacts_contact SET calls_consent_on_record = FALSE WHERE id = %s",
            [consented.pk],
        )
        cursor.execute(
            "ALTER TABLE contacts_contact ENABLE TRIGGER contacts_contact_consent_changed"
        )
    assert on_record(bare) == (True, False) and on_record(consented) == (False, False)
    assert correct_consent_on_record() == 2
    assert on_record(bare) == (False, False) and on_record(consented) == (False, True)
    assert correct_consent_on_record() == 0


@pytest.mark.postgres
def test_the_correction_leaves_right_columns_alone():
    give(ContactFactory(phone="+14155550100").phone)
    ContactFactory(phone="+14155550101")
    assert correct_consent_on_record() == 0
    agree(Contact.objects.all())


# A contact's only record made void (the contact deleted) in a transaction held open, while
# another contact is added to the number on a connection of its own: the second reads the
# record as given, then waits for the number's count, which the first holds. Its column says
# "on record" until the worker's correction.
HELD_OPEN = """
import threading
import django

django.setup()
from django.db import connection, transaction
from django.utils import timezone
from contacts import services
from contacts.models import Channel, ConsentMethod, Contact, correct_consent_on_record
from tests.locks import wait_for_lock_waiters

N = "+14155550100"
first = services.create_contact(name="First", phone=N)
services.record_consent(phone=N, channel=Channel.SMS, method=ConsentMethod.PAPER,
                        given_at=timezone.now(), contact=first)
other = threading.Thread(target=lambda: (services.create_contact(name="Second", phone=N),
                                         connection.close()))
with transaction.atomic():
    services.delete_contact(contact=first)
    other.start()
    wait_for_lock_waiters(1)
other.join(60)
second = Contact.objects.get(name="Second")
print(second.sms_consent_on_record, correct_consent_on_record())
second.refresh_from_db()
print(second.sms_consent_on_record)
"""


@pytest.mark.postgres
def test_a_contact_added_while_its_number_s_consent_is_made_void_is_corrected(request):
    assert run(HELD_OPEN, request.getfixturevalue("migrated")).split() == ["True", "1", "False"]
