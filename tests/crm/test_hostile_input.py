"""Input that passed the forms' checks and then failed in the database, in a call's
instructions or on a page, each found by a cold attack on bad input: a clear error or the
input taken as meant, never a 500."""

import re
from xml.dom import minidom

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from broadcasts.models import Broadcast
from contacts import imports, subscriptions
from contacts.models import Contact, ContactImport, PhoneOptOut
from messaging.twiml import voice_message
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

# Python reads offsets up to ±23:59; PostgreSQL refuses those past ±15:59.
FAR_OFFSET = "+20:00"


def signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def upload(client: Client, content: str):
    file = SimpleUploadedFile("people.csv", content.encode(), "text/csv")
    return client.post(reverse("contacts:import"), {"file": file})


def test_a_send_time_with_any_offset_is_kept_in_utc(manager_user):
    client = signed_in(manager_user)
    form = {"name": "Reminder", "channel": "sms", "body": "See you soon",
            "send_at": f"2030-01-01T10:00:00{FAR_OFFSET}"}  # fmt: skip
    assert client.post(reverse("broadcasts:new"), form).status_code == 302
    assert Broadcast.objects.get().send_at.isoformat() == "2029-12-31T14:00:00+00:00"


@pytest.mark.parametrize("big", [False, True])
def test_an_import_s_consent_date_with_any_offset_is_read(admin_role_user, big):
    """Up to 1 MB checked at once, bigger files by the worker: either failed, and the import
    stayed "being checked" for ever, checked again at each worker start."""
    row = f"Ana,(415) 555-0101,sms,paper,2020-01-01T00:00:00{FAR_OFFSET}\n"
    filler = "".join(f"Filler {n},(415) 2{n:06d},,,\n" for n in range(60_000)) if big else ""
    content = "name,phone,consent to,consent method,consent date\n" + row + filler
    assert (len(content) > imports.INLINE_BYTES) == big
    assert upload(signed_in(admin_role_user), content).status_code == 302
    contact_import = ContactImport.objects.get()
    if big:
        imports.check(contact_import)  # what the worker's task runs
        contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.READY


@pytest.mark.parametrize(
    "query",
    ["created_at__gte=2020-01-01T00:00:00%2B20:00", "created_at__exact=2020-01-01T00:00:00-16:30"],
)
def test_the_admin_s_list_filtered_by_a_time_with_any_offset(superuser, query):
    response = signed_in(superuser).get(f"{reverse('admin:contacts_contact_changelist')}?{query}")
    assert response.status_code == 200


def test_a_name_whose_lower_case_is_longer_is_imported(admin_role_user):
    """The check holds a name to 200 characters, and kept its lower case, longer ("İ" is two
    characters), in a column of 200."""
    name = "İ" * 200
    upload(signed_in(admin_role_user), f"name,phone\n{name},(415) 555-0101\n")
    assert ContactImport.objects.get().status == ContactImport.Status.READY


def test_a_password_reset_for_an_address_whose_lower_case_is_longer(client, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    address = "a@" + ".".join(["İ" * 60] * 3) + ".com"
    assert len(address) <= 254 < len(address.lower())
    response = client.post(reverse("password_reset"), {"email": address})
    assert response.status_code == 302


def test_a_send_time_at_the_end_of_time_is_refused(manager_user, quiet_hours):
    """Accepted, as still to come; its page then reckoned quiet hours in zones ahead of UTC,
    past the year 9999: a 500."""
    client = signed_in(manager_user)
    form = {"name": "Far", "channel": "sms", "body": "See you soon", "send_at": "9999-12-31T23:59"}
    page = client.post(reverse("broadcasts:new"), form).content.decode()
    assert "Choose a time within the next five years." in page
    assert not Broadcast.objects.exists()


def test_a_script_pasted_with_control_characters(manager_user):
    """Word's line break (\\x0b) and a page break (\\x0c) are line breaks; another control
    character is refused by name. Saved as they were, the call's instructions were no XML,
    and every call would have failed."""
    client = signed_in(manager_user)
    form = {"name": "Call", "channel": "calls", "script": "Your visit\x0bis tomorrow.\x0cBye.",
            "unsubscribe_digit": "9", "purpose": "informational"}  # fmt: skip
    assert client.post(reverse("broadcasts:new"), form).status_code == 302
    saved = Broadcast.objects.get()
    assert saved.script == "Your visit\nis tomorrow.\nBye."
    minidom.parseString(voice_message(script=saved.script, digit="9"))
    page = client.post(reverse("broadcasts:new"), form | {"script": "Hi\x1bthere"})
    assert "a control character (U+001B, after “Hi”)" in page.content.decode()
    assert Broadcast.objects.count() == 1


def test_a_script_saved_with_control_characters_is_said_without_them():
    minidom.parseString(voice_message(script="Hi\x07 there\x0b.", digit="9"))


def test_the_stop_only_form_sent_to_a_link_that_shows_the_full_page_again():
    """Sam's link showed the stop-only form (staff had changed Sam's number); staff changed it
    back while it was open; Sam ticked "Stop texts": the full page read the form as its own,
    whose boxes not ticked mean stop, and stopped calls too, for good."""
    sam = ContactFactory(name="Sam", phone="+14155550123")
    link = subscriptions.link(sam.phone, sam.pk)
    sam.phone = "+14155550177"
    sam.save()
    assert 'name="form" value="stop"' in Client().get(link).content.decode()
    sam.phone = "+14155550123"
    sam.save()
    Client().post(link, {"form": "stop", "stop": ["sms"]})
    assert set(PhoneOptOut.objects.values_list("channel", flat=True)) == {"sms"}


def test_the_subscriptions_page_from_a_browser_that_keeps_no_cookies():
    """The signed link is the key; the page asked for a cookie too, and a request to stop from
    an app's own browser, or one that blocks cookies, got Django's 403 and stopped nothing."""
    ana = ContactFactory(phone="+14155550123")
    link = subscriptions.link(ana.phone, ana.pk)
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(link).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    browser.cookies.clear()
    response = browser.post(link, {"csrfmiddlewaretoken": token, "keep": ["calls"]})
    assert response.status_code == 200
    assert list(PhoneOptOut.objects.values_list("channel", flat=True)) == ["sms"]
    assert not Contact.objects.get().opt_outs.filter(channel="calls").exists()
