"""A contact's time zone as people write it, on the form and in an import: "Mountain" is
refused, as Denver's clock and Arizona's differ by an hour from March to November and a
wrong guess would send before 08:00 on an Arizona phone (a cold review found it read as
Denver's)."""

import io

import pytest
from django.core.files import File
from django.test import Client
from django.urls import reverse

from contacts import imports
from contacts.models import Contact, ImportProblem

pytestmark = pytest.mark.django_db
ASKED = "write America/Denver for Mountain time, or America/Phoenix for Arizona"


@pytest.mark.parametrize("written", ["Mountain", "Mountain time", "MT"])
def test_the_form_asks_which_mountain_time(admin_role_user, written):
    client = Client()
    client.force_login(admin_role_user)
    response = client.post(
        reverse("contacts:new"),
        {"name": "Pat Phoenix", "phone": "(602) 555-0123", "status": "active",
         "time_zone": written, "state": "AZ"},
    )  # fmt: skip
    assert response.status_code == 200 and ASKED in response.content.decode()
    assert not Contact.objects.exists()
    client.post(
        reverse("contacts:new"),
        {"name": "Pat Phoenix", "phone": "(602) 555-0123", "status": "active",
         "time_zone": "America/Phoenix", "state": "AZ"},
    )  # fmt: skip
    assert Contact.objects.get().time_zone == "America/Phoenix"


def test_the_import_asks_which_mountain_time():
    data = b"Name,Phone,Time zone,State\nPat Phoenix,(602) 555-0123,Mountain,AZ\n"
    contact_import = imports.store(File(io.BytesIO(data), name="x.csv"), by_user=None)
    imports.check(contact_import)
    [(row, column, reason)] = ImportProblem.objects.values_list("row", "column", "reason")
    assert (row, column) == (2, "time_zone") and ASKED in reason
