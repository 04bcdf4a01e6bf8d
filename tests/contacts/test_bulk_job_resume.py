"""A bulk job that a stopped worker left running goes on, when a worker starts, from its
last committed transaction; an export left running has failed, and says so."""

import pytest

from contacts import bulk, services
from contacts.models import BulkJob, Channel, ConsentEvent, Contact, OptInStatus
from crm.roles import ADMIN
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tasks_at_once(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.BULK_BATCH_SIZE = 2


def test_a_job_left_running_goes_on_from_its_last_committed_batch():
    admin = UserFactory(role=ADMIN)
    contacts = ContactFactory.create_batch(6)
    # What the stopped worker had committed: its first batch of two, and what it did.
    first = [contact.pk for contact in contacts[:2]]
    services.unsubscribe_many(contacts=first, channel=Channel.SMS, by_user=admin)
    job = BulkJob.objects.create(
        action="unsubscribe_sms", by_user=admin, count=6, total=6, status="running",
        done=2, done_through=first[-1], changed=2, result="SMS: 2 unsubscribed.",
    )  # fmt: skip

    assert bulk.resume() == 1
    job.refresh_from_db()
    assert (job.status, job.done, job.result) == ("done", 6, "SMS: 6 unsubscribed.")
    now = Contact.objects.filter(pk__in=[contact.pk for contact in contacts])
    assert {contact.opt_in_status(Channel.SMS) for contact in now} == {OptInStatus.SOFT}
    # Each opted out once: the first two were not gone through again.
    assert ConsentEvent.objects.filter(channel="sms", after="soft").count() == 6


def test_an_export_left_running_has_failed_and_a_done_job_is_left_alone():
    export = BulkJob.objects.create(action="export", count=3, status="running", done=1)
    done = BulkJob.objects.create(action="unsubscribe_sms", count=3, status="done", done=3)
    assert bulk.resume() == 0
    export.refresh_from_db()
    assert export.status == "failed"
    assert export.result == "The worker stopped while it wrote the file: export again."
    done.refresh_from_db()
    assert (done.status, done.done) == ("done", 3)
