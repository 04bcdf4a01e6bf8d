"""The send time: only a time to come is accepted, and every time on the broadcast pages says
its time zone (settings.TIME_ZONE), as the send-time field does."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from broadcasts.models import Broadcast, Recipient
from tests.broadcasts.engine import confirmed
from tests.factories import ContactFactory

NEW = reverse("broadcasts:new")


@pytest.fixture
def new_york(settings):
    settings.TIME_ZONE = "America/New_York"


def sms_form(**fields) -> dict:
    return {"name": "Reminder", "channel": "sms", "body": "See you soon", **fields}


def draft(**fields) -> Broadcast:
    return Broadcast.objects.create(name="Reminder", channel="sms", body="See you", **fields)


def page(client, name: str, broadcast: Broadcast) -> str:
    response = client.get(reverse(f"broadcasts:{name}", args=[broadcast.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_time_in_the_past_is_refused_and_nothing_is_saved(manager_client):
    response = manager_client.post(NEW, sms_form(send_at="2020-01-01T10:00"))
    assert response.status_code == 200
    assert (
        "1 Jan 2020, 10:00 UTC has passed: choose a time to come, "
        "or leave it empty to send when you launch it." in response.content.decode()
    )
    assert not Broadcast.objects.exists()


def test_a_drafts_time_moved_into_the_past_is_refused_and_nothing_changes(manager_client):
    send_at = timezone.now() + timedelta(hours=1)
    broadcast = draft(send_at=send_at)
    past = (timezone.now() - timedelta(minutes=5)).isoformat()
    response = manager_client.post(
        reverse("broadcasts:edit", args=[broadcast.pk]), sms_form(name="Moved", send_at=past)
    )
    assert response.status_code == 200
    assert "has passed: choose a time to come" in response.content.decode()
    assert Broadcast.objects.values_list("name", "send_at").get() == ("Reminder", send_at)


@pytest.mark.parametrize(
    ("send_at", "error"),
    [
        ("tomorrow", "Enter a valid date/time."),
        # Clocks go from 02:00 to 03:00 that night in New York: no such time.
        ("2030-03-10T02:30", "couldn’t be interpreted in time zone America/New_York"),
        # In UTC, which the database keeps, this is in the year 10000.
        ("9999-12-31T23:00", "Choose a time within the next five years."),
        # A cold review: in UTC, 9999; in a recipient's zone ahead of UTC, 10000 (its pages
        # were 500s once saved).
        ("9999-12-31T18:59", "Choose a time within the next five years."),
    ],
)
def test_a_time_that_cannot_be_kept_is_explained_and_nothing_is_saved(
    manager_client, new_york, send_at, error
):
    response = manager_client.post(NEW, sms_form(send_at=send_at))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Broadcast.objects.exists()


def test_the_time_is_read_and_shown_in_the_time_zone_on_every_page(
    manager_client, new_york, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # run_after
    ContactFactory()
    response = manager_client.post(NEW, sms_form(send_at="2030-01-15T09:00"))
    broadcast = Broadcast.objects.get()
    assert broadcast.send_at == datetime(2030, 1, 15, 14, 0, tzinfo=UTC)

    form = manager_client.get(NEW).content.decode()
    assert '<span class="time-zone">America/New_York</span>' in form
    assert "To be sent on 15 Jan 2030, 09:00 America/New_York, once launched." in page(
        manager_client, "detail", broadcast
    )
    assert "On 15 Jan 2030, 09:00 America/New_York, it goes\n to\n<strong>1</strong>" in page(
        manager_client, "launch", broadcast
    )

    response = manager_client.post(
        reverse("broadcasts:launch", args=[broadcast.pk]), confirmed(broadcast), follow=True
    )
    shown = response.content.decode()
    assert "“Reminder” will be sent on 15 Jan 2030, 09:00 America/New_York." in shown
    assert "Scheduled</strong> for 15 Jan 2030, 09:00 America/New_York" in shown
    listed = manager_client.get(reverse("broadcasts:list")).content.decode()
    assert "Scheduled for 15 Jan 2030, 09:00 America/New_York" in listed
    assert re.search(r"<td class=\"nowrap\">Scheduled by \w+</td>", listed)  # launched: not yet
    assert '<th scope="col">Created (America/New_York)</th>' in listed
    assert '<th scope="col">Launched (America/New_York)</th>' in listed


def test_the_recipients_sent_times_say_their_time_zone(manager_client, new_york):
    broadcast = draft(status="done")
    sent_at = datetime(2026, 7, 4, 16, 30, 5, tzinfo=UTC)
    Recipient.objects.create(broadcast=broadcast, phone="+12125550100", status="sent",
                             sent_at=sent_at)  # fmt: skip
    shown = page(manager_client, "detail", broadcast)
    assert '<th scope="col">Sent (America/New_York)</th>' in shown
    assert "4 Jul 2026, 12:30:05" in shown


def test_a_draft_whose_time_has_passed_says_it_goes_at_once(manager_client):
    ContactFactory()
    broadcast = draft(send_at=datetime(2020, 1, 1, 10, 0, tzinfo=UTC))
    assert "Its send time, 1 Jan 2020, 10:00 UTC, has passed: launched, it is sent at once." in (
        page(manager_client, "detail", broadcast)
    )
    assert (
        "Its send time, 1 Jan 2020, 10:00 UTC, has passed: it goes now\n to\n<strong>1</strong>"
        in (page(manager_client, "launch", broadcast))
    )
