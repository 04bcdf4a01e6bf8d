"""Launching a broadcast: once, however many people press the button at the same moment;
the others are told it was launched already, and an edit that comes too late changes nothing.
A launch takes its recipients, one a number, in one statement.

The races run real requests, each in a thread on a connection of its own, on committed data
(PostgreSQL); a held lock lines them up where timing alone might not."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from broadcasts import services
from broadcasts.models import Broadcast
from contacts.models import Contact
from crm.roles import MANAGER
from messaging.backends import LocmemBackend
from tests.broadcasts.engine import broadcast, confirmed
from tests.factories import ContactFactory, UserFactory
from tests.locks import wait_for_lock_waiters

ALREADY = "This broadcast was launched already."
TOO_LATE = "A launched broadcast cannot be changed."
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def launch(client: Client, broadcast: Broadcast) -> str:
    """Press "Yes, launch it"; the page it leads to."""
    response = client.post(
        reverse("broadcasts:launch", args=[broadcast.pk]), confirmed(broadcast), follow=True
    )
    assert response.status_code == 200
    return response.content.decode()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def in_threads(function, *arguments) -> list:
    """`function(argument)` for each argument, each in a thread with a connection of its own."""

    def run(argument):
        try:
            return function(argument)
        finally:
            connections.close_all()  # this thread's

    with ThreadPoolExecutor(len(arguments)) as pool:
        return list(pool.map(run, arguments))


@pytest.mark.parametrize("send_at", [None, timedelta(hours=1)], ids=["now", "scheduled"])
def test_a_second_launch_is_told_it_was_launched_already(
    client, manager_user, settings, django_capture_on_commit_callbacks, send_at
):
    settings.TASKS = DATABASE_TASKS
    ContactFactory.create_batch(2)
    broadcast = Broadcast.objects.create(
        name="Once", channel="sms", body="Hi", send_at=send_at and timezone.now() + send_at
    )
    client.force_login(manager_user)
    with django_capture_on_commit_callbacks(execute=True):
        first = launch(client, broadcast)
    second = launch(client, broadcast)
    assert ("will be sent on" if send_at else "“Once” is being sent.") in first
    assert ALREADY in second and "will be sent on" not in second
    assert broadcast.recipients.count() == (0 if send_at else 2)
    assert DBTaskResult.objects.count() == (1 if send_at else settings.BROADCAST_WORKERS)


@pytest.mark.parametrize("clicks", [2, 5])
@pytest.mark.postgres
def test_simultaneous_launches_send_once_and_tell_the_others(committed, clicks):
    contacts = ContactFactory.create_batch(3)
    manager = UserFactory(role=MANAGER)
    broadcast = Broadcast.objects.create(name="Once", channel="sms", body="Hi")
    clients = [signed_in(manager) for _ in range(clicks)]
    start = threading.Barrier(clicks)

    def press(client: Client) -> str:
        start.wait(timeout=60)
        return launch(client, broadcast)

    pages = in_threads(press, *clients)
    launched = [page for page in pages if "“Once” is being sent." in page]
    told = [page for page in pages if ALREADY in page]
    print(f"{clicks} launches at once: {len(launched)} launched, {len(told)} told")
    assert (len(launched), len(told)) == (1, clicks - 1)
    assert sorted(m["to"] for m in LocmemBackend.outbox) == sorted(c.phone for c in contacts)
    assert Broadcast.objects.get().status == Broadcast.Status.DONE


@pytest.mark.parametrize("send_at", [None, timedelta(hours=1)], ids=["now", "scheduled"])
@pytest.mark.postgres
def test_a_launch_that_waited_for_another_is_told_it_was_launched_already(
    committed, settings, send_at
):
    """The page was read as a draft; by the time the launch has the broadcast to itself,
    another launch has taken it."""
    settings.TASKS = DATABASE_TASKS
    ContactFactory.create_batch(2)
    first, second = UserFactory(role=MANAGER), UserFactory(role=MANAGER)
    broadcast = Broadcast.objects.create(
        name="Once", channel="sms", body="Hi", send_at=send_at and timezone.now() + send_at
    )
    client = signed_in(second)
    with ThreadPoolExecutor(1) as pool:
        with transaction.atomic():
            services.launch(broadcast=broadcast, by_user=first)  # not committed yet
            page = pool.submit(in_threads, lambda c: launch(c, broadcast), client)
            wait_for_lock_waiters(1, unless=page.done)
        [text] = page.result(timeout=120)
    assert ALREADY in text and "will be sent on" not in text
    broadcast.refresh_from_db()
    assert broadcast.launched_by == first
    queued = DBTaskResult.objects.filter(task_path__endswith="start_scheduled").count()
    assert queued == (1 if send_at else 0)


@pytest.mark.postgres
def test_an_edit_that_waited_for_a_launch_changes_nothing(committed):
    """Saved over a launched broadcast, the edit's copy would make it a draft again: the
    sending would stop half-way."""
    ContactFactory.create_batch(2)
    manager = UserFactory(role=MANAGER)
    broadcast = Broadcast.objects.create(name="Before", channel="sms", body="Hi")
    client = signed_in(manager)
    edit = {"name": "After", "channel": "sms", "body": "Changed"}

    def save(client: Client) -> str:
        url = reverse("broadcasts:edit", args=[broadcast.pk])
        response = client.post(url, edit, follow=True)
        assert response.status_code == 200
        return response.content.decode()

    with ThreadPoolExecutor(1) as pool:
        with transaction.atomic():
            # The launch holds the broadcast while it snapshots the recipients.
            Broadcast.objects.select_for_update().get(pk=broadcast.pk)
            page = pool.submit(in_threads, save, client)
            wait_for_lock_waiters(1, unless=page.done)
            services.launch(broadcast=broadcast, by_user=manager)
        [text] = page.result(timeout=120)
    assert TOO_LATE in text
    broadcast.refresh_from_db()
    assert (broadcast.name, broadcast.body, broadcast.status) == ("Before", "Hi", "done")
    assert len(LocmemBackend.outbox) == 2


def test_launch_snapshots_one_recipient_per_number_in_one_statement(manager):
    ContactFactory.create_batch(30)
    ContactFactory(phone=Contact.objects.first().phone)
    b = broadcast()
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        services.launch(broadcast=b, by_user=manager)  # sending waits for the commit
    inserts = [q["sql"] for q in queries if "INSERT INTO \"broadcasts_recipient\"" in q["sql"]
               or "INSERT INTO broadcasts_recipient" in q["sql"]]  # fmt: skip
    assert len(inserts) == 1
    assert b.recipients.count() == 30
    assert set(b.recipients.values_list("status", flat=True)) == {"pending"}
