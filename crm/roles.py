"""The three roles are Django groups holding Django permissions, created by migration
crm/0001_roles. Views check permissions, never group names."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.utils.functional import SimpleLazyObject

STAFF = "Staff"
ADMIN = "Admin"
MANAGER = "Manager"


class RoleBackend(ModelBackend):
    """Django's ModelBackend, reading a request's user with their roles and permissions in one
    query (and the permissions' names once per process).

    Every page checks permissions and shows the user's roles; ModelBackend would take four
    queries for that (the user, their own permissions, their groups' and the groups).
    """

    def get_user(self, user_id):
        users = get_user_model()
        table = connection.ops.quote_name(users._meta.db_table)
        pk = connection.ops.quote_name(users._meta.pk.column)
        rows = list(
            users._default_manager.raw(
                f"SELECT person.*, role.name AS role_name, role.permission_id AS role_permission"
                f" FROM {table} person LEFT JOIN ({ROLES_SQL}) role ON 1 = 1"
                f" WHERE person.{pk} = %(user)s",
                {"user": user_id},
            )
        )
        if not rows or not self.user_can_authenticate(rows[0]):
            return None
        user = rows[0]
        user._crm_roles = _roles_from(
            [
                (row.role_name, row.role_permission)
                for row in rows
                if row.role_name or row.role_permission
            ]
        )
        del user.role_name, user.role_permission
        return user

    def get_user_permissions(self, user_obj, obj=None) -> set[str]:
        if obj is not None or not user_obj.is_active or user_obj.is_superuser:
            return super().get_user_permissions(user_obj, obj)
        return _roles(user_obj).own_permissions

    def get_group_permissions(self, user_obj, obj=None) -> set[str]:
        if obj is not None or not user_obj.is_active or user_obj.is_superuser:
            return super().get_group_permissions(user_obj, obj)
        return _roles(user_obj).role_permissions


# The user's roles with the ids of their permissions, and the ids of the user's own, in one
# query: every page runs it. By ids, not joined to the permissions' names: planning a join of
# five tables cost more than reading the names once per process (bench/NOTES.md).
ROLES_SQL = """
    SELECT role.name, granted.permission_id
      FROM auth_user_groups member
      JOIN auth_group role ON role.id = member.group_id
      LEFT JOIN auth_group_permissions granted ON granted.group_id = role.id
     WHERE member.user_id = %(user)s
    UNION ALL
    SELECT NULL, own.permission_id FROM auth_user_user_permissions own WHERE own.user_id = %(user)s
"""

# Each permission's name ("contacts.view_contact") by its id, read once per process and again
# when an id is new to it, as Django keeps content types. A permission keeps its id and name:
# migrations add and remove permissions, and Django never renames one.
_permission_names: dict[int, str] = {}


def _named(ids: set[int]) -> set[str]:
    global _permission_names
    if not ids <= _permission_names.keys():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT permission.id, model.app_label, permission.codename"
                " FROM auth_permission permission"
                " JOIN django_content_type model ON model.id = permission.content_type_id"
            )
            # A new dict, not this one filled anew: another thread may be reading it.
            _permission_names = {id: f"{app}.{code}" for id, app, code in cursor.fetchall()}
    return {_permission_names[id] for id in ids if id in _permission_names}


@dataclass(frozen=True)
class Roles:
    names: list[str]
    role_permissions: set[str]
    own_permissions: set[str]


def _roles(user) -> Roles:
    """The user's roles and permissions, read once for the user object (a request's comes
    with them: RoleBackend.get_user)."""
    if not hasattr(user, "_crm_roles"):
        with connection.cursor() as cursor:
            cursor.execute(ROLES_SQL, {"user": user.pk})
            user._crm_roles = _roles_from(cursor.fetchall())
    return user._crm_roles


def _roles_from(rows: list[tuple[str | None, int | None]]) -> Roles:
    """Roles from the rows of ROLES_SQL."""
    return Roles(
        names=sorted({role for role, _ in rows if role is not None}),
        role_permissions=_named({id for role, id in rows if role and id}),
        own_permissions=_named({id for role, id in rows if role is None}),
    )


def role_names(user) -> list[str]:
    """The names of the user's roles (groups), e.g. ["Admin"]."""
    if not user.is_authenticated:
        return []
    return _roles(user).names


def context(request) -> dict:
    """`roles`: the signed-in user's role names, for the page header."""
    return {"roles": SimpleLazyObject(lambda: role_names(request.user))}
