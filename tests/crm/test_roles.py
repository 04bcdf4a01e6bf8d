import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from crm import roles
from crm.roles import ADMIN, MANAGER
from tests.factories import UserFactory

CAN = {
    "Staff": {
        "contacts.view_contact", "broadcasts.view_broadcast", "messaging.decide_possibleoptout",
    },
    "Admin": {
        "contacts.view_contact", "broadcasts.view_broadcast", "contacts.add_contact",
        "contacts.change_contact", "contacts.delete_contact", "contacts.change_subscription",
        "contacts.import_contacts", "contacts.view_bulkjob", "contacts.export_contact",
        "messaging.decide_possibleoptout",
    },
    "Manager": {
        "contacts.view_contact", "broadcasts.view_broadcast", "broadcasts.add_broadcast",
        "broadcasts.launch_broadcast", "broadcasts.cancel_broadcast", "contacts.export_contact",
        "messaging.decide_possibleoptout",
    },
}  # fmt: skip
ALL = set().union(*CAN.values())


def test_the_migration_creates_the_three_roles(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {"Staff", "Admin", "Manager"}


@pytest.mark.parametrize("role", CAN)
def test_each_role_holds_exactly_its_permissions(db, role):
    user = UserFactory(role=role)
    assert {perm for perm in ALL if user.has_perm(perm)} == CAN[role]


def test_no_role_may_edit_the_ledger_or_the_opt_outs(db):
    for role in CAN:
        user = UserFactory(role=role)
        assert not user.has_perm("contacts.change_consentevent")
        assert not user.has_perm("contacts.delete_consentevent")
        assert not user.has_perm("contacts.delete_phoneoptout")
        assert not user.has_perm("contacts.delete_optout")


def test_a_superuser_can_do_everything(superuser):
    assert all(superuser.has_perm(perm) for perm in ALL)


def test_the_header_shows_each_role_and_permissions_come_from_roles_and_the_user(client, db):
    user = UserFactory(username="both", role=ADMIN)
    user.groups.add(Group.objects.get(name=MANAGER))
    client.force_login(user)
    page = client.get(reverse("contacts:list")).content.decode()
    assert '<span class="role">Admin</span><span class="role">Manager</span>' in page

    loner = UserFactory(username="loner")
    assert not loner.has_perm("contacts.view_contact")
    loner.user_permissions.add(Permission.objects.get(codename="view_contact"))
    loner = type(loner).objects.get(pk=loner.pk)  # a fresh object: no cached permissions
    assert loner.has_perm("contacts.view_contact")
    assert not loner.has_perm("contacts.change_contact")
    client.force_login(loner)
    assert client.get(reverse("contacts:list")).status_code == 200


def test_a_permission_made_after_the_names_were_read_is_honoured(db, monkeypatch):
    """Permissions' names are read once per process (crm.roles), and again for a new one."""
    # The names as they are now, back after the test: its permission is rolled back, and
    # SQLite may give its id to another.
    monkeypatch.setattr(roles, "_permission_names", roles._permission_names)
    reader = UserFactory(role=ADMIN)
    assert reader.has_perm("contacts.change_contact")  # the names are read
    new = Permission.objects.create(
        codename="export_everything",
        name="Can export everything",
        content_type=Permission.objects.get(codename="view_contact").content_type,
    )
    Group.objects.get(name=ADMIN).permissions.add(new)
    user = UserFactory(role=ADMIN)
    assert user.has_perm("contacts.export_everything")
    assert not UserFactory(role=MANAGER).has_perm("contacts.export_everything")
