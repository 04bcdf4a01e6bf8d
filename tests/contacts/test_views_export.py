"""Exporting contacts is a permission of its own: Admins and Managers have it, Staff do not."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

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
