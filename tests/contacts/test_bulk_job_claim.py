"""A bulk job's task runs it once: it claims the job by a compare-and-set on its status."""

import pytest

from contacts import bulk
from contacts.models import BulkJob, Contact, Tag
from crm.roles import ADMIN
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def job():
    return BulkJob.objects.create(
        action="add_tag", query="", tag=Tag.objects.create(name="Leads"),
        by_user=UserFactory(role=ADMIN), count=1,
    )  # fmt: skip


def test_of_two_claims_of_a_queued_job_only_one_wins(job):
    assert bulk.claim(job.pk) is True
    assert bulk.claim(job.pk) is False
    job.refresh_from_db()
    assert job.status == BulkJob.Status.RUNNING


def test_a_job_whose_task_runs_twice_is_applied_once(job):
    contact = ContactFactory()
    bulk.run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.done) == (BulkJob.Status.DONE, 1)
    contact.tags.clear()  # since: the tag taken off again by hand

    bulk.run(job.pk)  # the same task, run again
    assert not Contact.objects.get(pk=contact.pk).tags.exists()
    job.refresh_from_db()
    assert (job.status, job.done) == (BulkJob.Status.DONE, 1)
