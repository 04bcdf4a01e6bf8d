"""A reply waiting in Possible opt-outs holds its number back from what confirming it would
stop; the subscribed icon's tooltip says so, in the table and on the contact's page. A new
user's click-through found "Subscribed to SMS" on a contact whose reply ("stop the promos
but keep the reminders") held every text back, with only the contact's page saying so."""

import pytest
from django.urls import reverse

from contacts.models import Channel
from messaging.models import PossibleOptOut
from tests.contacts.test_status_in_tooltips import tooltips
from tests.factories import ContactFactory

PHONE = "+12122000001"
HELD = "A reply from this number waits in Possible opt-outs: no {} reaches it until someone decides"


@pytest.mark.parametrize("where", ["contacts:list", "contacts:detail"])
def test_a_channel_held_by_a_reply_says_so(client, staff_user, where):
    held = ContactFactory(name="Aisha Davis", phone=PHONE)
    other = ContactFactory(name="Other Person")
    PossibleOptOut.objects.create(phone=PHONE, words="stop the promos but keep the reminders")
    client.force_login(staff_user)
    args = [held.pk] if where == "contacts:detail" else []
    page = client.get(reverse(where, args=args)).content.decode()

    sms, calls = tooltips(page, held).values()
    assert sms == f"Subscribed to SMS: no consent on record. {HELD.format('SMS')}"
    assert "Possible opt-outs" not in calls  # the reply names texts alone
    if where == "contacts:list":
        assert "Possible opt-outs" not in "".join(tooltips(page, other).values())


def test_a_reply_decided_holds_nothing(client, staff_user):
    held = ContactFactory(phone=PHONE)
    PossibleOptOut.objects.create(
        phone=PHONE, words="not now", decision=PossibleOptOut.Decision.DISMISSED
    )
    client.force_login(staff_user)
    page = client.get(reverse("contacts:list")).content.decode()
    assert "Possible opt-outs" not in "".join(tooltips(page, held).values())


def test_under_revoke_all_a_reply_holds_every_channel(client, staff_user, settings):
    settings.OPT_OUT_SCOPE = "all"
    held = ContactFactory(phone=PHONE)
    PossibleOptOut.objects.create(phone=PHONE, words="stop the promos")
    PossibleOptOut.objects.create(phone=PHONE, words="and the calls", channels=Channel.CALLS)
    client.force_login(staff_user)
    page = client.get(reverse("contacts:list")).content.decode()
    sms, calls = tooltips(page, held).values()
    assert HELD.format("SMS") in sms
    assert HELD.format("Calls &amp; Voicemails") in calls
    assert len(page.split(f'id="tip-{held.pk}-sms"')) == 2  # its row drawn once
