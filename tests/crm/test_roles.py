import pytest
from django.contrib.auth.models import Group

from tests.factories import UserFactory

CAN = {
    "Staff": {"contacts.view_contact", "broadcasts.view_broadcast"},
    "Admin": {
        "contacts.view_contact", "broadcasts.view_broadcast", "contacts.add_contact",
        "contacts.change_contact", "contacts.change_subscription", "contacts.import_contacts",
    },
    "Manager": {
        "contacts.view_contact", "broadcasts.view_broadcast", "broadcasts.add_broadcast",
        "broadcasts.launch_broadcast", "broadcasts.cancel_broadcast",
    },
}  # fmt: skip
ALL = set().union(*CAN.values())


def test_the_migration_creates_the_three_roles(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {"Staff", "Admin", "Manager"}


@pytest.mark.parametrize("role", CAN)
def test_each_role_holds_exactly_its_permissions(db, role):
    user = UserFactory(role=role)
    assert {perm for perm in ALL if user.has_perm(perm)} == CAN[role]


def test_no_role_may_delete_contacts_or_edit_the_ledger(db):
    for role in CAN:
        user = UserFactory(role=role)
        assert not user.has_perm("contacts.delete_contact")
        assert not user.has_perm("contacts.change_consentevent")
        assert not user.has_perm("contacts.delete_optout")


def test_a_superuser_can_do_everything(superuser):
    assert all(superuser.has_perm(perm) for perm in ALL)
