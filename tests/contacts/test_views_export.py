"""Exporting contacts is a permission of its own: Admins and Managers have it, Staff do not.
Many contacts are exported by a task, whose page offers the file."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from contacts import bulk, csv_export
from contacts.models import BulkJob, ExportPiece
from crm.roles import ADMIN, MANAGER, STAFF
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("contacts:bulk")
LIST = reverse("contacts:list")


@pytest.fixture
def contacts():
    return ContactFactory.create_batch(2)


@pytest.mark.parametrize("role", [ADMIN, MANAGER])
def test_admins_and_managers_see_export_and_get_the_file(client, contacts, role):
    client.force_login(UserFactory(role=role))
    page = client.get(LIST).content.decode()
    assert '<option value="export">Export CSV</option>' in page
    response = client.post(URL, {"action": "export", "scope": "all", "query": ""})
    assert response.status_code == 200 and response.streaming
    assert len(b"".join(response.streaming_content).decode().splitlines()) == 3


@pytest.mark.parametrize(
    "data",
    [
        {"action": "export", "scope": "all", "query": ""},
        {"action": "export", "scope": "selected"},
    ],
    ids=["all", "selected"],
)
def test_staff_get_403_from_the_export(client, contacts, data):
    client.force_login(UserFactory(role=STAFF))
    if data["scope"] == "selected":
        data = data | {"contacts": [contact.pk for contact in contacts]}
    response = client.post(URL, data)
    assert response.status_code == 403
    assert not getattr(response, "streaming", False)


def test_staff_see_no_export_and_no_bulk_bar(client, contacts):
    """Staff may do none of the bulk actions: no Export CSV, no bar, no boxes to tick."""
    client.force_login(UserFactory(role=STAFF))
    page = client.get(LIST).content.decode()
    assert "Export CSV" not in page
    assert 'id="bulk-form"' not in page
    assert 'name="contacts"' not in page and "data-select-all" not in page
    assert contacts[0].name in page


def test_a_user_given_the_permission_may_export(client, contacts):
    """The permission decides, not the role's name: Staff with it export too."""
    user = UserFactory(role=STAFF)
    user.user_permissions.add(
        Group.objects.get(name=ADMIN).permissions.get(codename="export_contact")
    )
    client.force_login(user)
    assert '<option value="export">Export CSV</option>' in client.get(LIST).content.decode()
    assert client.post(URL, {"action": "export", "scope": "all", "query": ""}).streaming


