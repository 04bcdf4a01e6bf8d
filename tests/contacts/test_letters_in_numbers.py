"""A number typed with letters where digits belong (O for 0, I or l for 1: a common typo, and
what OCR makes of a paper form) is refused with a clear error. phonenumbers reads three
letters or more as a keypad's ("1-800-FLOWERS"): a cold review found the app kept a different,
real number, which then got the contact's texts and calls and, through an import's consent
columns, the contact's consent."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files import File
from django.urls import reverse

from contacts import imports
from contacts.models import ConsentRecord, Contact
from contacts.phones import normalize_phone

pytestmark = pytest.mark.django_db

TYPOS = ["(415) 555-0IOI", "415-555-OOO1", "415 555 Ol0l"]


@pytest.mark.parametrize("typed", TYPOS)
def test_a_number_with_letters_for_digits_is_refused(typed):
    with pytest.raises(ValidationError) as refused:
        normalize_phone(typed)  # was +14155550464, +14155556661, +14155556505
    assert "has letters where digits go" in str(refused.value)


def test_an_import_row_with_letters_for_digits_is_a_problem_row_not_a_consent_of_a_stranger():
    data = (b"Name,Phone,Consent method,Consent date\n"
            b"Ana Alvarez,(415) 555-0IOI,web form,2026-03-01\n")  # fmt: skip
    contact_import = imports.store(File(io.BytesIO(data), name="signups.csv"), by_user=None)
    imports.check(contact_import)
    contact_import.refresh_from_db()
    if contact_import.status == contact_import.Status.READY:
        assert imports.start_applying(contact_import)
        imports.apply(contact_import)
    # Ana's consent, given for 555-0101, must not be recorded for 555-0464.
    assert not ConsentRecord.objects.filter(phone="+14155550464").exists()
    assert not Contact.objects.filter(phone="+14155550464").exists()
    assert contact_import.status == contact_import.Status.PROBLEMS


def test_the_contact_form_refuses_letters_for_digits(admin_client):
    response = admin_client.post(
        reverse("contacts:new"),
        {"name": "Ana Alvarez", "phone": "(415) 555-0IOI", "email": "", "status": "active",
         "time_zone": "", "state": ""},
    )  # fmt: skip
    assert not Contact.objects.filter(phone="+14155550464").exists()
    assert response.status_code == 200
    assert "has letters where digits go (an O for 0, an I or l for 1?)" in response.content.decode()
