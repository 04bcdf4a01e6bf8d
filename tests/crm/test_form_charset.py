"""A form in a charset other than UTF-8 is refused before any page reads it (the webhooks'
own case is in tests/messaging/test_webhook_limits.py)."""

from urllib.parse import urlencode

import pytest
from django.urls import reverse

from contacts.models import ContactTablePreference

FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("debug", [True, False])
def test_a_page_posted_in_latin_1_is_a_415_and_changes_nothing(client, staff_user, settings, debug):
    # With DEBUG on, Django's error page read the form again and failed: a 500.
    settings.DEBUG = debug
    client.force_login(staff_user)
    body = urlencode({"show": ["name", "phone"], "next": "/contacts/?q=é"}, doseq=True,
                     encoding="latin-1")  # fmt: skip
    response = client.post(
        reverse("contacts:columns"), body, content_type=f"{FORM}; charset=latin-1"
    )
    assert response.status_code == 415
    assert not ContactTablePreference.objects.exists()


def test_a_page_posted_in_utf_8_by_another_name_is_read(client, staff_user):
    client.force_login(staff_user)
    body = urlencode({"show": ["name", "phone"]}, doseq=True)
    response = client.post(reverse("contacts:columns"), body, content_type=f"{FORM}; charset=utf8")
    assert response.status_code == 302
    assert "phone" not in ContactTablePreference.objects.get().hidden_columns
    assert "email" in ContactTablePreference.objects.get().hidden_columns