@pytest.fixture
def in_the_background(settings):
    """Exports of more than one contact run as a task (run at once here)."""
    settings.BULK_INLINE_LIMIT = 1
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def export_all(client, django_capture_on_commit_callbacks, query: str = "") -> str:
    """Ask for the export of all contacts matching `query`; the task runs; its page's address."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"action": "export", "scope": "all", "query": query})
    assert response.status_code == 302
    return response.url


def test_many_contacts_are_exported_by_a_task_whose_page_offers_the_file(
    client, contacts, settings, in_the_background, django_capture_on_commit_callbacks
):
    ContactFactory(name='=cmd|" /C calc"!A0', email="a,b@example.com")
    manager = UserFactory(role=MANAGER)
    client.force_login(manager)
    page_url = export_all(client, django_capture_on_commit_callbacks)
    job = BulkJob.objects.get()
    assert (job.action, job.count, job.status, job.done) == ("export", 3, "done", 3)
    page = client.get(page_url).content.decode()
    assert "Export CSV: 3 contacts" in page
    assert "Done: 3 contacts exported." in page
    file_url = reverse("contacts:export_file", args=[job.pk])
    assert f'href="{file_url}"' in page
    response = client.get(file_url)
    assert response["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    exported = b"".join(response.streaming_content)
    settings.BULK_INLINE_LIMIT = 10  # the same contacts, at once
    inline = client.post(URL, {"action": "export", "scope": "all", "query": ""})
    assert exported == b"".join(inline.streaming_content)
    rows = list(csv.reader(io.StringIO(exported.decode())))
    assert len(rows) == 4 and rows[0][0] == "name"
    assert ['\'=cmd|" /C calc"!A0', "a,b@example.com"] in [row[:3:2] for row in rows]


def test_an_export_s_file_is_for_its_owner_and_admins(
    client, contacts, in_the_background, django_capture_on_commit_callbacks
):
    owner = UserFactory(role=MANAGER)
    client.force_login(owner)
    export_all(client, django_capture_on_commit_callbacks)
    file_url = reverse("contacts:export_file", args=[BulkJob.objects.get().pk])
    for user, status in [(UserFactory(role=MANAGER), 403), (UserFactory(role=STAFF), 403),
                         (UserFactory(role=ADMIN), 200), (owner, 200)]:  # fmt: skip
        client.force_login(user)
        assert client.get(file_url).status_code == status, user


def test_an_export_s_file_is_deleted_after_the_days_it_is_kept(
    client, contacts, settings, in_the_background, django_capture_on_commit_callbacks
):
    client.force_login(UserFactory(role=MANAGER))
    first = export_all(client, django_capture_on_commit_callbacks)
    old = BulkJob.objects.get()
    file_url = reverse("contacts:export_file", args=[old.pk])
    kept = timedelta(days=settings.EXPORT_KEEP_DAYS)
    BulkJob.objects.filter(pk=old.pk).update(
        finished_at=timezone.now() - kept + timedelta(minutes=1)
    )
    assert client.get(file_url).status_code == 200  # a minute left
    BulkJob.objects.filter(pk=old.pk).update(finished_at=timezone.now() - kept)
    assert client.get(file_url).status_code == 404  # not offered any more, though not deleted yet
    assert "The file was deleted: files are kept 7 days." in client.get(first).content.decode()
    # A job queued long ago, still running, keeps its pieces while another export clears.
    long_ago = timezone.now() - 2 * kept
    running = BulkJob.objects.create(
        action="export", by_user=old.by_user, count=2, status="running", created_at=long_ago
    )
    ExportPiece.objects.create(job=running, seq=0, data=b"name\n")
    assert bulk.delete_expired_files() == 0  # a download begun just before may still run
    BulkJob.objects.filter(pk=old.pk).update(
        finished_at=timezone.now() - kept - bulk.DOWNLOAD_GRACE
    )
    assert bulk.delete_expired_files() == 2  # the old file's two pieces, not the running one's
    assert list(ExportPiece.objects.values_list("job", flat=True)) == [running.pk]


def test_no_file_before_the_export_is_done_or_without_its_pieces(client, contacts):
    manager = UserFactory(role=MANAGER)
    job = BulkJob.objects.create(action="export", by_user=manager, count=3)  # queued
    client.force_login(manager)
    assert client.get(reverse("contacts:export_file", args=[job.pk])).status_code == 404
    BulkJob.objects.filter(pk=job.pk).update(status="done", finished_at=timezone.now())
    assert client.get(reverse("contacts:export_file", args=[job.pk])).status_code == 404
    assert (
        "Download" not in client.get(reverse("contacts:bulk_job", args=[job.pk])).content.decode()
    )


def test_an_export_that_fails_leaves_no_half_file(
    client, contacts, monkeypatch, in_the_background, django_capture_on_commit_callbacks
):
    def one_piece_then_a_failure(contacts):
        yield b"name,phone\r\n", 0
        raise RuntimeError("the database went away")

    monkeypatch.setattr(csv_export, "pieces", one_piece_then_a_failure)
    client.force_login(UserFactory(role=MANAGER))
    export_all(client, django_capture_on_commit_callbacks)  # the task fails, and says so
    job = BulkJob.objects.get()
    assert (job.status, job.result) == ("failed", "The export failed: no file was written.")
    assert not ExportPiece.objects.exists()
    page = client.get(reverse("contacts:bulk_job", args=[job.pk])).content.decode()
    assert "The export failed: no file was written." in page and "Download" not in page
