"""The Broadcasts page: the newest first, the newest there however many there are (it lists
LISTED), each with how many of its recipients are to go."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from broadcasts.models import Broadcast
from broadcasts.views import LISTED

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
