"""Quiet hours at the moment of sending: a recipient outside its window, in its own local
time, is deferred (not sent, not skipped) and sent once when its window opens, without
holding back those whose window is open; a worker restart in between changes nothing.

The test moves the clock (time-machine: the pages, the sending and the task worker read the
same clock); the worker is django-tasks-db's, run in the test's process."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client, TestCase
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from broadcasts import sending
from broadcasts.models import Broadcast, Recipient
from contacts import services
from contacts.models import Channel, Source
from contacts.phones import format_phone
from crm.roles import ADMIN, MANAGER
from tests.broadcasts.engine import confirmed
from tests.broadcasts.test_scheduling import run_worker, sent_to
from tests.factories import ContactFactory, UserFactory, store_old_phone

pytestmark = pytest.mark.usefixtures("db", "quiet_hours")

EASTERN, CENTRAL = ZoneInfo("America/New_York"), ZoneInfo("America/Chicago")
PACIFIC = ZoneInfo("America/Los_Angeles")
NEW_YORK, MIAMI, AUSTIN = "+12125550101", "+13055550101", "+15125550101"
SAN_FRANCISCO, NO_PLACE = "+14155550101", "+2145550109"


@pytest.fixture(autouse=True)
def _tasks_in_the_database(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def manager() -> Client:
    client = Client()
    client.force_login(UserFactory(role=MANAGER))
    return client


def at(year, month, day, hour, minute=0, zone=EASTERN) -> time_machine.travel:
    """The clock at that local time, standing still: a slow machine does not carry a test
    past the minute it means."""
    return time_machine.travel(datetime(year, month, day, hour, minute, tzinfo=zone), tick=False)


def new_broadcast(client: Client, **fields) -> Broadcast:
    form = {"name": "Evening news", "channel": "sms", "body": "Hello", **fields}
    client.post(reverse("broadcasts:new"), form)
    return Broadcast.objects.latest("id")


def launch(client: Client, broadcast: Broadcast) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(reverse("broadcasts:launch", args=[broadcast.pk]), confirmed(broadcast))
    run_worker()


def detail(client: Client, broadcast: Broadcast) -> str:
    return client.get(reverse("broadcasts:detail", args=[broadcast.pk])).content.decode()


def status(broadcast: Broadcast) -> str:
    return Broadcast.objects.get(pk=broadcast.pk).status


def test_at_2030_eastern_new_york_is_sent_and_florida_waits_until_8_then_is_sent_once(manager):
    ContactFactory(phone=NEW_YORK)
    ContactFactory(phone=MIAMI)
    with at(2026, 12, 7, 20, 30):  # a Monday
        broadcast = new_broadcast(manager)
        launch(manager, broadcast)
        assert sent_to() == [NEW_YORK]
        waiting = broadcast.recipients.get(phone=MIAMI)
        assert waiting.status == Recipient.Status.DEFERRED
        assert waiting.retry_at == datetime(2026, 12, 8, 8, tzinfo=EASTERN)
        assert status(broadcast) == "sending"
        page = detail(manager, broadcast)
        assert "Deferred by quiet hours: <strong>1</strong>" in page
        assert "sent from Tuesday 08:00 their time" in page
        [queued] = DBTaskResult.objects.filter(status="READY")
        assert queued.run_after == datetime(2026, 12, 8, 8, tzinfo=EASTERN)

    with at(2026, 12, 7, 21, 15):
        # The worker restarts: it queues sending for every broadcast still sending, which
        # finds nothing it may send yet and leaves the one task for 08:00.
        assert sending.resume() == 1
        run_worker()
        assert sent_to() == [NEW_YORK]
        assert DBTaskResult.objects.filter(status="READY").count() == 1

    with at(2026, 12, 8, 7, 59):
        run_worker()
        assert sent_to() == [NEW_YORK]

    with at(2026, 12, 8, 8, 0):
        run_worker()
        assert sent_to() == [NEW_YORK, MIAMI]
        assert status(broadcast) == "done"

    with at(2026, 12, 8, 12, 0):
        sending.resume()
        run_worker()
        assert sent_to() == [NEW_YORK, MIAMI]  # once each


def test_a_deferred_recipient_who_opts_out_meanwhile_is_said_to_get_nothing(manager):
    ContactFactory(phone=MIAMI)
    soft = ContactFactory(phone=AUSTIN)
    with at(2026, 12, 7, 22, 30):  # past 21:00 in Miami and in Austin
        broadcast = new_broadcast(manager)
        launch(manager, broadcast)
        assert "Not sent if its turn came now" not in detail(manager, broadcast)
        services.record_hard_opt_out(
            phone=MIAMI, channel=Channel.SMS, source=Source.KEYWORD, words="STOP"
        )
        services.unsubscribe(contact=soft, channel=Channel.SMS, by_user=UserFactory(role=ADMIN))
        page = detail(manager, broadcast)
    rows = {phone: row for row in page.split("<tr>")[2:] for phone in (MIAMI, AUSTIN)
            if format_phone(phone) in row}  # fmt: skip
    assert "Deferred: quiet hours" in rows[MIAMI]
    assert "Not sent if its turn came now: Opted out of this channel (hard)." in rows[MIAMI]
    assert "Not sent if its turn came now: Opted out of this channel (soft)." in rows[AUSTIN]
    with at(2026, 12, 8, 9, 0):
        run_worker()
    assert sent_to() == []


def test_an_urgent_informational_broadcast_goes_at_once(manager):
    ContactFactory(phone=MIAMI)
    with at(2026, 12, 7, 22, 0):
        broadcast = new_broadcast(
            manager, purpose="informational", urgent="on",
            urgent_reason="Tomorrow's appointments are cancelled: the office flooded.",
        )  # fmt: skip
        launch(manager, broadcast)
        assert sent_to() == [MIAMI]
        assert status(broadcast) == "done"


def test_informational_broadcasts_keep_quiet_hours_unless_urgent(manager):
    ContactFactory(phone=MIAMI)
    with at(2026, 12, 7, 22, 0):
        launch(manager, new_broadcast(manager, purpose="informational"))
        assert sent_to() == []


def test_the_contacts_own_time_zone_and_state_win_over_the_numbers(manager):
    ContactFactory(phone=NEW_YORK, time_zone="America/Los_Angeles")  # 17:30 there
    ContactFactory(phone="+14155550101", time_zone="America/New_York", state="FL")
    with at(2026, 12, 7, 20, 30):
        broadcast = new_broadcast(manager)
        launch(manager, broadcast)
        assert sent_to() == [NEW_YORK]
        assert broadcast.recipients.get(phone="+14155550101").status == "deferred"


def test_texas_on_sunday_waits_until_noon(manager):
    ContactFactory(phone=AUSTIN)
    with at(2026, 12, 6, 11, 0, zone=CENTRAL):  # a Sunday
        broadcast = new_broadcast(manager)
        launch(manager, broadcast)
        assert sent_to() == []
        deferred = broadcast.recipients.get()
        assert deferred.retry_at == datetime(2026, 12, 6, 12, tzinfo=CENTRAL)
    with at(2026, 12, 6, 12, 1, zone=CENTRAL):
        run_worker()
        assert sent_to() == [AUSTIN]


def test_a_broadcast_cancelled_while_recipients_wait_sends_them_nothing(manager):
    ContactFactory(phone=MIAMI)
    with at(2026, 12, 7, 22, 0):
        broadcast = new_broadcast(manager)
        launch(manager, broadcast)
        manager.post(reverse("broadcasts:cancel", args=[broadcast.pk]))
        recipient = broadcast.recipients.get()
        assert recipient.status == Recipient.Status.CANCELLED
        # Its note no longer says when it will be sent.
        assert recipient.error == "It was waiting for its quiet hours to end."
    with at(2026, 12, 8, 9, 0):
        run_worker()
        assert sent_to() == []
        assert status(broadcast) == "cancelled"


def test_the_preview_says_how_many_a_launch_now_would_defer(manager):
    ContactFactory(phone=NEW_YORK)
    ContactFactory(phone=MIAMI)
    # A Miami number whose contact says California keeps Florida's window too.
    ContactFactory(phone="+13055550102", time_zone="America/Los_Angeles", state="CA")
    ContactFactory(phone="+14155550102", time_zone="America/Los_Angeles", state="CA")
    with at(2026, 12, 7, 20, 30):
        page = detail(manager, new_broadcast(manager))
        assert "Launched now, <strong>2</strong> of them would wait" in page
    with at(2026, 12, 8, 0, 30):  # 21:30 in California: everyone waits
        page = detail(manager, Broadcast.objects.get())
        assert "Launched now, all <strong>4</strong> would wait" in page
    with at(2026, 12, 7, 14, 0):
        assert "would wait" not in detail(manager, Broadcast.objects.get())


def test_the_preview_of_a_broadcast_with_a_send_time_counts_quiet_hours_then(manager):
    """At 20:30 in New York, Miami (Florida: 08:00–20:00) would wait now; a broadcast to be
    sent at 10:00 tomorrow waits for nobody, one to be sent at 07:30 for everyone, and the
    page says it counted for its send time, scheduled or still a draft."""
    ContactFactory(phone=NEW_YORK)
    ContactFactory(phone=MIAMI)
    with at(2026, 12, 7, 20, 30):
        broadcast = new_broadcast(manager)
        assert "Launched now, <strong>1</strong> of them would wait" in detail(manager, broadcast)
        Broadcast.objects.update(send_at=datetime(2026, 12, 8, 10, tzinfo=EASTERN))
        assert "would wait" not in detail(manager, broadcast)
        Broadcast.objects.update(send_at=datetime(2026, 12, 8, 7, 30, tzinfo=EASTERN))
        page = detail(manager, broadcast)
        assert "Sent at its send time, " in page and "all <strong>2</strong> would wait" in page
        launch(manager, broadcast)
        assert status(broadcast) == "scheduled"
        page = detail(manager, broadcast)
        assert "Sent at its send time, " in page and "all <strong>2</strong> would wait" in page
    with at(2026, 12, 8, 7, 45):  # its send time has passed: counted for now again
        assert "Launched now, all <strong>2</strong> would wait" in detail(manager, broadcast)


def test_a_number_that_no_code_places_waits_for_the_window_of_every_us_zone(manager):
    """Nothing says where +214 555 0109 is (214 is no country's code; the number was stored
    before the phone check, and its pattern passes the send's): it keeps the window that
    covers every US zone, closed at 21:30 in New York. The preview counts it too (it once
    counted only numbers with a known place)."""
    ContactFactory(phone=SAN_FRANCISCO)  # 18:30 there
    store_old_phone(ContactFactory(), NO_PLACE)
    with at(2026, 12, 7, 21, 30):
        broadcast = new_broadcast(manager)
        assert "Launched now, <strong>1</strong> of them would wait" in detail(manager, broadcast)
        launch(manager, broadcast)
    statuses = dict(broadcast.recipients.values_list("phone", "status"))
    assert statuses == {SAN_FRANCISCO: Recipient.Status.SENT, NO_PLACE: Recipient.Status.DEFERRED}
    # Its window opens when Hawaii's does: said in Hawaii's time, not New York's (13:00).
    assert (
        "sent from Tuesday 08:00 Hawaii-Aleutian time (08:00–21:00 in every US time zone)"
        in detail(manager, broadcast)
    )


def test_a_number_in_two_zones_is_told_in_the_zone_that_opens_last(manager):
    """Florida's 850 is in Central and Eastern time: at 07:30 Eastern it waits for 08:00 in
    Central time (09:00 in Eastern), and the page says which clock."""
    PANHANDLE = "+18505550101"
    ContactFactory(phone=PANHANDLE)
    with at(2026, 12, 7, 7, 30):
        broadcast = new_broadcast(manager)
        launch(manager, broadcast)
    recipient = broadcast.recipients.get()
    assert recipient.retry_at == datetime(2026, 12, 7, 8, 0, tzinfo=CENTRAL)
    assert recipient.error.startswith("Quiet hours: sent from Monday 08:00 Central time (08:00")


def test_recipients_another_worker_wakes_keep_the_broadcast_sending(manager, monkeypatch):
    """A worker finds nothing to claim; meanwhile another wakes the deferred recipients: the
    first must send them, not mark the broadcast done with them pending (found by review)."""
    ContactFactory(phone=MIAMI)
    with at(2026, 12, 7, 22, 0):
        broadcast = new_broadcast(manager)
        launch(manager, broadcast)
        assert broadcast.recipients.get().status == Recipient.Status.DEFERRED
    wake, claim, woken = sending._wake, sending.claim, []

    def this_worker_wakes_later(b, now):  # its own look comes after the other's
        return wake(b, now) if woken else 0

    def claim_then_another_worker_wakes(b, **kwargs):
        claimed = claim(b, **kwargs)
        if not claimed and not woken:
            woken.append(wake(b, datetime(2026, 12, 8, 8, 1, tzinfo=EASTERN)))
        return claimed

    monkeypatch.setattr(sending, "_wake", this_worker_wakes_later)
    monkeypatch.setattr(sending, "claim", claim_then_another_worker_wakes)
    with at(2026, 12, 8, 8, 1):
        sending.run(broadcast.pk)
    assert woken == [1]
    assert sent_to() == [MIAMI]
    assert status(broadcast) == "done"


def test_a_batch_deferred_during_a_cancellation_is_cancelled(manager):
    ContactFactory(phone=MIAMI)
    with at(2026, 12, 7, 22, 0):
        broadcast = new_broadcast(manager)
        with TestCase.captureOnCommitCallbacks(execute=False):
            manager.post(reverse("broadcasts:launch", args=[broadcast.pk]), confirmed(broadcast))
        claimed = sending.claim(broadcast)
        manager.post(reverse("broadcasts:cancel", args=[broadcast.pk]))
        sending.send_batch(Broadcast.objects.get(pk=broadcast.pk), claimed)
        sending.run(broadcast.pk)  # a worker looks again, and finds it cancelled
        assert broadcast.recipients.get().status == Recipient.Status.CANCELLED
        assert sent_to() == []


def test_a_message_whose_turn_comes_after_its_window_closes_waits(manager):
    """The window is checked again at each message's turn: a batch that reaches 20:00 in
    Florida holds back the messages after it."""
    ContactFactory(phone=MIAMI)
    ContactFactory(phone=NEW_YORK)
    start = datetime(2026, 12, 7, 19, 59, 59, tzinfo=EASTERN)

    class Slow(sending.Clock):  # each message takes a second
        moment = start.timestamp()

        def now(self):
            return self.moment

        def sleep(self, seconds):
            self.moment += seconds

    clock = Slow()
    with at(2026, 12, 7, 19, 59):
        broadcast = new_broadcast(manager)
        with TestCase.captureOnCommitCallbacks(execute=False):
            manager.post(reverse("broadcasts:launch", args=[broadcast.pk]), confirmed(broadcast))
        claimed = sending.claim(broadcast)  # New York first: numbers in order
        original = sending._hand_over

        def slow_hand_over(*args):
            clock.moment += 1
            return original(*args)

        sending._hand_over, restore = slow_hand_over, original
        try:
            sending.send_batch(broadcast, claimed, clock=clock)
        finally:
            sending._hand_over = restore
    assert sent_to() == [NEW_YORK]
    assert broadcast.recipients.get(phone=MIAMI).status == Recipient.Status.DEFERRED


def test_a_number_shared_with_a_contact_in_florida_waits_for_florida_s_window(manager):
    """A San Francisco number, whose other contact says they live in Florida: at 17:30 there
    (20:30 in Florida) it waits, however its first contact is placed, until Florida's window
    is open in every zone the phone may be in: 08:00 Pacific."""
    SAN_FRANCISCO = "+14155550101"
    ContactFactory(phone=SAN_FRANCISCO)
    ContactFactory(phone=SAN_FRANCISCO, state="FL", status="archived")
    with at(2026, 12, 7, 17, 30, zone=PACIFIC):
        broadcast = new_broadcast(manager)
        launch(manager, broadcast)
        assert sent_to() == []
    recipient = broadcast.recipients.get()
    assert recipient.status == "deferred"
    assert recipient.retry_at == datetime(2026, 12, 8, 8, 0, tzinfo=PACIFIC)
    assert recipient.error == (
        "Quiet hours: sent from Tuesday 08:00 Pacific time (08:00–20:00 in Central, Pacific and "
        "Eastern time (FL); 2 places said by the contacts who have the number)."
    )


@pytest.mark.parametrize("filtered", [False, True], ids=["everyone", "a tag"])
def test_the_preview_counts_those_a_launch_defers_whatever_the_audience(manager, filtered):
    """At 22:30 in New York (19:30 in San Francisco, 03:30 in London). A filtered audience
    is counted in one pass (broadcasts.services), everyone by other queries: both count those
    the launch then defers, by each number's place and the places its contacts say."""
    from broadcasts import services
    from contacts.models import Tag

    tag = Tag.objects.create(name="Audience")
    people = [
        ContactFactory(phone=SAN_FRANCISCO),  # goes
        ContactFactory(phone=NEW_YORK),  # waits
        ContactFactory(phone="+442071838750"),  # London: waits
        ContactFactory(phone="+14155550102", state="FL"),  # waits for Florida's window
        ContactFactory(phone="+12125550102", time_zone="America/Los_Angeles"),  # goes
        *(ContactFactory(phone="+14155550103") for _ in range(2)),  # one number: goes
        *(ContactFactory(phone="+12125550103") for _ in range(2)),  # one number: waits
        ContactFactory(),
    ]
    store_old_phone(people[-1], NO_PLACE)  # the window of every US zone: waits
    for contact in people:
        contact.tags.add(tag)
    ContactFactory(phone="+12125550109", name="Not tagged")
    audience = {"audience-tag": tag.pk} if filtered else {}
    with at(2026, 12, 7, 22, 30):
        broadcast = new_broadcast(manager, **audience)
        preview = services.preview(broadcast)
        launch(manager, broadcast)
    deferred = set(
        broadcast.recipients.filter(status=Recipient.Status.DEFERRED).values_list(
            "phone", flat=True
        )
    )
    waiting = {NEW_YORK, "+442071838750", "+14155550102", "+12125550103", NO_PLACE}
    assert deferred == (waiting if filtered else waiting | {"+12125550109"})
    assert preview.deferred == len(deferred)
    assert preview.receive == broadcast.recipients.count() == 8 + (not filtered)
