"""Scheduled broadcasts: sent once, at the time set last, however often that time was moved,
and the broadcast unscheduled and scheduled again.

The operator acts through the pages. The test moves time: `time_passes` brings every time
set ahead (send times, queued tasks) that much nearer, and the worker (django-tasks-db's)
then runs what came due."""

import threading
from datetime import datetime, timedelta

import pytest
from django.db import connections, transaction
from django.db.models import F
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult, get_date_max
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from broadcasts.models import Broadcast
from broadcasts.tasks import start_scheduled
from contacts.models import Contact
from crm.roles import MANAGER
from messaging.backends import LocmemBackend
from tests.broadcasts.engine import confirmed
from tests.factories import ContactFactory, UserFactory
from tests.locks import wait_for_lock_waiters

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture(autouse=True)
def _tasks_in_the_database(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def manager(db) -> Client:
    client = Client()
    client.force_login(UserFactory(role=MANAGER))
    return client


@pytest.fixture
def contacts() -> list[str]:
    return sorted(contact.phone for contact in ContactFactory.create_batch(2))


def run_worker() -> None:
    """What the worker does when it looks for work: take the due tasks in its order, and run
    each, until none is due. (Its whole loop would close the test's connection.)"""
    worker = Worker(
        queue_names=["*"], interval=0, batch=True, backend_name="default",
        startup_delay=False, max_tasks=None, worker_id="test", excluded_queue_names=[],
    )  # fmt: skip
    while (due := DBTaskResult.objects.ready().first()) is not None:
        due.claim(worker.worker_id)
        with TestCase.captureOnCommitCallbacks(execute=True):
            worker.run_task(due)
    failed = DBTaskResult.objects.failed()
    assert not failed.exists(), [task.traceback for task in failed]


def clock_forward(hours: int) -> None:
    """As if `hours` went by: every time set ahead is that much nearer."""
    delta = timedelta(hours=hours)
    Broadcast.objects.filter(send_at__isnull=False).update(send_at=F("send_at") - delta)
    deferred = DBTaskResult.objects.filter(run_after__lt=get_date_max())
    deferred.update(run_after=F("run_after") - delta)


def time_passes(hours: int) -> None:
    """`hours` go by, and the worker runs what came due."""
    clock_forward(hours)
    run_worker()


def sms(**fields) -> Broadcast:
    return Broadcast.objects.create(name="Reminder", channel="sms", body="See you", **fields)


def in_hours(hours: int) -> datetime:
    return timezone.now() + timedelta(hours=hours)


def set_time(client: Client, broadcast: Broadcast, hours: int | None) -> str:
    """Edit the broadcast's send time to `hours` from now (None: empty)."""
    form = {"name": broadcast.name, "channel": "sms", "body": broadcast.body,
            "send_at": in_hours(hours).isoformat() if hours is not None else ""}  # fmt: skip
    response = client.post(reverse("broadcasts:edit", args=[broadcast.pk]), form, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def launch(client: Client, broadcast: Broadcast) -> str:
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            reverse("broadcasts:launch", args=[broadcast.pk]), confirmed(broadcast), follow=True
        )
    assert response.status_code == 200
    run_worker()  # the worker sends what is due now
    return response.content.decode()


def unschedule(client: Client, broadcast: Broadcast) -> str:
    response = client.post(reverse("broadcasts:unschedule", args=[broadcast.pk]), follow=True)
    assert response.status_code == 200
    return response.content.decode()


def cancel(client: Client, broadcast: Broadcast) -> None:
    client.post(reverse("broadcasts:cancel", args=[broadcast.pk]))


def status(broadcast: Broadcast) -> str:
    return Broadcast.objects.get(pk=broadcast.pk).status


def sent_to() -> list[str]:
    return sorted(message["to"] for message in LocmemBackend.outbox)


def test_a_scheduled_broadcast_waits_for_its_time_then_is_sent_once(manager, contacts):
    broadcast = sms(send_at=in_hours(1))
    assert "will be sent on" in launch(manager, broadcast)
    [queued] = DBTaskResult.objects.all()
    assert (queued.task_path, queued.run_after) == (
        start_scheduled.module_path,
        Broadcast.objects.get().send_at,
    )
    time_passes(0)
    assert status(broadcast) == "scheduled" and sent_to() == []
    time_passes(1)
    assert status(broadcast) == "done" and sent_to() == contacts
    time_passes(24)
    assert sent_to() == contacts


def test_the_launch_page_says_a_scheduled_broadcast_may_still_be_edited(manager, contacts):
    scheduled = sms(send_at=in_hours(1))
    page = manager.get(reverse("broadcasts:launch", args=[scheduled.pk])).content.decode()
    assert "Until then its time may be moved, and it may be cancelled; any other edit" in page
    at_once = sms()
    page = manager.get(reverse("broadcasts:launch", args=[at_once.pk])).content.decode()
    assert "Once launched, it cannot be changed, only cancelled." in page


def test_a_time_moved_later_is_kept_the_old_time_sends_nothing(manager, contacts):
    broadcast = sms(send_at=in_hours(1))
    launch(manager, broadcast)
    set_time(manager, broadcast, 2)
    time_passes(1)  # the time first set
    assert status(broadcast) == "scheduled" and sent_to() == []
    time_passes(1)  # the time set last
    assert status(broadcast) == "done" and sent_to() == contacts
    time_passes(24)
    assert sent_to() == contacts


def test_a_time_moved_earlier_sends_it_then_and_only_then(manager, contacts):
    broadcast = sms(send_at=in_hours(3))
    launch(manager, broadcast)
    set_time(manager, broadcast, 1)
    time_passes(1)
    assert status(broadcast) == "done" and sent_to() == contacts
    time_passes(2)  # the time first set
    assert sent_to() == contacts


def test_unscheduled_and_scheduled_again_many_times_it_is_sent_once_at_the_last_time(
    manager, contacts
):
    broadcast = sms(send_at=in_hours(1))
    launch(manager, broadcast)
    unschedule(manager, broadcast)
    launch(manager, broadcast)  # the same time again: two tasks due at once
    unschedule(manager, broadcast)
    set_time(manager, broadcast, 4)
    launch(manager, broadcast)
    set_time(manager, broadcast, 2)
    unschedule(manager, broadcast)
    launch(manager, broadcast)
    assert DBTaskResult.objects.count() == 5  # one for each time set while scheduled
    time_passes(1)
    assert status(broadcast) == "scheduled" and sent_to() == []
    time_passes(1)
    assert status(broadcast) == "done" and sent_to() == contacts
    time_passes(24)
    assert sent_to() == contacts


def test_two_tasks_due_at_the_same_moment_send_it_once(manager, contacts):
    broadcast = sms(send_at=in_hours(1))
    launch(manager, broadcast)
    unschedule(manager, broadcast)
    launch(manager, broadcast)
    queued = DBTaskResult.objects.filter(task_path=start_scheduled.module_path)
    assert len({task.run_after for task in queued}) == 1 and len(queued) == 2
    time_passes(1)
    assert sent_to() == contacts


def test_an_unscheduled_broadcast_is_not_sent(manager, contacts):
    broadcast = sms(send_at=in_hours(1))
    launch(manager, broadcast)
    unschedule(manager, broadcast)
    assert Broadcast.objects.get(pk=broadcast.pk).launched_by is None  # a draft again
    time_passes(24)
    assert status(broadcast) == "draft" and sent_to() == []


def test_a_cancelled_broadcast_is_not_sent(manager, contacts):
    broadcast = sms(send_at=in_hours(1))
    launch(manager, broadcast)
    cancel(manager, broadcast)
    time_passes(24)
    assert status(broadcast) == "cancelled" and sent_to() == []


def test_unscheduling_a_broadcast_whose_time_came_says_so_and_changes_nothing(manager, contacts):
    """The page was read while it was scheduled; meanwhile its time came."""
    broadcast = sms(send_at=in_hours(1))
    launch(manager, broadcast)
    time_passes(1)
    page = unschedule(manager, broadcast)
    assert "“Reminder” is not scheduled: nothing changed." in page
    assert "draft again" not in page
    assert status(broadcast) == "done" and sent_to() == contacts


@pytest.mark.parametrize("hours", [None, -1], ids=["empty", "past"])
def test_a_scheduled_broadcast_keeps_a_time_to_come(manager, contacts, hours):
    """Emptied or in the past, the time would never come: the scheduled broadcast would
    wait for ever. The page says so, and nothing changes."""
    broadcast = sms(send_at=in_hours(1))
    launch(manager, broadcast)
    page = set_time(manager, broadcast, hours)
    assert "A scheduled broadcast needs a time to come." in page
    assert Broadcast.objects.get().send_at == broadcast.send_at
    assert DBTaskResult.objects.count() == 1
    time_passes(1)
    assert sent_to() == contacts


@pytest.mark.postgres
def test_two_workers_running_its_tasks_at_once_send_it_once(committed, manager, contacts):
    """Two tasks due at once, each taken by a worker of its own (in threads, on connections
    of their own): both wait for the broadcast's lock, held meanwhile (by an edit, say); let
    go, one starts it, and the other finds it started."""
    broadcast = sms(send_at=in_hours(1))
    for action in (launch, unschedule, launch):
        action(manager, broadcast)
    clock_forward(1)

    def worker() -> None:
        try:
            Worker(
                queue_names=["*"], interval=0, batch=True, backend_name="default",
                startup_delay=False, max_tasks=None, worker_id=threading.current_thread().name,
                excluded_queue_names=[],
            ).run()  # fmt: skip
        finally:
            connections.close_all()  # this thread's

    threads = [threading.Thread(target=worker) for _ in range(2)]
    with transaction.atomic():
        Broadcast.objects.select_for_update().get(pk=broadcast.pk)
        for thread in threads:
            thread.start()
        wait_for_lock_waiters(2, unless=lambda: not any(t.is_alive() for t in threads))
    for thread in threads:
        thread.join()
    starts = DBTaskResult.objects.filter(task_path=start_scheduled.module_path)
    print("the start tasks ran in", sorted(task.worker_ids[0] for task in starts))
    assert not DBTaskResult.objects.failed().exists()
    assert status(broadcast) == "done" and sent_to() == contacts


STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("set time"), st.integers(1, 4)),
        st.tuples(st.just("wait"), st.integers(1, 3)),
        st.just(("launch", None)),
        st.just(("unschedule", None)),
        st.just(("cancel", None)),
    ),
    max_size=10,
)


