import pytest
from django.urls import reverse

from contacts import services
from contacts.models import Channel, Contact, Source, Tag
from tests.factories import ContactFactory


def url(contact: Contact) -> str:
    return reverse("contacts:detail", args=[contact.pk])


@pytest.fixture
def contact(admin_role_user):
    contact = ContactFactory(name="Mae Moss", phone="+14155550150")
    services.unsubscribe(contact=contact, channel=Channel.CALLS, by_user=admin_role_user)
    services.record_hard_opt_out(
        phone=contact.phone, channel=Channel.SMS, source=Source.KEYWORD, words="Stop!"
    )
    return contact


def test_it_shows_details_status_and_history(client, staff_user, contact):
    client.force_login(staff_user)
    page = client.get(url(contact)).content.decode()
    assert "(415) 555-0150" in page
    assert 'aria-label="SMS: opted out (hard)"' in page
    assert 'aria-label="Calls &amp; Voicemails: opted out (soft)"' in page
    timeline = [str(e) for e in client.get(url(contact)).context["timeline"]]
    assert timeline == [
        "SMS: subscribed → hard",  # the contact's
        "SMS: subscribed → hard",  # the number's own
        "Calls & Voicemails: subscribed → soft",
    ]
    assert "<q>Stop!</q>" in page
    assert "Save" not in page  # no edit form for Staff


def test_an_admin_edits_the_contact(client, admin_role_user, contact):
    client.force_login(admin_role_user)
    vip = Tag.objects.create(name="VIP")
    response = client.post(
        url(contact),
        {"name": "Mae M.", "phone": "(415) 555-0160", "email": "mae@example.com",
         "status": "do_not_contact", "tags": [vip.pk]},
        follow=True,
    )  # fmt: skip
    assert "Mae M.: saved." in response.content.decode()
    contact.refresh_from_db()
    assert (contact.name, contact.phone, contact.status) == (
        "Mae M.",
        "+14155550160",
        "do_not_contact",
    )
    assert list(contact.tags.all()) == [vip]
    assert contact.opt_in_status(Channel.SMS) == "hard"  # a new phone keeps it


def test_an_invalid_edit_shows_the_error_and_changes_nothing(client, admin_role_user, contact):
    client.force_login(admin_role_user)
    response = client.post(url(contact), {"name": "", "phone": "12ab", "status": "active"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "“12ab” is not a valid phone number." in page
    assert "This field is required." in page
    assert Contact.objects.get(pk=contact.pk).name == "Mae Moss"


def test_staff_cannot_post_an_edit(client, staff_user, contact):
    client.force_login(staff_user)
    assert client.post(url(contact), {"name": "X", "phone": contact.phone}).status_code == 403
    assert Contact.objects.get(pk=contact.pk).name == "Mae Moss"


def test_an_unknown_contact_is_a_404(client, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("contacts:detail", args=[424242])).status_code == 404
