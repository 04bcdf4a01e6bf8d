"""An import records consent from its consent columns (to which channels, the method, the
date, the disclosure's version); a row that claims consent without a method or a date, or
names what is not there, is a problem row, and nothing is imported while there is one."""

import io
from datetime import UTC, datetime

import pytest
from django.core.files import File
from django.utils import timezone

from contacts import imports, services
from contacts.models import (
    Channel,
    ConfirmationPrompt,
    ConsentRecord,
    Contact,
    ContactImport,
    Disclosure,
    ImportProblem,
)
from messaging.backends import LocmemBackend
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "Name,Phone,Consent to,Consent method,Consent date,Consent disclosure"


def imported(*lines: str, by_user=None) -> ContactImport:
    data = ("\n".join([HEADER, *lines]) + "\n").encode()
    contact_import = imports.store(File(io.BytesIO(data), name="old-crm.csv"), by_user=by_user)
    imports.check(contact_import)
    if contact_import.status == ContactImport.Status.READY:
        assert imports.start_applying(contact_import)
        imports.apply(contact_import)
    contact_import.refresh_from_db()
    return contact_import


def problems(contact_import: ContactImport) -> list[tuple]:
    found = ImportProblem.objects.filter(contact_import=contact_import).order_by("row", "id")
    return list(found.values_list("row", "column", "reason"))


def test_consent_columns_are_recorded_with_the_disclosure_s_version(settings):
    settings.TIME_ZONE = "America/Chicago"
    form = Disclosure.objects.create(
        title="Sign-up form", text="Old words.", created_at=datetime(2024, 1, 1, tzinfo=UTC)
    )
    newer = Disclosure.objects.create(
        title="Sign-up form", version=2, text="New words.",
        created_at=datetime(2025, 2, 1, tzinfo=UTC),
    )  # fmt: skip
    admin = UserFactory(role="Admin")
    result = imported(
        "Ana,(415) 555-0101,sms,web form,2025-03-01,Sign-up form v1",
        "Ben,(415) 555-0102,both,paper,3/2/2025 14:30,sign-up FORM",
        "Cy,(415) 555-0103,,verbal,2025-03-03T10:00:00Z,",
        "Di,(415) 555-0104,,,,",
        by_user=admin,
    )
    assert result.status == "done" and result.consents == 4
    assert "4 consent records added" in result.summary()
    records = {(r.phone, r.channel): r for r in ConsentRecord.objects.all()}
    ana = records["+14155550101", "sms"]
    assert (ana.method, ana.disclosure, ana.recorded_by, ana.status) == (
        "web_form", form, admin, "confirmed"
    )  # fmt: skip
    assert ana.given_at == datetime(2025, 3, 1, 6, tzinfo=UTC)  # midnight in Chicago
    assert ana.words == "Import of old-crm.csv, row 2"
    assert ana.contact.name == "Ana"
    assert {key for key in records if key[0] == "+14155550102"} == {
        ("+14155550102", "sms"), ("+14155550102", "calls")
    }  # fmt: skip
    assert records["+14155550102", "calls"].disclosure == newer  # a title alone: the newest
    assert records["+14155550103", "sms"].given_at == datetime(2025, 3, 3, 10, tzinfo=UTC)
    assert ("+14155550104", "sms") not in records

    again = imported("Ana,(415) 555-0101,sms,web form,2025-03-01,Sign-up form v1")
    assert again.consents == 0 and ConsentRecord.objects.count() == 4


def test_consent_made_void_is_recorded_again_when_its_row_is_imported_again():
    """The same file imported again after its contact was deleted: the new contact has the
    consent on record again (the old record stays void), and the import says it added it."""
    row = "Ana,(415) 555-0101,sms,web form,2025-03-01,"
    assert imported(row).consents == 1
    ana = ConsentRecord.objects.get().contact
    ana.delete()
    assert ConsentRecord.objects.get().status == ConsentRecord.Status.VOID

    again = imported(row)
    assert again.consents == 1 and "1 consent record added" in again.summary()
    record = ConsentRecord.objects.get(status=ConsentRecord.Status.CONFIRMED)
    assert record.contact.name == "Ana" and record.contact.sms_consent_on_record
    assert ConsentRecord.objects.filter(status=ConsentRecord.Status.VOID).count() == 1
    assert imported(row).consents == 0  # and not a third time


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ("sms,,2025-03-01,", "consent_method", "A consent needs its method"),
        ("sms,paper,,", "consent_date", "A consent needs the date it was given."),
        (",,2025-03-01,", "consent_method", "A consent needs its method"),
        ("sms,carrier pigeon,2025-03-01,", "consent_method", "“carrier pigeon”: use web form"),
        ("sms,keyword,2025-03-01,", "consent_method", "“keyword”: use web form"),
        ("sms,paper,March first,", "consent_date", "“March first” is not a date"),
        ("sms,paper,2999-01-01,", "consent_date", "“2999-01-01” is to come"),
        ("email,paper,2025-03-01,", "consent", "“email”: use sms, calls or both."),
        ("sms,paper,2025-03-01,Poster v9", "consent_disclosure", "No disclosure “Poster v9”"),
    ],
)
def test_a_row_claiming_consent_without_what_proves_it_is_a_problem(row, column, reason):
    ContactFactory(phone="+14155550199")
    result = imported("Ok,(415) 555-0199,sms,paper,2025-03-01,", f"Bad,(415) 555-0101,{row}")
    assert result.status == "problems"
    [(number, found_column, found_reason)] = problems(result)
    assert (number, found_column) == (3, column) and found_reason.startswith(reason)
    assert not ConsentRecord.objects.exists()  # nothing imported, the good row neither


