"""The Broadcasts page: the newest first, the newest there however many there are (it lists
LISTED), each with how many of its recipients are to go."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from broadcasts import services, views
from broadcasts.models import Broadcast
from broadcasts.views import LISTED
from crm.roles import MANAGER
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_newest_broadcasts_are_listed_newest_first(manager_client):
    """A cold review at a million contacts: counted with their recipients, the broadcasts came
    in no order (PostgreSQL: hash order, nine of the newest left out; SQLite: the oldest)."""
    start = timezone.now() - timedelta(days=200)
    made = [
        Broadcast.objects.create(name=f"B{n}", channel="sms", body="Hello")
        for n in range(LISTED + 10)
    ]
    for n, broadcast in enumerate(made):  # a day apart, the oldest first
        Broadcast.objects.filter(pk=broadcast.pk).update(created_at=start + timedelta(days=n))
    sending = made[-1]
    Broadcast.objects.filter(pk=sending.pk).update(status="sending")
    sending.recipients.create(phone="+14155550101", status="pending")
    sending.recipients.create(phone="+14155550102", status="sent")
    made[0].recipients.create(phone="+14155550103", status="sent")  # not listed, not counted
    page = manager_client.get(reverse("broadcasts:list")).content.decode()
    listed = [int(pk) for pk in re.findall(r'href="/broadcasts/(\d+)/"', page)]
    assert listed == [broadcast.pk for broadcast in reversed(made)][:LISTED]
    assert "2 recipients, 1 to go" in page and page.count("recipient") == 1


def test_a_finished_broadcast_says_how_many_its_launch_took(manager_client, settings):
    """Kept at the launch, not counted again at each view: the recipients of a broadcast to a
    million took a third of a second to count."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    for n in range(3):
        ContactFactory(phone=f"+1415555010{n}")
    broadcast = Broadcast.objects.create(name="Hello", channel="sms", body="Hello")
    services.launch(broadcast=broadcast, by_user=UserFactory(role=MANAGER))
    broadcast.refresh_from_db()
    assert broadcast.recipients_taken == 3
    page = manager_client.get(reverse("broadcasts:list")).content.decode()
    assert "3 recipients, 3 to go" in page
    broadcast.recipients.update(status="sent")
    Broadcast.objects.filter(pk=broadcast.pk).update(status="done")
    with CaptureQueriesContext(connection) as queries:
        page = manager_client.get(reverse("broadcasts:list")).content.decode()
    assert "3 recipients, 0 to go" in page
    assert not any("broadcasts_recipient" in q["sql"] for q in queries.captured_queries)


def test_a_broadcast_read_as_a_draft_shows_no_recipients(manager_client, settings, monkeypatch):
    """A cold review: launched between the list's two statements, a broadcast read as a draft
    showed "Draft … 3 recipients, 3 to go". A draft's recipients are not asked for."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    for n in range(3):
        ContactFactory(phone=f"+1415555010{n}")
    draft = Broadcast.objects.create(name="Racy", channel="sms", body="Hello")
    list_them = views.Broadcast.objects.select_related

    def read_then_launched(*fields):
        listed = list(list_them(*fields).order_by("-created_at", "-id"))
        services.launch(broadcast=draft, by_user=UserFactory(role=MANAGER))
        return FakeQuerySet(listed)

    monkeypatch.setattr(views.Broadcast.objects, "select_related", read_then_launched)
    page = manager_client.get(reverse("broadcasts:list")).content.decode()
    row = re.search(rf'href="/broadcasts/{draft.pk}/">.*?</tr>', page, re.S).group(0)
    assert "Draft" in row and "recipient" not in row


class FakeQuerySet(list):
    """What the list reads of the broadcasts, read already."""

    def order_by(self, *fields):
        return self
