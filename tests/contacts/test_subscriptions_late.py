"""The subscriptions page is a website the sender designates for opt-outs, a presumed
reasonable means of revocation (FCC 24-24, ../shared/compliance-notes.md): a contact who
opens it from a text older than SUBSCRIPTION_LINK_DAYS and stops texts gets none from the
next broadcast. (A cold review found the request refused with a 403 and forgotten.)"""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from broadcasts import sending
from broadcasts import services as broadcast_services
from broadcasts.models import Broadcast
from contacts import subscriptions
from contacts.models import Channel, PhoneOptOut
from messaging.backends import LocmemBackend
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db
PHONE = "+14155550123"


def test_a_stop_by_a_link_past_its_days_holds_the_next_broadcast_back(settings):
    settings.MESSAGING_BACKEND = "locmem"
    settings.MARKETING_NEEDS_CONSENT = False
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.BROADCAST_RATE = 10_000
    LocmemBackend.outbox.clear()
    ContactFactory(name="Sam Self", phone=PHONE)
    ContactFactory(name="Ada Other", phone="+14155550124")
    link = subscriptions.link(PHONE)  # as written into a broadcast's text today

    later = timezone.now() + timedelta(days=settings.SUBSCRIPTION_LINK_DAYS + 1)
    with time_machine.travel(later, tick=False):
        page = Client().get(link).content.decode()
        assert 'name="stop" value="sms"' in page
        response = Client().post(link, {"form": "stop", "stop": ["sms"]})
        broadcast = Broadcast.objects.create(channel=Channel.SMS, name="Offer", body="Hello")
        broadcast_services.launch(broadcast=broadcast, by_user=UserFactory(role="Manager"))
        sending.run(broadcast.pk)
        texted = [message["to"] for message in LocmemBackend.outbox]
    LocmemBackend.outbox.clear()
    assert response.status_code == 200
    assert PhoneOptOut.objects.filter(phone=PHONE, channel=Channel.SMS).exists()
    assert texted == ["+14155550124"]
