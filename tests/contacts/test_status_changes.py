"""A contact not active gets no broadcast: each change of its status is kept with who made
it and how, and the contact's History shows it, whether made on its page, by an import or in
the Django admin."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts.models import Contact, ContactImport, StatusChange
from tests.contacts.test_admin import change_form
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def history(client, contact: Contact) -> str:
    page = client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    return page.split("<h2>History")[1].split("</section>")[0]


def test_a_contact_made_active_again_on_its_page_is_kept_with_who_did_it(client, admin_role_user):
    lucas = ContactFactory(name="Lucas Garcia", status=Contact.Status.DO_NOT_CONTACT)
    client.force_login(admin_role_user)
    data = {"name": lucas.name, "phone": lucas.phone, "status": "active"}
    page = client.post(reverse("contacts:detail", args=[lucas.pk]), data, follow=True)
    assert "Lucas Garcia is active again: broadcasts may reach them." in page.content.decode()
    change = StatusChange.objects.get()
    assert (change.contact, change.before, change.after, change.by) == (
        lucas, "do_not_contact", "active", admin_role_user
    )  # fmt: skip
    assert re.search(
        rf"<strong>Status</strong>: Do not contact → Active\s*<span class=\"muted\">by "
        rf"{admin_role_user.username}, edited on the contact&#x27;s page</span>",
        history(client, lucas),
    )


def test_a_save_that_keeps_the_status_keeps_nothing(client, admin_role_user):
    contact = ContactFactory(name="Ned Same")
    client.force_login(admin_role_user)
    data = {"name": "Ned Same-Renamed", "phone": contact.phone, "status": "active"}
    client.post(reverse("contacts:detail", args=[contact.pk]), data)
    assert not StatusChange.objects.exists()
    assert "<strong>Status</strong>" not in history(client, contact)


def test_an_import_that_changes_a_status_is_kept_with_its_file_and_user(client, admin_role_user):
    hana = ContactFactory(name="Hana Johnson", phone="+15122000002", status="do_not_contact")
    ava = ContactFactory(name="Ava Perez", phone="+15122000003")
    client.force_login(admin_role_user)
    content = b"name,phone,status\nHana Johnson,(512) 200-0002,active\nAva Perez,(512) 200-0003,\n"
    file = SimpleUploadedFile("spring.csv", content, "text/csv")
    client.post(reverse("contacts:import"), {"file": file}, follow=True)
    apply = reverse("contacts:import_apply", args=[ContactImport.objects.get().pk])
    client.post(apply, follow=True)
    assert Contact.objects.get(pk=hana.pk).status == "active"
    [change] = StatusChange.objects.all()  # Ava's status was left as it was
    assert (change.contact, change.before, change.after, change.by, change.how) == (
        hana, "do_not_contact", "active", admin_role_user, "imported from spring.csv"
    )  # fmt: skip
    assert "imported from spring.csv" in history(client, hana)
    assert "<strong>Status</strong>" not in history(client, ava)


def test_a_status_changed_in_the_django_admin_is_kept_too(client, admin_role_user):
    admin_role_user.is_staff = True  # as seed_demo makes its Admin
    admin_role_user.save()
    client.force_login(admin_role_user)
    contact = ContactFactory(name="Ari Admin", status=Contact.Status.ARCHIVED)
    url = reverse("admin:contacts_contact_change", args=[contact.pk])
    client.post(url, change_form(contact, status="active"))
    change = StatusChange.objects.get()
    assert (change.before, change.after, change.by, change.how) == (
        "archived", "active", admin_role_user, "changed in the admin"
    )  # fmt: skip
