"""A bulk job's page shows its filters, counts and result: to its owner and to Admins only."""

import pytest
from django.urls import reverse

from contacts.models import BulkJob, Tag
from crm.roles import ADMIN, MANAGER, STAFF
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    # Staff now (the role that ran it was taken away since): still the job's owner.
    return UserFactory(username="owner", role=STAFF)


@pytest.fixture
def job(owner):
    vip = Tag.objects.create(name="Secret VIPs")
    return BulkJob.objects.create(
        action="add_tag", query="q=acme", tag=vip, by_user=owner, count=20_000, status="done",
        result="Tag added to 20,000.",
    )  # fmt: skip


def page(client, user, job, **headers):
    client.force_login(user)
    return client.get(reverse("contacts:bulk_job", args=[job.pk]), headers=headers)


def test_the_owner_sees_their_job(client, owner, job):
    response = page(client, owner, job)
    assert response.status_code == 200
    assert "Secret VIPs" in response.content.decode()
    assert "Tag added to 20,000." in response.content.decode()


def test_the_page_says_the_jobs_filters_in_words(client, owner, job):
    text = page(client, owner, job).content.decode()
    assert "All contacts matching “acme”, asked by owner" in text
    assert "q=acme" not in text
    BulkJob.objects.filter(pk=job.pk).update(query="tag=999999")  # the tag was deleted since
    text = page(client, owner, job).content.decode()
    assert "All contacts matching filters that are not valid any more, asked by" in text


@pytest.mark.parametrize("role", [ADMIN, "superuser"])
def test_an_admin_sees_anyones_job(client, job, role):
    user = (UserFactory(username="root", is_superuser=True) if role == "superuser"
            else UserFactory(username="another-admin", role=role))  # fmt: skip
    response = page(client, user, job)
    assert response.status_code == 200
    assert "Tag added to 20,000." in response.content.decode()


@pytest.mark.parametrize("role", [STAFF, MANAGER])
def test_other_users_may_not_see_someone_elses_job(client, job, role):
    user = UserFactory(username=f"another-{role}", role=role)
    for headers in ({}, {"HX-Request": "true"}):  # the page, and the part htmx asks for
        response = page(client, user, job, **headers)
        assert response.status_code == 403
        content = response.content.decode()
        assert "Secret VIPs" not in content and "20,000" not in content and "acme" not in content


def test_a_job_whose_owner_was_removed_is_for_admins_only(client, job, owner):
    owner.delete()
    job.refresh_from_db()
    assert page(client, UserFactory(username="s", role=STAFF), job).status_code == 403
    assert page(client, UserFactory(username="a", role=ADMIN), job).status_code == 200


def test_a_job_that_does_not_exist_is_not_found(client, job):
    url = reverse("contacts:bulk_job", args=[job.pk + 1])
    client.force_login(UserFactory(username="a", role=ADMIN))
    assert client.get(url).status_code == 404
