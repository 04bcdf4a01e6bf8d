"""A number in E.164's shape that phonenumbers does not know (stored in SQL before the phone
check, or of an area code newer than its data) is one a broadcast reaches, as the one
definition of who may receive says: so whatever it says to stop is kept, as for any number,
and no later broadcast reaches it."""

from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client

from broadcasts.models import Broadcast
from contacts import subscriptions
from contacts.models import Channel, Contact, OptInStatus, PhoneOptOut
from contacts.phones import normalize_phone
from messaging.backends import LocmemBackend
from messaging.models import PossibleOptOut
from tests.broadcasts.engine import broadcast, launched, sent_to
from tests.factories import ContactFactory, store_old_phone
from tests.messaging.conftest import FORM, sign

pytestmark = pytest.mark.django_db

# +1, then area codes no one has (200, 555, 911 and 370), and two of countries that no
# calling code covers.
UNKNOWN = ["+12002345678", "+15555550100", "+19112345678", "+13702345678", "+2223456789"]


def stored(phone: str) -> Contact:
    contact = ContactFactory(name="Old data")
    store_old_phone(contact, phone)
    return Contact.objects.get(pk=contact.pk)


def text(client: Client, body: str, phone: str, sid: str = "SM1"):
    data = {"MessageSid": sid, "From": phone, "To": "+14155559999", "Body": body}
    signature = sign("http://testserver/webhooks/twilio/sms/", data)
    return client.post("/webhooks/twilio/sms/", urlencode(data), content_type=FORM,
                       headers={"X-Twilio-Signature": signature})  # fmt: skip


def reaches(phone: str, manager, capture) -> bool:
    LocmemBackend.outbox.clear()
    done = launched(broadcast(Channel.SMS), manager, capture)
    assert done.status == Broadcast.Status.DONE
    return phone in sent_to()


@pytest.mark.parametrize("phone", UNKNOWN)
def test_a_stop_from_such_a_number_is_kept_and_no_broadcast_reaches_it_again(
    client, manager, django_capture_on_commit_callbacks, phone
):
    with pytest.raises(ValidationError):
        normalize_phone(phone)  # a form or an import refuses it
    contact = stored(phone)
    assert reaches(phone, manager, django_capture_on_commit_callbacks)

    answer = text(client, "STOP", phone)
    assert answer.status_code == 200
    assert "You have been unsubscribed" in answer.content.decode()
    assert PhoneOptOut.objects.filter(phone=phone, channel=Channel.SMS).exists()
    assert contact.opt_in_status(Channel.SMS) == OptInStatus.HARD
    assert not reaches(phone, manager, django_capture_on_commit_callbacks)


def test_an_unclear_reply_from_such_a_number_holds_it_for_review(
    client, manager, django_capture_on_commit_callbacks
):
    phone = UNKNOWN[0]
    stored(phone)
    assert text(client, "Stop texting me LOL", phone).status_code == 200
    assert PossibleOptOut.objects.filter(phone=phone, decision="pending").exists()
    assert not reaches(phone, manager, django_capture_on_commit_callbacks)


def test_the_subscriptions_page_of_such_a_number_keeps_its_opt_out():
    contact = stored(UNKNOWN[0])
    page = subscriptions.link(contact.phone)
    client = Client(raise_request_exception=False)
    assert client.get(page).status_code == 200
    assert client.post(page, {}).status_code == 200  # both channels unticked
    for channel in Channel:
        assert Contact.objects.get(pk=contact.pk).opt_in_status(channel) == OptInStatus.HARD


def test_staff_keep_such_a_number_s_request_to_stop(admin_client):
    contact = stored(UNKNOWN[0])
    admin_client.post(
        f"/contacts/{contact.pk}/asked-to-stop/",
        {"channels": ["sms", "calls"], "how": "by phone", "words": "stop texting me"},
    )
    assert set(PhoneOptOut.objects.filter(phone=UNKNOWN[0]).values_list("channel", flat=True)) == {
        "sms",
        "calls",
    }


# Stored in SQL with the trunk 0 after the country code, as people type them: phonenumbers
# knows each, and writes it without the 0, the number its opt-outs are kept under.
LOOKALIKES = {"+4407911123456": "+447911123456", "+330612345678": "+33612345678",
              "+4901701234567": "+491701234567", "+86013912345678": "+8613912345678"}  # fmt: skip


@pytest.mark.parametrize("phone", list(LOOKALIKES))
def test_a_lookalike_of_a_number_is_never_sent_to(
    client, manager, django_capture_on_commit_callbacks, phone
):
    contact = stored(phone)
    assert not reaches(phone, manager, django_capture_on_commit_callbacks)
    recipient = Broadcast.objects.latest("id").recipients.get(contact=contact)
    assert (recipient.status, recipient.error) == ("skipped", "No or invalid phone")
    # Its STOP, from the number as the carrier writes it, is kept under that number.
    assert text(client, "STOP", LOOKALIKES[phone]).status_code == 200
    assert PhoneOptOut.objects.filter(phone=LOOKALIKES[phone], channel=Channel.SMS).exists()


def test_the_evidence_command_gives_such_a_number_s_file(capsys):
    stored(UNKNOWN[0])
    call_command("consent_evidence", phone=UNKNOWN[0])
    assert f'"number": "{UNKNOWN[0]}"' in capsys.readouterr().out
