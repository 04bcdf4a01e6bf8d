"""A contact asks a staff member to stop, on a call, at the desk or in writing: any reasonable
means revokes consent (47 CFR 64.1200(a)(10)). Whoever hears it records it, in the contact's
words, as the contact's own opt-out of the number: hard, which no platform user can undo."""

import pytest
from django.urls import reverse

from contacts import services
from contacts.models import (
    Channel,
    ConsentEvent,
    Contact,
    HardOptOutError,
    OptInStatus,
    PhoneOptOut,
    Source,
)
from crm.roles import ADMIN, MANAGER, STAFF
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db
PHONE = "+14155550123"


def url(contact) -> str:
    return reverse("contacts:request_to_stop", args=[contact.pk])


def status(contact, channel=Channel.SMS) -> str:
    return Contact.objects.get(pk=contact.pk).opt_in_status(channel)


@pytest.mark.parametrize("role", [STAFF, ADMIN, MANAGER])
def test_whoever_hears_it_records_it_as_the_contacts_own_hard_opt_out(client, role):
    ana, ben = ContactFactory(name="Ana", phone=PHONE), ContactFactory(name="Ben", phone=PHONE)
    user = UserFactory(role=role, username="dana")
    client.force_login(user)
    page = client.get(url(ana)).content.decode()
    assert "Ana asked to stop" in page and ">Ben</a> too." in page  # the number's, for both
    response = client.post(
        url(ana),
        {"channels": ["sms"], "how": "by phone", "words": "  Please stop texting me  "},
        follow=True,
    )
    page = response.content.decode()
    assert "(415) 555-0123 opted out of SMS (hard), in their words" in page
    assert (status(ana), status(ben)) == (OptInStatus.HARD, OptInStatus.HARD)
    assert status(ana, Channel.CALLS) == OptInStatus.SUBSCRIBED
    opt_out = PhoneOptOut.objects.get()
    assert (opt_out.source, opt_out.words, opt_out.matched) == (
        Source.TOLD, "Please stop texting me", "told dana by phone",
    )  # fmt: skip
    assert "asked us to stop: “Please stop texting me”" in page  # the tooltip's words
    assert "(told dana by phone)" in page and "matched: told" not in page  # the history
    rows = ConsentEvent.objects.filter(phone=PHONE, after=OptInStatus.HARD)
    assert rows.count() == 3  # the number's, and each contact's
    assert set(rows.values_list("source", flat=True)) == {Source.TOLD}
    evidence = client.get(reverse("contacts:evidence", args=[ana.pk])).content.decode()
    assert "(told): <q>Please stop texting me</q>, told dana by phone</li>" in evidence
    # No platform user can lift it.
    with pytest.raises(HardOptOutError):
        services.resubscribe(contact=ana, channel=Channel.SMS, by_user=user)


def test_both_channels_at_once(client, staff_user):
    contact = ContactFactory(phone=PHONE)
    client.force_login(staff_user)
    data = {"channels": ["sms", "calls"], "how": "in person", "words": "no more calls or texts"}
    response = client.post(url(contact), data, follow=True)
    assert "opted out of SMS and Calls &amp; Voicemails (hard)" in response.content.decode()
    assert set(PhoneOptOut.objects.values_list("channel", flat=True)) == {"sms", "calls"}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"how": "by phone", "words": "stop"}, "This field is required."),
        ({"channels": ["sms"], "words": "stop"}, "This field is required."),
        ({"channels": ["sms"], "how": "by phone", "words": "   "}, "This field is required."),
        ({"channels": ["fax"], "how": "by phone", "words": "stop"}, "Select a valid choice"),
        ({"channels": ["sms"], "how": "by pigeon", "words": "stop"}, "Select a valid choice"),
        ({"channels": ["sms"], "how": "by phone", "words": "x" * 501}, "at most 500 characters"),
        ({"channels": ["sms"], "how": "by phone", "words": "st\x00op"}, "Null characters are not"),
    ],
)
def test_bad_input_is_explained_and_nothing_changes(client, staff_user, data, error):
    contact = ContactFactory(phone=PHONE)
    client.force_login(staff_user)
    response = client.post(url(contact), data)
    assert response.status_code == 200 and error in response.content.decode()
    assert not PhoneOptOut.objects.exists() and status(contact) == OptInStatus.SUBSCRIBED


def test_the_contact_page_offers_it_to_every_role_and_not_to_others(client, staff_user):
    contact = ContactFactory(phone=PHONE)
    client.force_login(staff_user)
    assert "Asked to stop…" in client.get(contact.get_absolute_url()).content.decode()
    client.force_login(UserFactory())  # no role
    assert client.get(url(contact)).status_code == 403
    assert client.post(url(contact), {"channels": ["sms"], "how": "by phone",
                                      "words": "stop"}).status_code == 403  # fmt: skip
    assert not PhoneOptOut.objects.exists()


def test_a_request_on_a_number_opted_out_already_is_kept_in_its_history(client, staff_user):
    """The number replied STOP before; the contact then tells staff to stop. Nothing more is
    stopped, but the request, in their words with who heard it, is kept in the number's
    ledger and evidence file, and the page says the number had opted out already."""
    contact = ContactFactory(phone=PHONE)
    services.record_revocation(phone=PHONE, channel=Channel.SMS, source=Source.KEYWORD,
                               words="STOP")  # fmt: skip
    client.force_login(staff_user)
    data = {"channels": ["sms"], "how": "by phone", "words": "never text me again"}
    page = client.post(url(contact), data, follow=True).content.decode()
    assert "(415) 555-0123 had opted out of SMS already (hard)" in page
    assert "opted out of SMS (hard), in their words" not in page
    row = ConsentEvent.objects.get(phone=PHONE, source=Source.TOLD)
    assert (row.contact_id, row.before, row.after, row.note, row.matched) == (
        None, "hard", "hard", "never text me again", "told stafftest by phone",
    )  # fmt: skip
    evidence = client.get(reverse("contacts:evidence", args=[contact.pk])).content.decode()
    assert "never text me again" in evidence
    assert PhoneOptOut.objects.get().source == Source.KEYWORD  # the first request stands
