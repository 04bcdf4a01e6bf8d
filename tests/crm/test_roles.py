import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm import roles
from crm.roles import ADMIN, MANAGER, STAFF, RoleBackend
from tests.factories import UserFactory

CAN = {
    "Staff": {
        "contacts.view_contact", "broadcasts.view_broadcast", "messaging.decide_possibleoptout",
        "messaging.view_replyphrase", "contacts.record_request_to_stop",
    },
    "Admin": {
        "contacts.view_contact", "broadcasts.view_broadcast", "contacts.add_contact",
        "contacts.change_contact", "contacts.delete_contact", "contacts.change_subscription",
        "contacts.import_contacts", "contacts.view_bulkjob", "contacts.export_contact",
        "messaging.decide_possibleoptout", "messaging.view_replyphrase",
        "messaging.add_replyphrase", "messaging.change_replyphrase",
        "messaging.delete_replyphrase", "contacts.add_consentrecord", "contacts.add_disclosure",
        "contacts.add_reassignednumber", "contacts.record_request_to_stop",
    },
    "Manager": {
        "contacts.view_contact", "broadcasts.view_broadcast", "broadcasts.add_broadcast",
        "broadcasts.launch_broadcast", "broadcasts.cancel_broadcast", "contacts.export_contact",
        "messaging.decide_possibleoptout", "messaging.view_replyphrase",
        "contacts.record_request_to_stop",
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
        assert not user.has_perm("contacts.change_consentrecord")
        assert not user.has_perm("contacts.delete_consentrecord")
        assert not user.has_perm("contacts.change_disclosure")
        assert not user.has_perm("contacts.change_reassignednumber")
        assert not user.has_perm("contacts.delete_reassignednumber")


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


# RoleBackend answers ModelBackend's questions from one query of its own. Whatever roles and
# permissions a user holds, it must answer as ModelBackend does, through the methods Django
# calls (has_perm and get_all_permissions go through get_user_permissions and
# get_group_permissions): if Django changes how ModelBackend reads them, these fail.
PERMISSIONS = ["contacts.view_contact", "contacts.change_contact", "broadcasts.add_broadcast",
               "contacts.delete_phoneoptout", "messaging.decide_possibleoptout"]  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    held=st.sets(st.sampled_from([STAFF, ADMIN, MANAGER, "Empty"])),
    own=st.sets(st.sampled_from(PERMISSIONS)),
    is_active=st.booleans(),
    is_superuser=st.booleans(),
)
def test_roles_read_in_one_query_answer_as_djangos_model_backend(
    db, held, own, is_active, is_superuser
):
    Group.objects.get_or_create(name="Empty")  # a role holding no permission
    user = UserFactory(is_active=is_active, is_superuser=is_superuser)
    user.groups.set(Group.objects.filter(name__in=held))
    for perm in own:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )

    def fresh():  # a user object with nothing cached on it, as each request's
        return type(user).objects.get(pk=user.pk)

    ours, django = RoleBackend(), ModelBackend()
    assert ours.get_user_permissions(fresh()) == django.get_user_permissions(fresh())
    assert ours.get_group_permissions(fresh()) == django.get_group_permissions(fresh())
    assert ours.get_all_permissions(fresh()) == django.get_all_permissions(fresh())
    assert {perm for perm in PERMISSIONS if fresh().has_perm(perm)} == {
        perm for perm in PERMISSIONS if django.has_perm(fresh(), perm)
    }
    assert roles.role_names(fresh()) == sorted(held)
    # A request's user, read with their roles and permissions.
    signed_in = ours.get_user(user.pk)
    assert (signed_in is None) == (django.get_user(user.pk) is None)
    if signed_in is not None:
        assert vars(signed_in).keys() - {"_crm_roles"} == vars(fresh()).keys()
        assert signed_in.get_all_permissions() == django.get_all_permissions(fresh())
        assert roles.role_names(signed_in) == sorted(held)


def test_a_requests_user_comes_with_their_roles_and_permissions_in_one_query(
    db, django_assert_num_queries
):
    user = UserFactory(role=MANAGER)
    user.user_permissions.add(Permission.objects.get(codename="delete_phoneoptout"))
    user.has_perm("contacts.view_contact")  # the permissions' names are read once
    with django_assert_num_queries(1):
        signed_in = RoleBackend().get_user(user.pk)
        assert signed_in.has_perm("broadcasts.launch_broadcast")
        assert signed_in.has_perm("contacts.delete_phoneoptout")
        assert not signed_in.has_perm("contacts.change_contact")
        assert roles.role_names(signed_in) == [MANAGER]
    assert RoleBackend().get_user(user.pk + 1) is None


def test_a_users_permission_checks_and_roles_take_one_query(db, django_assert_num_queries):
    user = UserFactory(role=ADMIN)
    user.has_perm("contacts.view_contact")  # the permissions' names are read once
    user = type(user).objects.get(pk=user.pk)
    with django_assert_num_queries(1):
        assert user.has_perm("contacts.change_contact")
        assert not user.has_perm("broadcasts.add_broadcast")
        assert roles.role_names(user) == [ADMIN]
