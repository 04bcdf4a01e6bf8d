"""A consent record keeps the very words its contact agreed to: never words written after the
consent was given. An import naming a disclosure by its title alone takes the version of the
consent's day; one naming a later version is a problem row; the Record consent form offers
every version and refuses a later one. (A review found a consent of March 2025 kept, and
shown in its evidence file, as given to words written in December 2026.)"""

import io
from datetime import UTC, datetime

import pytest
from django.core.files import File
from django.urls import reverse
from django.utils import timezone

from contacts import evidence, imports
from contacts.models import ConsentRecord, ContactImport, Disclosure, ImportProblem
from tests.contacts.test_import_consent import imported
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions():
    """Version 1 written in 2024; version 2, with other words, written now (Dec 2026)."""
    v1 = Disclosure.objects.create(
        title="Sign-up form", text="Old words: reminders only.",
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    v2 = v1.revise("New words: reminders and marketing offers.", by_user=None)
    return v1, v2


def test_a_title_alone_is_the_version_of_the_consent_s_day(versions):
    v1, v2 = versions
    imported("Ana,(415) 555-0101,sms,paper,2025-03-01,Sign-up form")
    imported(
        "Bea,(415) 555-0102,sms,paper,today,Sign-up form".replace(
            "today", f"{v2.created_at:%Y-%m-%d}"
        )
    )
    given = dict(ConsentRecord.objects.values_list("phone", "disclosure"))
    assert given == {"+14155550101": v1.pk, "+14155550102": v2.pk}


def test_a_version_written_after_the_consent_is_a_problem_row(versions):
    result = imported("Ana,(415) 555-0101,sms,paper,2025-03-01,Sign-up form v2")
    problem = ImportProblem.objects.get(contact_import=result)
    assert (problem.column, problem.reason) == (
        "consent_disclosure",
        f"“Sign-up form v2”: Sign-up form (version 2) was written on "
        f"{versions[1].created_at.day} Dec 2026, after the consent was given (1 Mar 2025): name "
        "the version the contact saw then.",
    )
    assert not ConsentRecord.objects.exists()


def test_words_written_after_every_version_s_day_are_refused(versions):
    result = imported("Ana,(415) 555-0101,sms,paper,2023-06-01,Sign-up form")
    assert ImportProblem.objects.get(contact_import=result).reason.startswith(
        "“Sign-up form”: Sign-up form (version 1) was written on 1 Jan 2024, after the consent "
        "was given (1 Jun 2023)"
    )


def test_the_form_offers_each_version_and_refuses_a_later_one(admin_client, versions):
    v1, v2 = versions
    contact = ContactFactory(name="Ada")
    url = reverse("contacts:consent", args=[contact.pk])
    page = admin_client.get(url).content.decode()
    assert "Sign-up form (version 1), from 1 Jan 2024" in page
    assert "Sign-up form (version 2), from" in page
    data = {"channels": ["sms"], "method": "paper", "given_on": "2025-03-01",
            "disclosure": v2.pk, "note": "paper form from 2025, found in a drawer"}  # fmt: skip
    page = admin_client.post(url, data).content.decode()
    assert "Sign-up form (version 2) was written on" in page
    assert "after the consent was given (1 Mar 2025)" in page
    assert not ConsentRecord.objects.exists()
    admin_client.post(url, data | {"disclosure": v1.pk, "confirm_by_text": ""})
    record = ConsentRecord.objects.get()
    assert record.disclosure == v1
    shown = str(evidence.for_number(contact.phone)["consent_records"])
    assert "reminders only" in shown and "marketing offers" not in shown


def test_a_title_alone_is_not_a_version_written_later_than_the_consent_s_time():
    """A consent given at 09:00 (an ISO time, as the README allows), version 2 written at
    15:00 that day: a title alone is version 1 (the day alone was compared at first)."""
    tz = timezone.get_current_timezone()
    v1 = Disclosure.objects.create(
        title="Sign-up form", text="Old words", created_at=datetime(2024, 1, 1, tzinfo=tz)
    )
    Disclosure.objects.create(
        title="Sign-up form", version=2, text="New words: marketing offers too.",
        created_at=datetime(2025, 3, 1, 15, tzinfo=tz),
    )  # fmt: skip
    header = "Name,Phone,Consent to,Consent method,Consent date,Consent disclosure"
    given = datetime(2025, 3, 1, 9, tzinfo=tz).isoformat()
    data = f"{header}\nAna,(415) 555-0101,sms,paper,{given},Sign-up form\n".encode()
    contact_import = imports.store(File(io.BytesIO(data), name="old.csv"), by_user=None)
    imports.check(contact_import)
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.READY
    assert imports.start_applying(contact_import)
    imports.apply(contact_import)
    record = ConsentRecord.objects.get()
    assert record.given_at.astimezone(tz).hour == 9
    assert record.disclosure_id == v1.pk, "consent at 09:00 kept as given to words of 15:00"
