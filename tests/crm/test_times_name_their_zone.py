"""Every time a page shows is in TIME_ZONE, and the page says which: staff elsewhere (or a
server set to UTC) would otherwise read a STOP's time hours off."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import formats, timezone

from contacts import services
from contacts.models import Channel, Contact, Disclosure, OptOut
from messaging.models import InboundEvent, PossibleOptOut, ReplyPhrase
from tests.factories import ContactFactory

ZONE = "America/Chicago"


@pytest.fixture(autouse=True)
def _chicago(settings):
    settings.TIME_ZONE = ZONE


def shown(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def test_a_contact_s_page_names_the_zone_of_its_times(admin_client, admin_role_user):
    contact = ContactFactory()
    services.unsubscribe(contact=contact, channel=Channel.SMS, by_user=admin_role_user)
    page = admin_client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    assert f"{shown(contact.created_at)} {ZONE}" in page
    assert f'History <span class="muted">(times in {ZONE})</span>' in page


def test_lists_of_times_name_their_zone_in_their_heading(admin_client):
    Disclosure.objects.create(title="Sign-up form", text="Reply STOP to opt out.")
    ContactFactory(phone="+14155550123")
    review = PossibleOptOut.objects.create(phone="+14155550123", words="leave me be")
    InboundEvent.objects.create(kind="sms", key="sms:SM1", payload={}, phone="+14155550123")
    ReplyPhrase.objects.create(example="leave me be", meaning="ordinary")
    for name, heading in [
        ("contacts:disclosures", f"Since ({ZONE})"),
        ("messaging:possible_opt_outs", f"Received ({ZONE})"),
        ("messaging:outbox", f"When ({ZONE})"),
        ("messaging:reply_phrases", f"Added ({ZONE})"),
    ]:
        assert heading in admin_client.get(reverse(name)).content.decode(), name
    confirm = admin_client.post(
        reverse("messaging:decide", args=[review.pk]), {"decision": "confirmed"}
    )  # the page that asks once more
    assert f"They wrote, on {shown(review.received_at)} {ZONE}" in confirm.content.decode()


@pytest.mark.parametrize("month", range(1, 13))
def test_the_contacts_table_dates_each_row_on_its_day_in_the_zone(admin_client, month):
    """03:00 UTC on the 1st is still the day before in Chicago: the Created column and an
    opt-out's tooltip say that day, as Django's "j M Y" writes it."""
    moment = timezone.make_aware(datetime(2026, month, 1, 3), UTC)
    contact = ContactFactory(name="Dee Dated")
    Contact.objects.filter(pk=contact.pk).update(created_at=moment)
    services.unsubscribe(contact=contact, channel=Channel.SMS, by_user=None)
    OptOut.objects.filter(contact=contact).update(opted_out_at=moment)
    day = formats.date_format(timezone.localtime(moment), "j M Y")
    assert day.startswith(("28 ", "29 ", "30 ", "31 "))
    page = admin_client.get(reverse("contacts:list")).content.decode()
    assert f'<td class="nowrap">{day}</td>' in page
    assert f" on {day}." in page  # the opt-out's tooltip
