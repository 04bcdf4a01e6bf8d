"""Cancelling asks first, saying what it stops; a draft never sent, not even as a test, can be
deleted, and nothing else can."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from broadcasts import sending, services
from broadcasts.models import Broadcast, SentTest
from crm.roles import MANAGER
from messaging.backends import LocmemBackend
from tests.broadcasts.test_launch import in_threads, signed_in
from tests.factories import UserFactory
from tests.locks import wait_for_lock_waiters

pytestmark = pytest.mark.django_db

OWN_PHONE = "+14155550199"


def draft(**fields) -> Broadcast:
    return Broadcast.objects.create(name="Promo", channel="sms", body="Sale", **fields)


def test_cancel_asks_first_saying_how_many_messages_it_stops(manager_client):
    broadcast = draft(status="sending")
    for n in range(3):
        broadcast.recipients.create(phone=f"+1415555010{n}", status="pending")
    broadcast.recipients.create(phone="+14155550109", status="sent")
    detail = manager_client.get(reverse("broadcasts:detail", args=[broadcast.pk]))
    assertContains(detail, "Cancel the broadcast…")

    page = manager_client.get(reverse("broadcasts:cancel", args=[broadcast.pk]))
    assertContains(page, "Cancel “Promo”?")
    assertContains(page, "3 messages not sent yet will not be sent.")
    assert Broadcast.objects.get().status == "sending"  # asking changes nothing

    listed = manager_client.get(reverse("broadcasts:list")).content.decode()
    assert "4 recipients, 3 to go" in listed
    manager_client.post(reverse("broadcasts:cancel", args=[broadcast.pk]))
    assert Broadcast.objects.get().status == "cancelled"
    # The list says what the cancel left unsent, not "0 to go".
    listed = manager_client.get(reverse("broadcasts:list")).content.decode()
    assert "4 recipients, 3 not sent: cancelled" in listed


def test_cancelling_a_scheduled_broadcast_points_to_unschedule(manager_client):
    broadcast = draft(status="scheduled", send_at=timezone.now() + timedelta(days=1))
    page = manager_client.get(reverse("broadcasts:cancel", args=[broadcast.pk]))
    assertContains(page, "cannot be launched again")
    assertContains(page, "<strong>unschedule</strong> it")


def test_asking_to_cancel_what_is_not_sending_says_there_is_nothing_to_cancel(manager_client):
    broadcast = draft(status="done")
    page = manager_client.get(reverse("broadcasts:cancel", args=[broadcast.pk]), follow=True)
    assertContains(page, "“Promo” is not being sent: nothing to cancel.")
    assertNotContains(page, "Yes, cancel it")


def test_a_manager_deletes_a_draft_never_sent(manager_client):
    broadcast = draft()
    detail = manager_client.get(reverse("broadcasts:detail", args=[broadcast.pk]))
    assertContains(detail, "Delete…")
    page = manager_client.get(reverse("broadcasts:delete", args=[broadcast.pk]))
    assertContains(page, "Delete the draft “Promo”?")
    assert Broadcast.objects.exists()
    page = manager_client.post(reverse("broadcasts:delete", args=[broadcast.pk]), follow=True)
    assertContains(page, "The draft “Promo” was deleted.")
    assert not Broadcast.objects.exists()


def test_a_tested_draft_is_kept_with_its_tests(manager_client, manager_user):
    broadcast = draft()
    sending.send_test(broadcast, phone=OWN_PHONE, by_user=manager_user)
    detail = manager_client.get(reverse("broadcasts:detail", args=[broadcast.pk]))
    assertNotContains(detail, "Delete…")  # nothing to offer, and the page says why
    assertContains(detail, "It can no longer be deleted. Its message was sent as a test")
    page = manager_client.get(reverse("broadcasts:delete", args=[broadcast.pk]))
    assertContains(page, "It cannot be deleted. Its message was sent as a test")
    assertNotContains(page, "Yes, delete it")
    page = manager_client.post(reverse("broadcasts:delete", args=[broadcast.pk]), follow=True)
    assertContains(page, "Not deleted. Its message was sent as a test")
    assert SentTest.objects.filter(broadcast=broadcast).count() == 1


@pytest.mark.parametrize(
    ("status", "why"),
    [
        ("scheduled", "It is scheduled: unschedule it first, then delete it."),
        ("sending", "It was launched: it is kept as a record of what was sent, or was to be."),
        ("done", "It was launched"),
        ("cancelled", "It was launched"),
    ],
)
def test_a_launched_broadcast_is_never_deleted(manager_client, status, why):
    broadcast = draft(status=status, send_at=timezone.now() + timedelta(days=1))
    broadcast.recipients.create(phone="+14155550100", status="sent")
    detail = manager_client.get(reverse("broadcasts:detail", args=[broadcast.pk]))
    assertNotContains(detail, "Delete…")
    page = manager_client.get(reverse("broadcasts:delete", args=[broadcast.pk]))
    assertContains(page, "<h1>Delete “Promo”?</h1>")
    assertContains(page, f"It cannot be deleted. {why}")
    page = manager_client.post(reverse("broadcasts:delete", args=[broadcast.pk]), follow=True)
    assertContains(page, f"Not deleted. {why}")
    assert broadcast.recipients.count() == 1


def test_a_stale_cancel_of_a_broadcast_unscheduled_since_leaves_it_a_draft(manager_client):
    broadcast = draft(status="scheduled", send_at=timezone.now() + timedelta(days=1))
    page = manager_client.get(reverse("broadcasts:cancel", args=[broadcast.pk]))
    assertContains(page, "Unschedule instead")
    services.unschedule(broadcast=broadcast)  # in another tab
    page = manager_client.post(reverse("broadcasts:cancel", args=[broadcast.pk]), follow=True)
    assertContains(page, "“Promo” is not being sent: nothing to cancel.")
    assert Broadcast.objects.get().status == "draft"


def test_the_cancel_page_counts_the_messages_a_batch_holds_too(manager_client):
    broadcast = draft(status="sending")
    broadcast.recipients.create(phone="+14155550100", status="deferred")
    broadcast.recipients.create(phone="+14155550101", status="sending")
    page = manager_client.get(reverse("broadcasts:cancel", args=[broadcast.pk]))
    assertContains(
        page,
        "1 message not sent yet will not be sent, nor those of the 1 in a batch being handed "
        "over now that are not handed over yet.",
    )


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("delete", {}),  # a second click on "Yes, delete it"
        ("launch", {}),
        ("cancel", {}),
        ("edit", {"name": "Later", "channel": "sms", "body": "Changed"}),
        ("test", {"phone": OWN_PHONE}),
    ],
)
@pytest.mark.postgres
def test_a_click_that_waited_for_a_deletion_says_so_on_the_list(committed, action, data):
    """The page was read before the draft was deleted; the click then waits for the deletion
    and finds the draft gone: no error page, nothing sent or changed."""
    manager = UserFactory(role=MANAGER)
    broadcast = draft()
    client = signed_in(manager)

    def click(client) -> tuple[int, str, str]:
        url = reverse(f"broadcasts:{action}", args=[broadcast.pk])
        page = client.post(url, data, follow=True)
        return page.status_code, page.redirect_chain[-1][0], page.content.decode()

    with ThreadPoolExecutor(1) as pool:
        with transaction.atomic():
            services.delete_draft(broadcast=broadcast)
            clicked = pool.submit(in_threads, click, client)
            wait_for_lock_waiters(1, unless=clicked.done)
        [(status, landed, text)] = clicked.result(timeout=120)
    assert (status, landed) == (200, reverse("broadcasts:list"))
    assert any(
        said in text
        for said in ("“Promo” was deleted.", "The broadcast was deleted.", "It was deleted since")
    )
    assert not Broadcast.objects.exists()
    assert list(LocmemBackend.outbox) == []


@pytest.mark.postgres
def test_a_deletion_that_waited_for_a_test_keeps_the_draft_and_its_test(committed):
    """The test's text goes while the deletion waits; the deletion then finds it, and the
    record of what was sent stays."""
    manager = UserFactory(role=MANAGER)
    broadcast = draft()

    def delete(client) -> str:
        url = reverse("broadcasts:delete", args=[broadcast.pk])
        return client.post(url, follow=True).content.decode()

    client = signed_in(manager)
    try:
        with ThreadPoolExecutor(1) as pool:
            with transaction.atomic():
                # The test holds the broadcast from before its send to its record.
                test = sending.send_test(broadcast, phone=OWN_PHONE, by_user=manager)
                page = pool.submit(in_threads, delete, client)
                wait_for_lock_waiters(1, unless=page.done)
            [text] = page.result(timeout=120)
        assert "Not deleted. Its message was sent as a test" in text
        assert SentTest.objects.get().pk == test.pk
        assert [m["to"] for m in LocmemBackend.outbox] == [OWN_PHONE]
    finally:
        SentTest.objects.all().delete()


@pytest.mark.postgres
def test_a_test_that_waited_for_a_deletion_sends_nothing(committed):
    manager = UserFactory(role=MANAGER)
    broadcast = draft()

    def test(_) -> str:
        try:
            sending.send_test(broadcast, phone=OWN_PHONE, by_user=manager)
        except sending.NotSent as refused:
            return str(refused)
        return "sent"

    with ThreadPoolExecutor(1) as pool:
        with transaction.atomic():
            services.delete_draft(broadcast=broadcast)
            refused = pool.submit(in_threads, test, None)
            wait_for_lock_waiters(1, unless=refused.done)
        assert refused.result(timeout=120) == ["The broadcast was deleted."]
    assert list(LocmemBackend.outbox) == []


def test_a_cancelled_broadcast_says_how_many_went_and_how_many_did_not(manager_client):
    broadcast = draft(status="cancelled")
    for n, status in enumerate(["sent", "delivered", "cancelled", "cancelled", "cancelled"]):
        broadcast.recipients.create(phone=f"+1415555010{n}", status=status)
    page = manager_client.get(reverse("broadcasts:progress", args=[broadcast.pk]))
    assertContains(page, "— 2 of 5 sent; 3 not sent</p>")
    assertContains(page, '<progress max="100" value="40" aria-label="Sent">')
    assertNotContains(page, "done (100%)")


def test_a_scheduled_broadcast_says_nothing_goes_before_its_time(manager_client):
    broadcast = draft(status="scheduled", send_at=timezone.now() + timedelta(days=1))
    page = manager_client.get(reverse("broadcasts:progress", args=[broadcast.pk]))
    assertContains(page, ": nothing is sent before then</p>")
    assertNotContains(page, "<progress")
