from html import escape

import pytest
from django.urls import reverse

from contacts import services
from contacts.models import Channel, ConsentEvent, Contact, OptInStatus, Source
from tests.factories import ContactFactory

BACK = reverse("contacts:list") + "?sms=soft&sort=-name"


def url(contact: Contact) -> str:
    return reverse("contacts:subscription", args=[contact.pk])


def sms(contact: Contact) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(Channel.SMS)


def test_an_admin_unsubscribes_in_place_with_htmx(admin_client):
    contact = ContactFactory()
    response = admin_client.post(
        url(contact), {"channel": "sms", "action": "unsubscribe", "next": BACK},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert response.status_code == 200
    cell = response.content.decode()
    assert cell.lstrip().startswith(f'<div class="opt-in" id="opt-in-{contact.pk}">')
    assert 'aria-label="SMS: opted out (soft)"' in cell
    assert "Resubscribe to SMS" in cell
    assert f'value="{BACK.replace("&", "&amp;")}"' in cell  # the next action returns there too
    said = f'<span class="opt-in-message" role="status">{escape(contact.name)}: unsubscribed'
    assert f"{said} from SMS.</span>" in cell
    assert sms(contact) == OptInStatus.SOFT
    event = ConsentEvent.objects.get(contact=contact)
    assert (event.before, event.after, event.actor.username) == ("subscribed", "soft", "admintest")


def test_without_javascript_it_returns_to_the_same_filtered_page(admin_client):
    contact = ContactFactory(name="Ola")
    services.unsubscribe(contact=contact, channel=Channel.SMS, by_user=None)
    response = admin_client.post(
        url(contact), {"channel": "sms", "action": "resubscribe", "next": BACK}, follow=True
    )
    assert response.redirect_chain[0][0] == BACK
    assert "Ola: resubscribed to SMS." in response.content.decode()
    assert sms(contact) == OptInStatus.SUBSCRIBED


def test_a_hard_opt_out_is_refused_with_the_reason(admin_client):
    contact = ContactFactory()
    services.record_hard_opt_out(phone=contact.phone, channel=Channel.SMS, source=Source.KEYWORD)
    response = admin_client.post(
        url(contact), {"channel": "sms", "action": "resubscribe"}, headers={"HX-Request": "true"}
    )
    assert (
        "nobody here can lift. It ends when the number replies START." in response.content.decode()
    )
    assert sms(contact) == OptInStatus.HARD


def test_staff_get_403_for_a_forged_post(client, staff_user):
    contact = ContactFactory()
    client.force_login(staff_user)
    response = client.post(url(contact), {"channel": "sms", "action": "unsubscribe"})
    assert response.status_code == 403
    assert sms(contact) == OptInStatus.SUBSCRIBED


def test_managers_may_not_change_subscriptions_either(client, manager_user):
    contact = ContactFactory()
    client.force_login(manager_user)
    assert client.post(url(contact), {"channel": "sms", "action": "unsubscribe"}).status_code == 403


@pytest.mark.parametrize(
    "data", [{}, {"channel": "fax", "action": "unsubscribe"}, {"channel": "sms", "action": "x"}]
)
def test_bad_input_is_a_400_and_changes_nothing(admin_client, data):
    contact = ContactFactory()
    assert admin_client.post(url(contact), data).status_code == 400
    assert not ConsentEvent.objects.exists()


def test_an_unknown_contact_is_a_404(admin_client):
    response = admin_client.post(
        reverse("contacts:subscription", args=[999999]), {"channel": "sms", "action": "unsubscribe"}
    )
    assert response.status_code == 404


def test_get_is_not_allowed(admin_client):
    assert admin_client.get(url(ContactFactory())).status_code == 405
