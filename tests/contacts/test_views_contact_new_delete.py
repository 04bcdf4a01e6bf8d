import pytest
from django.urls import reverse

from contacts import services
from contacts.models import Channel, ConsentEvent, Contact, OptOut, PhoneOptOut, Source, Tag
from tests.factories import ContactFactory

NEW = reverse("contacts:new")


def delete_url(contact: Contact) -> str:
    return reverse("contacts:delete", args=[contact.pk])


@pytest.fixture
def contact(admin_role_user):
    """Tagged, soft opted out of calls by a user, and its number replied STOP."""
    contact = ContactFactory(name="Mae Moss", phone="+14155550150")
    contact.tags.add(Tag.objects.create(name="VIP"))
    services.unsubscribe(contact=contact, channel=Channel.CALLS, by_user=admin_role_user)
    services.record_hard_opt_out(
        phone=contact.phone, channel=Channel.SMS, source=Source.KEYWORD, words="Stop!"
    )
    return contact


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


def test_a_contact_given_a_number_others_have_is_told_it_shares_its_consent(
    admin_client, admin_role_user
):
    """Saved with a household's number, a contact shares its consent on record and opt-outs:
    the form says who else has it before it saves (a new user's click-through: a mistyped
    number was saved at once, and said so only after), and the page whose consent each
    record was given as."""
    from datetime import UTC, datetime

    from contacts.models import ConsentMethod

    household = "+14155550172"
    amelia = ContactFactory(name="Amelia Mensah", phone=household)
    services.record_consent(
        phone=household, channel=Channel.CALLS, method=ConsentMethod.VERBAL,
        given_at=datetime(2026, 11, 24, tzinfo=UTC), by_user=admin_role_user, contact=amelia,
    )  # fmt: skip
    aisha = {"name": "Aisha Davis", "phone": "(415) 555-0172", "status": "active"}
    page = admin_client.post(NEW, aisha).content.decode()
    assert "Amelia Mensah has this number too: its consent on record and its opt-outs" in page
    assert "Save again to give the contact this number." in page
    assert not Contact.objects.filter(name="Aisha Davis").exists()
    response = admin_client.post(NEW, aisha | {"confirmed_phone": household}, follow=True)
    page = response.content.decode()
    assert "Aisha Davis: created." in page
    assert f', for <a href="/contacts/{amelia.pk}/">Amelia Mensah</a>' in page
    for name in ("Bo", "Cy", "Di"):
        ContactFactory(name=name, phone=household)
    page = admin_client.post(
        NEW, {"name": "Ed", "phone": household, "status": "active"}, follow=True
    ).content.decode()
    assert "Aisha Davis, Amelia Mensah, Bo and others have this number too" in page
    page = admin_client.post(
        NEW, {"name": "Fay", "phone": "+14155550173", "status": "active"}, follow=True
    ).content.decode()
    assert "this number too" not in page and "Fay: created." in page


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


def test_the_contact_page_offers_delete_to_admins_only(client, staff_user, manager_user,
                                                      admin_role_user, contact):  # fmt: skip
    link = f'href="{delete_url(contact)}"'
    for user, shown in ((staff_user, False), (manager_user, False), (admin_role_user, True)):
        client.force_login(user)
        page = client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
        assert (link in page) is shown


@pytest.mark.parametrize("user", ["staff_user", "manager_user"])
def test_staff_and_managers_may_neither_create_nor_delete(client, request, user, contact):
    client.force_login(request.getfixturevalue(user))
    assert client.get(NEW).status_code == 403
    data = {"name": "Ada Lane", "phone": "(415) 555-0170", "status": "active"}
    assert client.post(NEW, data).status_code == 403
    assert client.get(delete_url(contact)).status_code == 403
    assert client.post(delete_url(contact)).status_code == 403
    assert list(Contact.objects.all()) == [contact]


def test_the_confirmation_says_what_goes_and_what_is_kept(admin_client, contact):
    response = admin_client.get(delete_url(contact))
    page = response.content.decode()
    assert "<h1>Delete Mae Moss?</h1>" in page
    assert "The contact: Mae Moss, (415) 555-0150" in page
    assert 'Its tags: <span class="tag">VIP</span>' in page
    assert "Its soft opt-out of Calls &amp; Voicemails: if the contact is added again" in page
    assert "(415) 555-0150 replied “Stop!” on " in page
    assert "a hard opt-out of SMS." in page
    assert "applies to any contact that gets the number later" in page
    assert "its 2 entries stay in the consent ledger" in page
    assert "Yes, delete Mae Moss" in page
    assert Contact.objects.filter(pk=contact.pk).exists()  # asking deletes nothing


def test_the_confirmation_of_a_contact_with_nothing_to_keep_says_so(admin_client):
    plain = ContactFactory(name="Al Bee", phone="+14155550190")
    page = admin_client.get(delete_url(plain)).content.decode()
    assert "It has no tags." in page
    assert "(415) 555-0190 has no hard opt-out now." in page
    assert "Its soft opt-out" not in page
    assert "The consent history: it has none" in page


def test_deleting_keeps_the_numbers_opt_outs_and_the_consent_history(admin_client, contact):
    ledger = list(ConsentEvent.objects.order_by("id").values_list("id", "phone", "after"))
    response = admin_client.post(delete_url(contact), follow=True)
    assert response.redirect_chain == [(reverse("contacts:list"), 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "Mae Moss, (415) 555-0150: deleted. The number's opt-outs and the consent history are kept."
    ]
    assert not Contact.objects.exists()
    assert not OptOut.objects.exists()
    assert not Contact.tags.through.objects.exists()
    assert Tag.objects.filter(name="VIP").exists()
    assert PhoneOptOut.objects.filter(phone="+14155550150", channel=Channel.SMS).exists()
    assert list(ConsentEvent.objects.order_by("id").values_list("id", "phone", "after")) == ledger

    # Whoever gets the number next is opted out of SMS from the start.
    data = {"name": "New Mae", "phone": "(415) 555-0150", "status": "active",
            "confirmed_phone": "+14155550150"}  # fmt: skip
    admin_client.post(NEW, data)
    assert Contact.objects.get().opt_in_status(Channel.SMS) == "hard"


@pytest.mark.parametrize("method", ["put", "delete"])
def test_only_a_post_deletes(admin_client, contact, method):
    assert getattr(admin_client, method)(delete_url(contact)).status_code == 405
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_deleting_an_unknown_contact_is_a_404(admin_client):
    assert admin_client.get(reverse("contacts:delete", args=[424242])).status_code == 404
    assert admin_client.post(reverse("contacts:delete", args=[424242])).status_code == 404