@hypothesis_settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
@example(steps=[("launch", None), ("set time", 2), ("wait", 1), ("wait", 1)])  # issue 18
def test_any_edits_unschedules_and_launches_send_it_once_at_the_last_time_set(manager, steps):
    """Whatever an operator does, the broadcast is sent when the last time set comes, if it
    is scheduled then, and once."""
    for model in (Broadcast, DBTaskResult):
        model.objects.all().delete()
    LocmemBackend.outbox.clear()
    if not Contact.objects.exists():
        ContactFactory.create_batch(2)
    broadcast = sms(send_at=in_hours(1))
    state, hours_left = "draft", 1  # what should be: the status, the send time from now
    for step, hours in [*steps, ("wait", 24)]:
        if step == "set time":
            set_time(manager, broadcast, hours)
            if state in ("draft", "scheduled"):
                hours_left = hours
        elif step == "launch":
            launch(manager, broadcast)
            if state == "draft":
                state = "scheduled" if hours_left > 0 else "done"
        elif step == "unschedule":
            unschedule(manager, broadcast)
            if state == "scheduled":
                state = "draft"
        elif step == "cancel":
            cancel(manager, broadcast)
            if state == "scheduled":  # a draft is not being sent: nothing to cancel
                state = "cancelled"
        else:
            time_passes(hours)
            hours_left -= hours
            if state == "scheduled" and hours_left <= 0:
                state = "done"
        assert status(broadcast) == state, (step, hours)
        assert len(LocmemBackend.outbox) == (2 if state == "done" else 0), (step, hours)


def test_the_form_says_in_which_time_zone_it_sends(manager_client, settings):
    settings.TIME_ZONE = "America/Chicago"
    page = manager_client.get(reverse("broadcasts:new")).content.decode()
    assert "In the app&#x27;s time zone, America/Chicago. Leave empty to send when you" in page