def test_other_systems_consent_headers_are_understood():
    data = b"Name,Mobile,SMS Opt-In Date,Opt-in Method\nAna,4155550101,2025-03-01,website\n"
    contact_import = imports.store(File(io.BytesIO(data), name="x.csv"), by_user=None)
    imports.check(contact_import)
    assert imports.start_applying(contact_import)
    imports.apply(contact_import)
    record = ConsentRecord.objects.get()
    assert (record.channel, record.method) == (Channel.SMS, "web_form")
    assert timezone.localdate(record.given_at).isoformat() == "2025-03-01"


def test_consent_to_confirm_by_text_awaits_the_yes_and_each_number_is_asked_once(settings):
    settings.MESSAGING_BACKEND = "locmem"
    LocmemBackend.outbox.clear()
    data = (
        b"Name,Phone,Consent to,Consent method,Consent date,Confirm by text\n"
        b"Ana,(415) 555-0101,both,paper,2025-03-01,yes\n"
        b"Ben,(415) 555-0102,sms,web form,2025-03-01,y\n"
        b"Cy,(415) 555-0103,sms,web form,2025-03-01,\n"  # confirmed in the other system
    )
    contact_import = imports.store(File(io.BytesIO(data), name="x.csv"), by_user=None)
    imports.check(contact_import)
    assert imports.start_applying(contact_import)
    imports.apply(contact_import)
    assert services.send_held_prompts() == 2  # the worker's
    statuses = dict(ConsentRecord.objects.values_list("phone", "status").distinct())
    assert statuses == {"+14155550101": "awaiting", "+14155550102": "awaiting",
                        "+14155550103": "confirmed"}  # fmt: skip
    asked = sorted((message["to"], "by text and calls" in message["body"])
                   for message in LocmemBackend.outbox)  # fmt: skip
    assert asked == [("+14155550101", True), ("+14155550102", False)]
    LocmemBackend.outbox.clear()


def test_confirm_by_text_is_yes_or_no():
    data = b"Name,Phone,Consent method,Consent date,Double opt-in\n"
    data += b"Ana,4155550101,paper,2025-03-01,maybe\n"
    contact_import = imports.store(File(io.BytesIO(data), name="x.csv"), by_user=None)
    imports.check(contact_import)
    assert problems(contact_import) == [(2, "consent_confirm", "“maybe”: use yes or no.")]


def test_an_import_asks_thousands_of_numbers_to_confirm_in_one_batch(settings):
    """One batch of 20,000 numbers to confirm by text: each gets its one held prompt, and the
    new contacts have the batch's confirmed consent on record. (On PostgreSQL, a lock for each
    number's turn outgrew the table of locks, and the import failed: "out of shared
    memory".)"""
    settings.IMPORT_BATCH_SIZE = 30_000
    header = "Name,Phone,Consent to,Consent method,Consent date,Confirm by text"
    rows = [f"Person {n},+1415{2_000_000 + n},sms,web form,2025-03-01,yes" for n in range(20_000)]
    data = "\n".join([header, *rows, "Ana,(415) 555-0101,calls,paper,2025-03-01,no"]).encode()
    contact_import = imports.store(File(io.BytesIO(data), name="big.csv"), by_user=None)
    imports.check(contact_import)
    assert imports.start_applying(contact_import)
    imports.apply(contact_import)
    contact_import.refresh_from_db()
    assert contact_import.status == "done", contact_import.error
    assert contact_import.consents == 20_001 and contact_import.created == 20_001
    held = ConfirmationPrompt.objects.filter(sent_at=None, not_sent="")
    assert held.count() == 20_000 and set(held.values_list("channels", flat=True)) == {"sms"}
    ana = Contact.objects.get(phone="+14155550101")
    assert ana.calls_consent_on_record and not ana.sms_consent_on_record
    assert not Contact.objects.get(phone="+14152000000").sms_consent_on_record  # awaits a YES


def test_an_imported_contact_never_takes_the_id_of_one_deleted():
    """Its id is taken before it is written (its consent is recorded first): on SQLite from
    the ids the table gave, so a deleted contact's records never name the new one."""
    gone = ContactFactory(phone="+14155550109")
    services.record_consent(
        phone=gone.phone, channel=Channel.SMS, method="paper", given_at=timezone.now()
    )
    gone_id = gone.pk
    gone.delete()
    imported("Ana,(415) 555-0101,sms,web form,2025-03-01,")
    ana = Contact.objects.get(phone="+14155550101")
    assert ana.pk > gone_id and ana.consent_records.get().phone == "+14155550101"
    assert ContactFactory().pk > ana.pk  # and the next contact's id comes after it
