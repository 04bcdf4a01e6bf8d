import pytest
from django.urls import reverse

from contacts import services
from contacts.models import Channel, Contact, Source, Tag

NEW = reverse("contacts:new")


def test_an_admin_creates_a_contact_and_lands_on_its_page(admin_client):
    vip = Tag.objects.create(name="VIP")
    data = {"name": "Ada Lane", "phone": "(415) 555-0170", "email": "ada@example.com",
            "status": "active", "tags": [vip.pk]}  # fmt: skip
    response = admin_client.post(NEW, data, follow=True)
    contact = Contact.objects.get()
    assert response.redirect_chain == [(reverse("contacts:detail", args=[contact.pk]), 302)]
    page = response.content.decode()
    assert "Ada Lane: created." in page
    assert (contact.name, contact.phone, contact.email) == ("Ada Lane", "+14155550170",
                                                            "ada@example.com")  # fmt: skip
    assert list(contact.tags.all()) == [vip]
    assert 'aria-label="SMS: subscribed"' in page
    assert 'aria-label="Calls &amp; Voicemails: subscribed"' in page


@pytest.mark.parametrize(
    "typed", ["415 555 0171", "415.555.0171", "+1 (415) 555-0171", "1-415-555-0171"]
)
def test_the_phone_is_stored_as_e164_however_it_is_typed(admin_client, typed):
    admin_client.post(NEW, {"name": "Bo Ray", "phone": typed, "status": "active"})
    assert Contact.objects.get().phone == "+14155550171"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"phone": "12ab"}, "“12ab” is not a valid phone number."),
        ({"phone": ""}, "This field is required."),
        ({"name": ""}, "This field is required."),
        ({"email": "ada@"}, "Enter a valid email address."),
        ({"status": "gone"}, "Select a valid choice. gone is not one of the available choices."),
        ({"tags": [2**64]}, f"{2**64} is not one of the available choices."),
    ],
)
def test_bad_input_shows_the_error_and_creates_nothing(admin_client, change, error):
    data = {"name": "Ada Lane", "phone": "(415) 555-0170", "status": "active"} | change
    response = admin_client.post(NEW, data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Contact.objects.exists()


def test_a_number_that_opted_out_is_created_only_after_the_warning_and_stays_opted_out(
    admin_client,
):
    services.record_hard_opt_out(
        phone="+19192000014", channel=Channel.SMS, source=Source.KEYWORD, words="STOP"
    )
    data = {"name": "Ty Po", "phone": "919-200-0014", "status": "active"}
    page = admin_client.post(NEW, data).content.decode()
    assert "(919) 200-0014 replied “STOP” on " in page
    assert "this contact will not receive SMS while it has this number" in page
    assert "Save again to give the contact this number." in page
    assert 'name="confirmed_phone" value="+19192000014"' in page
    assert not Contact.objects.exists()  # not yet

    response = admin_client.post(NEW, data | {"confirmed_phone": "+19192000014"}, follow=True)
    page = response.content.decode()
    assert "Ty Po: created." in page
    contact = Contact.objects.get()
    assert contact.opt_in_status(Channel.SMS) == "hard"
    assert contact.opt_in_status(Channel.CALLS) == "subscribed"
    assert 'aria-label="SMS: opted out (hard)"' in page
    assert "(before this contact had the number)" in page


def test_a_warning_confirmed_for_another_number_does_not_count(admin_client):
    services.record_hard_opt_out(
        phone="+19192000014", channel=Channel.SMS, source=Source.KEYWORD, words="STOP"
    )
    data = {"name": "Ty Po", "phone": "919-200-0014", "status": "active",
            "confirmed_phone": "+19192000041"}  # fmt: skip
    assert "Save again" in admin_client.post(NEW, data).content.decode()
    assert not Contact.objects.exists()


def test_the_contacts_page_offers_new_contact_to_admins_only(client, staff_user, manager_user,
                                                            admin_role_user):  # fmt: skip
    link = f'href="{NEW}"'
    for user, shown in ((staff_user, False), (manager_user, False), (admin_role_user, True)):
        client.force_login(user)
        assert (link in client.get(reverse("contacts:list")).content.decode()) is shown


@pytest.mark.parametrize("user", ["staff_user", "manager_user"])
def test_staff_and_managers_may_not_create(client, request, user):
    client.force_login(request.getfixturevalue(user))
    assert client.get(NEW).status_code == 403
    data = {"name": "Ada Lane", "phone": "(415) 555-0170", "status": "active"}
    assert client.post(NEW, data).status_code == 403
    assert not Contact.objects.exists()
