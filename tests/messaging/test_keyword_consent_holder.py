"""A keyword consent (JOIN) is the consent of the contact who has the number now: not an
archived one who had it before (a cold review found it credited to the number's oldest
contact, so the record named the wrong person, and the consent stayed on the number when the
one who gave it moved to another, for the next holder to be texted on)."""

import pytest

from contacts.models import Channel, ConsentRecord, Contact
from tests.contacts.test_subscriptions_link_after_a_move import texts_of_a_broadcast
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
N, M = "+14155550123", "+14155550177"


def test_a_join_is_the_consent_of_the_contact_who_has_the_number_now(sms):
    ContactFactory(name="Ann (had the number before)", phone=N, status=Contact.Status.ARCHIVED)
    now = ContactFactory(name="Ben", phone=N)
    sms("JOIN", phone=N, sid="SMjoin")
    record = ConsentRecord.objects.get(phone=N, channel=Channel.SMS)
    assert record.contact_id == now.pk


def test_the_joiners_consent_does_not_stay_with_the_number_they_left(sms, settings):
    ContactFactory(name="Ann (had the number before)", phone=N, status=Contact.Status.ARCHIVED)
    ben = ContactFactory(name="Ben", phone=N)
    sms("JOIN", phone=N, sid="SMjoin")
    ben.phone = M  # Ben's new number
    ben.save()
    ContactFactory(name="Cara", phone=N)  # N reaches someone new
    assert settings.MARKETING_NEEDS_CONSENT
    texted = {message["to"] for message in texts_of_a_broadcast(settings, "20% off")}
    assert N not in texted  # Cara has given no consent
