"""The three roles are Django groups holding Django permissions, created by migration
crm/0001_roles. Views check permissions, never group names."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import CharField, Value
from django.utils.functional import SimpleLazyObject

STAFF = "Staff"
ADMIN = "Admin"
MANAGER = "Manager"


class RoleBackend(ModelBackend):
    """Django's ModelBackend, reading a user's roles and permissions in one query.

    Every page checks permissions and shows the user's roles; ModelBackend would take three
    queries for that (the user's own permissions, their groups' and the groups).
    """

    def get_user_permissions(self, user_obj, obj=None) -> set[str]:
        if obj is not None or not user_obj.is_active or user_obj.is_superuser:
            return super().get_user_permissions(user_obj, obj)
        _load_roles(user_obj)
        return user_obj._user_perm_cache

    def get_group_permissions(self, user_obj, obj=None) -> set[str]:
        if obj is not None or not user_obj.is_active or user_obj.is_superuser:
            return super().get_group_permissions(user_obj, obj)
        _load_roles(user_obj)
        return user_obj._group_perm_cache


def _load_roles(user) -> None:
    if hasattr(user, "_role_names"):
        return
    groups = user.groups.order_by().values_list(
        "name", "permissions__content_type__app_label", "permissions__codename"
    )
    own = (
        Permission.objects.filter(user=user)
        .order_by()
        .values_list(Value(None, output_field=CharField()), "content_type__app_label", "codename")
    )
    rows = list(groups.union(own, all=True))
    user._role_names = sorted({group for group, _, _ in rows if group is not None})
    user._group_perm_cache = {f"{app}.{code}" for group, app, code in rows if group and code}
    user._user_perm_cache = {f"{app}.{code}" for group, app, code in rows if group is None}


def role_names(user) -> list[str]:
    """The names of the user's roles (groups), e.g. ["Admin"]."""
    if not user.is_authenticated:
        return []
    _load_roles(user)
    return user._role_names


def context(request) -> dict:
    """`roles`: the signed-in user's role names, for the page header."""
    return {"roles": SimpleLazyObject(lambda: role_names(request.user))}
