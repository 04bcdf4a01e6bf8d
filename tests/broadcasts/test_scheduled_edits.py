"""A scheduled broadcast edited after its launch was confirmed: moving its time keeps it
scheduled; any other change (what it sends, to whom, its purpose) makes it a draft again,
to be launched anew with the preview of what it now is. A cold review found a second
manager's switch to informational sent at its time, to a number the confirmed preview had
left out for having no consent, under the first manager's name."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from broadcasts.models import Broadcast
from contacts import services
from contacts.models import Channel, ConsentMethod
from crm.roles import MANAGER
from tests.broadcasts.test_scheduling import (
    _tasks_in_the_database,  # noqa: F401 (the fixture: tasks kept in the database)
    in_hours,
    launch,
    sent_to,
    time_passes,
)
from tests.factories import ContactFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.needs_consent]

WITH_CONSENT, WITHOUT_CONSENT = "+14155550101", "+14155550102"


@pytest.fixture
def managers() -> tuple[Client, Client]:
    first, second = Client(), Client()
    first.force_login(UserFactory(role=MANAGER))
    second.force_login(UserFactory(role=MANAGER))
    return first, second


def scheduled_sale(manager: Client) -> Broadcast:
    ContactFactory(phone=WITH_CONSENT)
    ContactFactory(phone=WITHOUT_CONSENT)
    services.record_consent(phone=WITH_CONSENT, channel=Channel.SMS,
                            method=ConsentMethod.PAPER, given_at=timezone.now())  # fmt: skip
    broadcast = Broadcast.objects.create(
        name="Sale", channel="sms", body="20% off this week", send_at=in_hours(1)
    )
    page = manager.get(reverse("broadcasts:launch", args=[broadcast.pk])).content.decode()
    assert "<strong>1</strong> phone number by SMS" in page  # what the launch confirms
    launch(manager, broadcast)
    assert Broadcast.objects.get().status == "scheduled"
    return broadcast


def edit(manager: Client, broadcast: Broadcast, **changes) -> str:
    form = {"name": "Sale", "channel": "sms", "purpose": "marketing", "body": "20% off this week",
            "send_at": Broadcast.objects.get().send_at.isoformat(), **changes}  # fmt: skip
    response = manager.post(reverse("broadcasts:edit", args=[broadcast.pk]), form, follow=True)
    return response.content.decode()


def test_an_edit_of_what_it_is_makes_it_a_draft_again(managers):
    first, second = managers
    broadcast = scheduled_sale(first)
    page = edit(second, broadcast, purpose="informational", promotes_nothing="on")
    assert "is a draft again: what it sends, or to whom, is no longer what its launch" in page
    edited = Broadcast.objects.get()
    assert (edited.status, edited.launched_by, edited.purpose) == ("draft", None, "informational")
    time_passes(1)
    assert sent_to() == []  # nothing goes that nobody launched


def test_moving_its_time_keeps_it_scheduled(managers):
    first, second = managers
    broadcast = scheduled_sale(first)
    page = edit(second, broadcast, send_at=in_hours(2).isoformat())
    assert "is a draft again" not in page
    assert Broadcast.objects.get().status == "scheduled"
    time_passes(2)
    assert sent_to() == [WITH_CONSENT]  # what the launch confirmed
