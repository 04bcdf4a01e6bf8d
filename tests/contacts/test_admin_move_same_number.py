"""The admin refuses a move only when the number changes: "(415) 555-0123" for a contact
stored as +14155550123 is no move (a cold review found it refused while a reply waited)."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from contacts.models import Contact
from messaging.models import PossibleOptOut
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_admin_refuses_no_move_when_the_number_is_only_written_another_way():
    """The admin form compares the typed text with the stored E.164: "(415) 555-0123" for
    +14155550123 is in changed_data, so the refusal fires though the number does not change
    (the contact page compares normalised numbers and saves)."""
    ana = ContactFactory(phone="+14155550123")
    PossibleOptOut.objects.create(phone=ana.phone, words="stop texting me lol", channels="sms")
    request = RequestFactory().post("/admin/")
    request.user = UserFactory(is_superuser=True, is_staff=True)
    form_class = admin.site._registry[Contact].get_form(request, ana)
    data = {"name": "Ana Alvarez-Diaz", "phone": "(415) 555-0123", "email": "",
            "status": ana.status, "time_zone": "", "state": ""}  # fmt: skip
    form = form_class(data, instance=ana)
    assert form.is_valid(), form.errors
