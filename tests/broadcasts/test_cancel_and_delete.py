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

    manager_client.post(reverse("broadcasts:cancel", args=[broadcast.pk]))
    assert Broadcast.objects.get().status == "cancelled"


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
    page = manager_client.get(reverse("broadcasts:delete", args=[broadcast.pk]))
    assertContains(page, "It cannot be deleted: its message was sent as a test")
    assertNotContains(page, "Yes, delete it")
    page = manager_client.post(reverse("broadcasts:delete", args=[broadcast.pk]), follow=True)
    assertContains(page, "Not deleted: its message was sent as a test")
    assert SentTest.objects.filter(broadcast=broadcast).count() == 1


@pytest.mark.parametrize("status", ["scheduled", "sending", "done", "cancelled"])
def test_a_launched_broadcast_is_never_deleted(manager_client, status):
    broadcast = draft(status=status, send_at=timezone.now() + timedelta(days=1))
    broadcast.recipients.create(phone="+14155550100", status="sent")
    detail = manager_client.get(reverse("broadcasts:detail", args=[broadcast.pk]))
    assertNotContains(detail, "Delete…")
    page = manager_client.post(reverse("broadcasts:delete", args=[broadcast.pk]), follow=True)
    assertContains(page, "Not deleted: it was launched")
    assert broadcast.recipients.count() == 1


@pytest.mark.parametrize("role", ["Staff", "Admin"])
def test_only_managers_delete_drafts(client, role):
    broadcast = draft()
    client.force_login(UserFactory(role=role))
    assertNotContains(client.get(reverse("broadcasts:detail", args=[broadcast.pk])), "Delete…")
    assert client.post(reverse("broadcasts:delete", args=[broadcast.pk])).status_code == 403
    assert Broadcast.objects.exists()


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
        assert "Not deleted: its message was sent as a test" in text
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
