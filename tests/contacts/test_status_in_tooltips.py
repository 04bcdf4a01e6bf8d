"""A contact who is not active gets no broadcast, whatever its channels say: a subscribed
icon's tooltip says so, in the table and on the contact's page, rather than look as if
texts and calls would reach them."""

import pytest
from django.urls import reverse

from contacts import services
from contacts.models import Channel, Contact
from tests.factories import ContactFactory

HELD_BACK = "No broadcast reaches this contact while their status is “{}”."


@pytest.fixture
def do_not_contact(admin_role_user) -> Contact:
    contact = ContactFactory(name="Dana Donot", status=Contact.Status.DO_NOT_CONTACT)
    services.unsubscribe(contact=contact, channel=Channel.CALLS, by_user=admin_role_user)
    return contact


def tooltips(page: str, contact: Contact) -> dict[str, str]:
    """Each channel's tooltip of the contact on the page, by its id."""
    found = {}
    for channel in Channel:
        start = page.index(f'id="tip-{contact.pk}-{channel}">') + len(
            f'id="tip-{contact.pk}-{channel}">'
        )
        found[channel] = page[start : page.index("</span>", start)]
    return found


@pytest.mark.parametrize("where", ["contacts:list", "contacts:detail"])
def test_a_subscribed_channel_of_a_contact_not_to_contact_says_none_reaches_them(
    client, staff_user, do_not_contact, where
):
    active = ContactFactory(name="Andy Active")
    client.force_login(staff_user)
    args = [do_not_contact.pk] if where == "contacts:detail" else []
    page = client.get(reverse(where, args=args)).content.decode()

    sms, calls = tooltips(page, do_not_contact).values()
    assert sms == "Subscribed to SMS: no consent on record. " + HELD_BACK.format("Do not contact")
    assert calls.startswith("Opted out of Calls &amp; Voicemails")  # already held back
    assert "No broadcast reaches" not in calls
    if where == "contacts:list":
        assert "No broadcast reaches" not in "".join(tooltips(page, active).values())


def test_an_archived_contact_says_so_too(client, staff_user):
    archived = ContactFactory(name="Archie Ved", status=Contact.Status.ARCHIVED)
    client.force_login(staff_user)
    page = client.get(reverse("contacts:list")).content.decode()
    for tip in tooltips(page, archived).values():
        assert tip.endswith(HELD_BACK.format("Archived"))
